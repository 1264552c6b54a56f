"""GET /api/health/: one query on the database; the cache and the broker are reported, and
their outage degrades the answer without failing it (a database outage: tests/test_gunicorn.py).
GET /healthz and GET /readyz: the probes (a database outage: tests/test_database_outage.py).
"""

import socket
from datetime import timedelta

import pytest
from celery import current_app
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from storefront.core import health
from storefront.notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db

URL = "/api/health/"


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def cache_down(settings, closed_port):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port}/0",
        }
    }


@pytest.fixture
def broker_down(closed_port, monkeypatch):
    url = f"redis://127.0.0.1:{closed_port}/0"
    # Celery reads CELERY_BROKER_URL from the environment before its configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    monkeypatch.setattr(current_app.conf, "broker_url", url)


def test_health_is_ok_anonymously_with_one_query(api_client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = api_client.get(URL)

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {
            "database": {"status": "ok"},
            "cache": {"status": "ok"},
            "broker": {"status": "ok"},
        },
    }


def test_health_is_never_cached(api_client):
    cache_control = api_client.get(URL)["Cache-Control"]
    assert {"no-cache", "no-store", "must-revalidate", "private"} <= {
        part.strip() for part in cache_control.split(",")
    }


def test_health_ignores_a_bad_token(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api_client.get(URL).status_code == 200


def test_a_cache_outage_degrades_health_without_failing_it(api_client, cache_down):
    response = api_client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["cache"] == {"status": "down", "error": "ConnectionError"}


def test_a_broker_outage_degrades_health_without_failing_it(api_client, broker_down):
    response = api_client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["broker"] == {"status": "down", "error": "BrokerUnavailable"}
    assert body["checks"]["database"] == {"status": "ok"}


# --- GET /healthz and GET /readyz (the operators' probes, docs/deployment.md) -------------


def test_healthz_answers_ok_without_any_query(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_readyz_is_ready_with_the_database_migrated_and_the_outbox_empty(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {
            "database": {"status": "ok"},
            "migrations": {"status": "ok"},
            "cache": {"status": "ok"},
            # The tests run tasks in-process (CELERY_TASK_ALWAYS_EAGER): no broker to reach.
            "broker": {"status": "skipped"},
            "outbox": {"status": "ok", "pending": 0, "oldest_pending_age_seconds": 0.0},
        },
    }
    assert "no-store" in response["Cache-Control"]


def test_readyz_costs_two_queries_once_the_migrations_were_found_applied(
    client, django_assert_num_queries
):
    client.get("/readyz")
    with django_assert_num_queries(2):  # SELECT 1, the outbox backlog.
        assert client.get("/readyz").status_code == 200


def test_readyz_ignores_a_bad_token_and_is_never_throttled(client):
    for _ in range(30):
        response = client.get("/readyz", HTTP_AUTHORIZATION="Token not-a-real-token")
        assert response.status_code == 200


def stuck_message(age: timedelta) -> OutboxMessage:
    message = OutboxMessage.objects.create(kind=OutboxMessage.Kind.WELCOME, key="welcome:1")
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - age)
    return message


def test_readyz_answers_503_while_the_oldest_pending_message_is_too_old(client, settings):
    settings.READY_OUTBOX_MAX_AGE_SECONDS = 600
    stuck_message(timedelta(seconds=601))

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (503, "service_unavailable")
    assert error["message"] == "Not ready: outbox."
    outbox = error["details"]["checks"]["outbox"]
    assert (outbox["status"], outbox["error"], outbox["pending"]) == ("down", "OutboxStuck", 1)
    assert outbox["oldest_pending_age_seconds"] >= 601


def test_readyz_is_ready_while_the_oldest_pending_message_is_young_enough(client, settings):
    settings.READY_OUTBOX_MAX_AGE_SECONDS = 600
    stuck_message(timedelta(seconds=500))

    outbox = client.get("/readyz").json()["checks"]["outbox"]

    assert (outbox["status"], outbox["pending"]) == ("ok", 1)


def test_readyz_counts_delivered_and_failed_messages_as_not_pending(client, settings):
    settings.READY_OUTBOX_MAX_AGE_SECONDS = 600
    message = stuck_message(timedelta(hours=2))
    for status in (OutboxMessage.Status.SENT, OutboxMessage.Status.FAILED):
        OutboxMessage.objects.filter(pk=message.pk).update(status=status)
        assert client.get("/readyz").json()["checks"]["outbox"]["pending"] == 0


def test_readyz_leaves_the_outbox_out_when_its_limit_is_zero(client, settings):
    settings.READY_OUTBOX_MAX_AGE_SECONDS = 0
    stuck_message(timedelta(days=3))

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["outbox"] == {"status": "skipped"}


def test_readyz_answers_503_when_the_broker_it_uses_is_down(client, settings, broker_down):
    settings.CELERY_TASK_ALWAYS_EAGER = False

    response = client.get("/readyz")

    assert response.status_code == 503
    checks = response.json()["error"]["details"]["checks"]
    assert checks["broker"] == {"status": "down", "error": "BrokerUnavailable"}
    assert checks["database"] == {"status": "ok"}


def test_readyz_answers_503_when_the_redis_cache_is_down(client, cache_down):
    response = client.get("/readyz")

    assert response.status_code == 503
    checks = response.json()["error"]["details"]["checks"]
    assert checks["cache"] == {"status": "down", "error": "ConnectionError"}


def test_readyz_answers_503_while_a_migration_is_unapplied(client, monkeypatch):
    monkeypatch.setattr(health, "_migrated_databases", set())
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("m", False)])

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["error"]["details"]["checks"]["migrations"] == {
        "status": "down",
        "error": "UnappliedMigrations",
        "unapplied": 1,
    }
