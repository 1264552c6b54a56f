"""What GET /api/health/ reports: can this process reach its database, cache and broker?

Each check answers {"status": "ok"} or {"status": "down", "error": <exception class name>};
the class name tells an operator what failed without publishing addresses or credentials.
"""

import secrets
from typing import Any

from celery import current_app
from django.core.cache import cache
from django.db import connection

from storefront.notifications import broker

OK = {"status": "ok"}


def _down(exc: Exception) -> dict[str, str]:
    return {"status": "down", "error": type(exc).__name__}


def check_database() -> dict[str, str]:
    """One `SELECT 1` on the default database (the one query of the health check)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # Whatever fails, the database is not usable: report it.
        return _down(exc)
    return OK


def check_cache() -> dict[str, str]:
    """Write and read back a random value in the default cache (Redis in production)."""
    key, value = f"health:{secrets.token_hex(8)}", secrets.token_hex(8)
    try:
        cache.set(key, value, timeout=10)
        readable = cache.get(key) == value
        cache.delete(key)
    except Exception as exc:
        return _down(exc)
    return OK if readable else {"status": "down", "error": "CacheMiss"}


def check_broker() -> dict[str, str]:
    """Reach the Celery broker (CELERY_BROKER_URL) as a publication does: the same short
    timeout and circuit breaker (storefront/notifications/broker.py), a pooled connection,
    so a hung broker costs this check NOTIFICATIONS_PUBLISH_TIMEOUT at most."""
    try:
        broker.ping(current_app)
    except Exception as exc:
        return _down(exc)
    return OK


def system_health() -> dict[str, Any]:
    """{"status": "ok" | "degraded" | "down", "checks": {"database", "cache", "broker"}}.

    "down" when the database is; "degraded" when only the cache or the broker is, since the
    API keeps serving without them (orders wait in the outbox, the catalog is read uncached).
    """
    checks = {"database": check_database(), "cache": check_cache(), "broker": check_broker()}
    if checks["database"] != OK:
        status = "down"
    elif all(check == OK for check in checks.values()):
        status = "ok"
    else:
        status = "degraded"
    return {"status": status, "checks": checks}
