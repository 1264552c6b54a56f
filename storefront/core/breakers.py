"""Circuit breakers (the circuitbreaker library) for the services a request must not wait on:
Redis as the cache (storefront/core/cache.py) and as the broker
(storefront/notifications/broker.py).

A breaker opens at the first outage error (a timeout, a refused connection): for
`reset_seconds` every call through it fails at once with CircuitBreakerError, without
touching the network; then calls probe the service again: a probe that fails opens the
breaker for another `reset_seconds`, one that succeeds closes it. Other errors (a bad value,
a bug) leave it closed: the service answered.

One breaker per name and process, shared by its threads (gunicorn's gthread worker runs 8),
and no lock is held while a call runs: the threads' calls to a slow service run side by side,
each waiting its own round trip, instead of queueing behind one lock (a lock around the call
would let a process make one call at a time). The state changes take no lock either; what
races can do is bounded and harmless:
- when the breaker half-opens, every call made before the first probe returns is a probe
  too: at most one per thread, each costing its request one timeout if the service is
  still down;
- a call that started before the breaker opened and succeeds after closes it again: the
  service did answer.
"""

import sys
import threading
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import circuitbreaker
from circuitbreaker import CircuitBreakerError

__all__ = ["Breaker", "CircuitBreakerError", "breaker", "display_url"]

T = TypeVar("T")


class Breaker(circuitbreaker.CircuitBreaker):
    """circuitbreaker.CircuitBreaker whose `call` refuses while the breaker is open (the
    library checks that only in the wrapper of its decorator)."""

    def call(self, func: Callable[..., T], *args, **kwargs) -> T:
        """Return `func(*args, **kwargs)`, counting its outcome (see the module docstring).

        Raises CircuitBreakerError, without calling `func`, while the breaker is open, and
        whatever `func` raises otherwise.
        """
        if self.opened:
            raise CircuitBreakerError(self)
        return super().call(func, *args, **kwargs)


_breakers: dict[str, Breaker] = {}
_lock = threading.Lock()


def breaker(
    name: str, *, reset_seconds: float, outage_errors: tuple[type[BaseException], ...]
) -> Breaker:
    """The process's breaker called `name`, made on first use with these parameters: it opens
    on an error that is an instance of `outage_errors`, for `reset_seconds` (0: every call
    after a failure probes)."""
    with _lock:
        if name not in _breakers:
            _breakers[name] = Breaker(
                failure_threshold=1,
                # circuitbreaker reads 0 as "the default" (30 s): the smallest positive float
                # keeps 0's meaning.
                recovery_timeout=reset_seconds or sys.float_info.min,
                expected_exception=outage_errors,
                name=name,
            )
        return _breakers[name]


def display_url(url: str) -> str:
    """`url` without its credentials, to name a breaker in logs and errors."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
