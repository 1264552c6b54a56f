"""Circuit breakers (pybreaker) for the services a request must not wait on: Redis as the
cache (storefront/core/cache.py) and as the broker (storefront/notifications/broker.py).

A breaker opens at the first outage error (a timeout, a refused connection): for
`reset_seconds` every call through it fails at once with pybreaker.CircuitBreakerError,
without touching the network; then one call probes the service, and its success closes the
breaker. Other errors (a bad value, a bug) leave it closed. One breaker per name and process,
shared by its threads (pybreaker serialises the calls through it: free for gunicorn's sync
workers and Celery's prefork pool, one thread each).
"""

import threading
from urllib.parse import urlsplit, urlunsplit

import pybreaker

_breakers: dict[str, pybreaker.CircuitBreaker] = {}
_lock = threading.Lock()


def breaker(
    name: str, *, reset_seconds: float, outage_errors: tuple[type[BaseException], ...]
) -> pybreaker.CircuitBreaker:
    """The process's breaker called `name`, made on first use with these parameters."""
    with _lock:
        if name not in _breakers:
            _breakers[name] = pybreaker.CircuitBreaker(
                fail_max=1,
                reset_timeout=reset_seconds,
                exclude=[lambda exc: not isinstance(exc, outage_errors)],
                # The call that opens the breaker raises its own error (a timeout...).
                throw_new_error_on_trip=False,
                name=name,
            )
        return _breakers[name]


def display_url(url: str) -> str:
    """`url` without its credentials, to name a breaker in logs and errors."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
