"""What GET /api/health/ and GET /readyz report: can this process reach its database, cache
and broker, and (readiness only) are its migrations applied and its outbox moving?

Each check answers {"status": "ok"} or {"status": "down", "error": <exception class name>};
the class name tells an operator what failed without publishing addresses or credentials.
A readiness check that was not run answers {"status": "skipped"} (not configured, or the
database it needs is down).
"""

import secrets
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from storefront.notifications import broker
from storefront.notifications.selectors import outbox_backlog

OK = {"status": "ok"}
SKIPPED = {"status": "skipped"}
# Databases (HOST, PORT, NAME) whose migrations this process found applied: a running server
# never sees them unapplied again, so the check costs nothing after its first success.
_migrated_databases: set[tuple[str, str, str]] = set()


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


def check_migrations() -> dict[str, Any]:
    """Whether Django's MigrationExecutor finds no migration left to apply on the default
    database; down with "UnappliedMigrations" and their number (`unapplied`) otherwise.

    Reads the migration files and django_migrations (2 queries) until it first succeeds,
    then answers from memory for the life of the process.
    """
    config = connection.settings_dict
    database = (str(config["HOST"]), str(config["PORT"]), str(config["NAME"]))
    if database in _migrated_databases:
        return OK
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return _down(exc)
    if plan:
        return {"status": "down", "error": "UnappliedMigrations", "unapplied": len(plan)}
    _migrated_databases.add(database)
    return OK


def check_outbox() -> dict[str, Any]:
    """Whether the oldest pending outbox message is at most READY_OUTBOX_MAX_AGE_SECONDS old.

    {"status": "ok" | "down", "pending": <messages>, "oldest_pending_age_seconds": <float,
    0 when none>}, "error": "OutboxStuck" when too old (no worker or drain delivers: the
    worker is down, or the broker or the mail server has been failing that long). One
    query. Skipped when the setting is 0.
    """
    max_age = settings.READY_OUTBOX_MAX_AGE_SECONDS
    if not max_age:
        return SKIPPED
    try:
        backlog = outbox_backlog()
    except Exception as exc:
        return _down(exc)
    age = round(backlog.oldest_pending_age_seconds or 0.0, 1)
    report = {"pending": backlog.pending, "oldest_pending_age_seconds": age}
    if age > max_age:
        return {"status": "down", "error": "OutboxStuck", **report}
    return {**OK, **report}


def readiness() -> dict[str, Any]:
    """{"status": "ready" | "not_ready", "checks": {"database", "migrations", "cache",
    "broker", "outbox"}}: ready when no check is down.

    The broker is skipped when tasks run in-process (CELERY_TASK_ALWAYS_EAGER: dev.py
    without Redis, the tests); migrations and outbox when the database is down, since each
    would wait for it again. With the database up: 2 queries (SELECT 1, the outbox), and
    those of check_migrations until it first succeeds; one cache round trip; one broker
    connection.
    """
    database = check_database()
    up = database == OK
    checks = {
        "database": database,
        "migrations": check_migrations() if up else SKIPPED,
        "cache": check_cache(),
        "broker": SKIPPED if settings.CELERY_TASK_ALWAYS_EAGER else check_broker(),
        "outbox": check_outbox() if up else SKIPPED,
    }
    ready = all(check["status"] != "down" for check in checks.values())
    return {"status": "ready" if ready else "not_ready", "checks": checks}
