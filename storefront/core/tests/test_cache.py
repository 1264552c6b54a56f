"""The production cache backend (storefront/core/cache.py) on a private redis-server
(tests/redisserver.py): the threads of a process share its circuit breaker, and none of them
waits behind another's command."""

import threading
import time

from django.core.cache import cache

from tests.concurrency import run_concurrently

# Bounds the waits of a failing test, and how long Redis holds the write; a passing test
# waits for neither.
TIMEOUT_SECONDS = 10
THREADS = 8  # gunicorn's gthread worker, per process (config/gunicorn.conf.py)


def wait_until_blocked(client) -> None:
    """Wait until a client of the server is blocked (here: its write paused)."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while client.info("clients")["blocked_clients"] == 0:
        assert time.monotonic() < deadline, "the write never reached Redis"
        time.sleep(0.01)


def test_a_cache_command_redis_holds_does_not_hold_up_the_other_threads(redis_server, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "storefront.core.cache.RedisCache",
            "LOCATION": redis_server.url(0),
            # Long enough for the held write not to time out (and open the breaker).
            "OPTIONS": {**settings.CACHE_REDIS_OPTIONS, "socket_timeout": 2 * TIMEOUT_SECONDS},
        }
    }
    cache.set("shared", "value")
    admin = redis_server.client()
    # Writes wait in Redis (a command held in flight, as a slow Redis holds it); reads go on.
    admin.client_pause(TIMEOUT_SECONDS * 1000, all=False)
    written = []
    writer = threading.Thread(target=lambda: written.append(cache.set("held", "written")))
    writer.start()
    try:
        wait_until_blocked(admin)
        outcomes = run_concurrently([lambda: cache.get("shared")] * (THREADS - 1))
        # The reads were answered while the write was still held inside the breaker.
        held = writer.is_alive() and admin.info("clients")["blocked_clients"] == 1
    finally:
        admin.client_unpause()
        writer.join(TIMEOUT_SECONDS)

    assert [(outcome.value, outcome.error) for outcome in outcomes] == [("value", None)] * (
        THREADS - 1
    )
    assert held
    assert written == [None]
    assert cache.get("held") == "written"


def test_incr_many_and_decr_many_count_expire_and_delete_at_zero(redis_server, settings):
    """The counts the catalog cache marks pending writes with (catalog/cache.py): one round
    trip each way, a key that falls to zero is gone, and every raised key expires."""
    settings.CACHES = {
        "default": {"BACKEND": "storefront.core.cache.RedisCache", "LOCATION": redis_server.url(0)}
    }
    admin = redis_server.client()
    cache.set("other", 7)

    cache.incr_many(["a", "b"], timeout=30)
    cache.incr_many(["a"], timeout=60)

    assert cache.get_many(["a", "b", "other"]) == {"a": 2, "b": 1, "other": 7}
    ttls = {key.decode().rsplit(":", 1)[-1]: admin.ttl(key) for key in admin.keys("*:[ab]")}
    assert 30 < ttls["a"] <= 60 and 0 < ttls["b"] <= 30

    cache.decr_many(["a", "b"])

    assert cache.get_many(["a", "b"]) == {"a": 1}
    assert admin.keys("*:b") == []
    cache.decr_many(["a", "missing"])
    assert cache.get_many(["a", "missing"]) == {}
    assert admin.keys("*:missing") == [] and admin.keys("*:a") == []
