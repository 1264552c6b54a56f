"""Django's Redis cache with short timeouts and a circuit breaker: a web request never waits
on a Redis that is down or hung for longer than one short timeout.

CACHES = {"default": {"BACKEND": "storefront.core.cache.RedisCache", "LOCATION": ...,
"OPTIONS": {"socket_timeout": 0.05, "socket_connect_timeout": 0.05, "breaker_reset_seconds": 5}}}

- Every command gives up after `socket_timeout` seconds (connecting: `socket_connect_timeout`);
  a connection the server closed (Redis restarted) is retried once at once, a timeout never.
- The first such failure opens the process's breaker for that Redis (storefront/core/
  breakers.py): for `breaker_reset_seconds` every cache call raises CacheUnavailable without
  touching the network; then calls probe Redis again, and a success closes it. The breaker
  is shared by the process's threads and holds no lock while a command runs: one thread's
  slow command does not delay another's.

Callers treat a cache error as a miss, as the catalog cache (storefront/catalog/cache.py) does:
CacheUnavailable is a redis.exceptions.ConnectionError, so `except Exception` or
`except redis.RedisError` around a cache call handles both a failing Redis and an open breaker.
"""

import functools

import redis
from django.core.cache.backends import redis as django_redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from storefront.core import breakers

# Failures that say Redis is unreachable; any other error (a bad value, a script error) is
# the caller's and leaves the breaker closed.
OUTAGE_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)


class CacheUnavailable(redis.ConnectionError):
    """The cache's Redis failed a moment ago: the breaker is open and nothing was sent."""


def breaker_for(servers: list[str], reset_seconds: float) -> breakers.Breaker:
    """The process's breaker for the Redis at `servers` (Django keeps one cache object per
    thread; the breaker is shared by all of them)."""
    name = "cache " + ",".join(breakers.display_url(server) for server in servers)
    return breakers.breaker(name, reset_seconds=reset_seconds, outage_errors=OUTAGE_ERRORS)


class GuardedRedisCacheClient(django_redis.RedisCacheClient):
    """Django's Redis client, every command behind the breaker (see the module docstring)."""

    def __init__(
        self,
        servers,
        *,
        socket_timeout: float = 0.05,
        socket_connect_timeout: float = 0.05,
        breaker_reset_seconds: float = 5,
        **options,
    ):
        # A connection the server closed is retried once, a timeout never.
        options.setdefault(
            "retry", Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))
        )
        super().__init__(
            servers,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_connect_timeout,
            **options,
        )
        self.breaker = breaker_for(servers, breaker_reset_seconds)


# DECR each key; delete one that falls to zero or below (its count is back to none).
_DECR_MANY = """
for _, key in ipairs(KEYS) do
    if redis.call('DECR', key) <= 0 then redis.call('DEL', key) end
end
"""


def _incr_many(self, keys: list[str], timeout: int) -> None:
    pipe = self.get_client(write=True).pipeline(transaction=False)
    for key in keys:
        pipe.incr(key)
        pipe.expire(key, timeout)
    pipe.execute()


def _decr_many(self, keys: list[str]) -> None:
    self.get_client(write=True).eval(_DECR_MANY, len(keys), *keys)


def _guarded(method):
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return self.breaker.call(method, self, *args, **kwargs)
        except breakers.CircuitBreakerError as exc:
            raise CacheUnavailable(str(exc)) from None  # it names the breaker

    return call


# Every command of Django's client (the methods RedisCache calls).
for _name in (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "set_many",
    "delete_many",
    "clear",
):
    setattr(GuardedRedisCacheClient, _name, _guarded(getattr(django_redis.RedisCacheClient, _name)))
GuardedRedisCacheClient.incr_many = _guarded(_incr_many)
GuardedRedisCacheClient.decr_many = _guarded(_decr_many)


class RedisCache(django_redis.RedisCache):
    """django.core.cache.backends.redis.RedisCache over GuardedRedisCacheClient."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = GuardedRedisCacheClient

    def incr_many(self, keys: list[str], *, timeout: int) -> None:
        """Add 1 to the integer under each of `keys` (a missing key counts from 0) and make
        each expire `timeout` seconds from now: one round trip (a pipeline of INCR and
        EXPIRE). Read the counts back with get() or get_many()."""
        self._cache.incr_many([self.make_and_validate_key(key) for key in keys], timeout)

    def decr_many(self, keys: list[str]) -> None:
        """Take 1 from the integer under each of `keys`, deleting a key whose count falls to 0
        or below (a key missing or expired counts as 0): one round trip (a Lua script, so
        each key's DECR and DEL are one step)."""
        self._cache.decr_many([self.make_and_validate_key(key) for key in keys])
