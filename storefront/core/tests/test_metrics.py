"""GET /metrics (staff, or the METRICS_TOKEN bearer) and what RequestMetricsMiddleware counts
and logs. Metrics live in the test process's default registry, shared by every test: each
test compares a value before and after what it does. Several gunicorn workers adding up
their metrics: tests/test_gunicorn.py."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db

TOKEN = "a-metrics-token-of-some-length-0123456789"
BEARER = f"Bearer {TOKEN}"


@pytest.fixture(autouse=True)
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client) -> dict[tuple[str, frozenset], float]:
    """GET /metrics with the token: {(sample name, labels): value}."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=BEARER)
    assert response.status_code == 200, response.content
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def requests_total(view: str, method: str = "GET", status: str = "200") -> float:
    labels = {"view": view, "method": method, "status": status}
    return REGISTRY.get_sample_value("storefront_http_requests_total", labels) or 0.0


def test_metrics_answer_the_token_in_prometheus_text_format(client):
    response = client.get("/metrics", HTTP_AUTHORIZATION=BEARER)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-store" in response["Cache-Control"]
    names = {family.name for family in text_string_to_metric_families(response.content.decode())}
    assert {
        "storefront_http_requests",
        "storefront_http_request_duration_seconds",
        "storefront_checkouts",
        "storefront_outbox_pending_messages",
        "storefront_outbox_oldest_pending_age_seconds",
    } <= names


def test_a_scrape_with_the_token_costs_one_query(client, django_assert_num_queries):
    with django_assert_num_queries(1):  # The outbox backlog.
        assert client.get("/metrics", HTTP_AUTHORIZATION=BEARER).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Token {TOKEN}", f"Bearer {TOKEN}x", "Bearer"],
    ids=["none", "wrong-token", "token-scheme", "longer-token", "empty-bearer"],
)
def test_metrics_refuse_anonymous_clients_with_401_in_the_error_shape(client, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = client.get("/metrics", **headers)

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["status"] == 401
    # knox refuses a token it does not know ("Token ..."): authentication_failed.
    assert error["code"] in {"not_authenticated", "authentication_failed"}


def test_an_empty_metrics_token_opens_nothing(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer").status_code == 401


def test_metrics_refuse_customers_with_403(client):
    client.force_login(UserFactory())

    response = client.get("/metrics", HTTP_ACCEPT="text/plain")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_staff_read_the_metrics_with_their_session(client):
    client.force_login(StaffFactory())
    assert client.get("/metrics").status_code == 200


def test_staff_read_the_metrics_with_their_api_token(client):
    _, token = AuthToken.objects.create(StaffFactory())
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200


def test_metrics_are_never_throttled(client):
    for _ in range(30):
        assert client.get("/metrics", HTTP_AUTHORIZATION=BEARER).status_code == 200


def test_requests_are_counted_and_timed_by_url_name_method_and_status(client):
    before = scrape(client)
    client.get("/api/products/")
    client.get("/api/products/")
    client.post("/api/products/", {})  # Anonymous: 401.

    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert (
        delta("storefront_http_requests_total", view="product-list", method="GET", status="200")
        == 2
    )
    assert (
        delta("storefront_http_requests_total", view="product-list", method="POST", status="401")
        == 1
    )
    assert (
        delta("storefront_http_request_duration_seconds_count", view="product-list", method="GET")
        == 2
    )
    assert (
        delta("storefront_http_request_duration_seconds_sum", view="product-list", method="GET") > 0
    )


def test_a_path_that_matches_no_url_and_an_unknown_method_are_counted_under_fixed_labels(client):
    unresolved = requests_total("<unresolved>", status="404")
    other = requests_total("product-list", method="other", status="401")

    client.get("/no-such-page/")
    client.generic("BREW", "/api/products/")

    assert requests_total("<unresolved>", status="404") == unresolved + 1
    assert requests_total("product-list", method="other", status="401") == other + 1


def test_the_outbox_backlog_is_read_at_scrape_time(client):
    assert scrape(client)[("storefront_outbox_pending_messages", frozenset())] == 0

    message = OutboxMessage.objects.create(kind=OutboxMessage.Kind.WELCOME, key="welcome:7")
    OutboxMessage.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )

    metrics = scrape(client)
    assert metrics[("storefront_outbox_pending_messages", frozenset())] == 1
    assert metrics[("storefront_outbox_oldest_pending_age_seconds", frozenset())] >= 300


def test_each_request_is_logged_once_with_its_id_status_duration_and_view(client, console_output):
    client.get("/api/products/?search=secret", HTTP_X_REQUEST_ID="trace-log-1")

    lines = [line for line in console_output.getvalue().splitlines() if "trace-log-1" in line]
    request_lines = [line for line in lines if "storefront.request" in line]
    assert len(request_lines) == 1
    line = request_lines[0]
    assert "INFO storefront.request [trace-log-1] GET /api/products/ 200 " in line
    assert line.endswith(" ms (product-list)")
    assert "secret" not in line  # The query string is not logged.


def test_the_request_line_carries_its_fields_as_extra_attributes(client, caplog):
    with caplog.at_level(logging.INFO, logger="storefront.request"):
        client.get("/healthz")

    (record,) = [record for record in caplog.records if record.name == "storefront.request"]
    assert (record.method, record.path, record.status, record.view) == (
        "GET",
        "/healthz",
        200,
        "healthz",
    )
    assert isinstance(record.duration_ms, float) and record.duration_ms >= 0
