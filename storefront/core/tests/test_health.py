"""GET /api/health/: one query on the database; the cache and the broker are reported, and
their outage degrades the answer without failing it (a database outage: tests/test_gunicorn.py).
"""

import socket

import pytest
from celery import current_app

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
