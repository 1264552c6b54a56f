"""X-Request-ID on every answer, and in the log records of the request."""

import logging

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


def is_generated(request_id: str) -> bool:
    return len(request_id) == 32 and set(request_id) <= set("0123456789abcdef")


def test_each_answer_carries_a_fresh_request_id(client):
    first, second = client.get("/api/products/"), client.get("/api/products/")

    assert is_generated(first["X-Request-ID"])
    assert is_generated(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.parametrize(
    "request_id", ["c0a8012e-7f3b-4c5e-9d1a-2b3c4d5e6f70", "req_42", "a" * 128, "web.1:9"]
)
def test_a_sane_incoming_request_id_is_kept(client, request_id):
    response = client.get("/api/products/", HTTP_X_REQUEST_ID=request_id)
    assert response["X-Request-ID"] == request_id


@pytest.mark.parametrize(
    "request_id", ["", "a" * 129, "two words", "x\u00e9", "<script>", "a\tb", "line;drop"]
)
def test_an_insane_incoming_request_id_is_replaced(client, request_id):
    response = client.get("/api/products/", HTTP_X_REQUEST_ID=request_id)
    assert is_generated(response["X-Request-ID"])


@pytest.mark.urls("storefront.core.tests.urls_failing")
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/api/nope/", 404),
        ("get", "/api/products/?colour=1", 400),
        ("get", "/api/orders/", 401),
        ("put", "/api/", 405),
        ("post", "/api/orders", 404),
        ("get", "/api/products", 301),
        ("get", "/api/fail/", 500),
        ("get", "/nope/", 404),
    ],
)
def test_errors_and_redirects_carry_the_request_id_too(client, method, path, status):
    response = getattr(client, method)(path, HTTP_X_REQUEST_ID="trace-1")

    assert response.status_code == status
    assert response["X-Request-ID"] == "trace-1"


def test_cors_preflights_carry_the_request_id(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["http://localhost:5173"]

    response = client.options(
        "/api/orders/",
        HTTP_ORIGIN="http://localhost:5173",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_X_REQUEST_ID="trace-2",
    )

    assert response["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert response["X-Request-ID"] == "trace-2"


def test_log_records_of_a_request_carry_its_id(client, console_output):
    client.get("/api/nope/", HTTP_X_REQUEST_ID="trace-3")
    logging.getLogger("storefront").warning("Outside any request.")

    lines = console_output.getvalue().splitlines()
    assert any("[trace-3]" in line and "Not Found: /api/nope/" in line for line in lines)
    assert any("[-]" in line and "Outside any request." in line for line in lines)
