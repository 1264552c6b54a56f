"""CORS: which origins, request headers and response headers browsers are allowed.
(A real browser checking out from another origin: tests/browser/test_cross_origin_checkout.py.)"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FRONT_END = "http://localhost:5173"

pytestmark = pytest.mark.django_db


@pytest.fixture
def front_end_allowed(settings):
    settings.CORS_ALLOWED_ORIGINS = [FRONT_END]


def test_a_checkout_preflight_allows_the_idempotency_key(api_client, front_end_allowed):
    response = api_client.options(
        "/api/orders/",
        HTTP_ORIGIN=FRONT_END,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, idempotency-key",
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == FRONT_END
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "x-request-id"} <= allowed


def test_answers_expose_location_replay_and_request_id_headers(api_client, front_end_allowed):
    response = api_client.get("/api/products/", HTTP_ORIGIN=FRONT_END)

    exposed = {h.strip() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {"Location", "Idempotent-Replayed", "X-Request-ID"} <= exposed


def test_an_origin_not_listed_gets_no_cors_headers(api_client, front_end_allowed):
    response = api_client.get("/api/products/", HTTP_ORIGIN="http://evil.example")
    assert "Access-Control-Allow-Origin" not in response


def setting_in(module: str, name: str, **env: str):
    """The value of setting `name` in the settings `module`, loaded in a fresh interpreter."""
    environ = {k: v for k, v in os.environ.items() if k != "CORS_ALLOWED_ORIGINS"}
    code = (
        f"import json; from django.conf import settings; print(json.dumps(list(settings.{name})))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**environ, "DJANGO_SETTINGS_MODULE": module, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout.splitlines()[-1])


def test_make_run_allows_the_usual_local_front_end_origins():
    assert set(setting_in("config.settings.dev", "CORS_ALLOWED_ORIGINS")) == {
        "http://localhost:3000",
        "http://127.0.0.1:3000",
        "http://localhost:5173",
        "http://127.0.0.1:5173",
    }


def test_cors_allowed_origins_comes_from_the_environment():
    origins = "https://shop.example.com,https://admin.example.com"
    assert setting_in(
        "config.settings.dev", "CORS_ALLOWED_ORIGINS", CORS_ALLOWED_ORIGINS=origins
    ) == [
        "https://shop.example.com",
        "https://admin.example.com",
    ]
