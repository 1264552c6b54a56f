"""/api/webhooks/: staff register endpoints; the secret is write-only, shown once."""

import pytest

from storefront.webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

URL = "https://erp.example.com/storefront"
BODY = {"url": URL, "events": ["order.placed", "order.cancelled"], "description": "ERP"}


def error(response) -> dict:
    return response.json()["error"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/webhooks/"), ("post", "/api/webhooks/"), ("get", "/api/webhooks/1/")],
)
def test_anonymous_callers_get_401_and_customers_403(api_client, customer_client, method, path):
    anonymous = getattr(api_client, method)(path, BODY, format="json")
    customer = getattr(customer_client, method)(path, BODY, format="json")

    assert (anonymous.status_code, error(anonymous)["code"]) == (401, "not_authenticated")
    assert (customer.status_code, error(customer)["code"]) == (403, "permission_denied")
    assert not WebhookEndpoint.objects.exists()


def test_registering_answers_the_generated_secret_once(staff_client):
    created = staff_client.post("/api/webhooks/", BODY, format="json")

    assert created.status_code == 201, created.content
    body = created.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body["secret"] == endpoint.secret
    assert body["secret"].startswith("whsec_") and len(body["secret"]) == 49
    assert {k: body[k] for k in ("id", "url", "events", "is_active", "description")} == {
        "id": endpoint.pk,
        "url": URL,
        "events": ["order.placed", "order.cancelled"],
        "is_active": True,
        "description": "ERP",
    }
    shown = staff_client.get(f"/api/webhooks/{endpoint.pk}/").json()
    listed = staff_client.get("/api/webhooks/").json()["results"]
    assert "secret" not in shown
    assert [item["id"] for item in listed] == [endpoint.pk]
    assert "secret" not in listed[0]


def test_a_secret_given_is_kept_and_a_new_one_replaces_it_unseen(staff_client):
    created = staff_client.post(
        "/api/webhooks/", {**BODY, "secret": "my-own-secret-of-24-chars"}, format="json"
    ).json()
    assert WebhookEndpoint.objects.get().secret == "my-own-secret-of-24-chars"

    patched = staff_client.patch(
        f"/api/webhooks/{created['id']}/",
        {"secret": "a-rotated-secret-0123", "events": ["payment.refunded"]},
        format="json",
    )

    assert patched.status_code == 200, patched.content
    assert "secret" not in patched.json()
    assert patched.json()["events"] == ["payment.refunded"]
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.secret, endpoint.events) == ("a-rotated-secret-0123", ["payment.refunded"])


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"url": "ftp://erp.example.com/hooks"},
            "url",
            "The webhook URL must be an http or https URL, not ftp.",
        ),
        ({"url": "javascript:alert(1)"}, "url", "Enter a valid URL."),
        (
            {"url": "https://user:pass@erp.example.com/"},
            "url",
            "The webhook URL must not contain a user name or password.",
        ),
        ({"url": "https://erp.example.com/" + "a" * 2100}, "url", None),
        ({"events": ["order.placed", "order.shipped"]}, "events", None),
        ({"events": []}, "events", None),
        ({"events": ["order.placed", "order.placed"]}, "events", "Name each event type once."),
        ({"events": "order.placed"}, "events", None),
        ({"secret": "short"}, "secret", None),
    ],
)
def test_bad_input_is_a_400_in_the_error_shape_and_stores_nothing(
    staff_client, changes, field, message
):
    response = staff_client.post("/api/webhooks/", {**BODY, **changes}, format="json")

    assert response.status_code == 400, response.content
    problem = error(response)
    assert problem["code"] == "invalid"
    assert list(problem["fields"]) == [field]
    if message is not None:
        assert problem["fields"][field] == [message]
    assert not WebhookEndpoint.objects.exists()


def test_an_unknown_event_is_named_in_the_fields(staff_client):
    response = staff_client.post(
        "/api/webhooks/", {**BODY, "events": ["order.placed", "order.shipped"]}, format="json"
    )

    assert error(response)["fields"] == {
        "events": {"1": ['"order.shipped" is not a valid choice.']}
    }


def test_a_refused_update_changes_nothing(staff_client):
    endpoint = WebhookEndpoint.objects.create(url=URL, events=["order.placed"])

    response = staff_client.put(
        f"/api/webhooks/{endpoint.pk}/", {"url": "gopher://x/", "events": ["nope"]}, format="json"
    )

    assert response.status_code == 400
    assert set(error(response)["fields"]) == {"url", "events"}
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events) == (URL, ["order.placed"])


def test_an_endpoint_is_deleted_with_its_deliveries(staff_client):
    endpoint = WebhookEndpoint.objects.create(url=URL, events=["order.placed"])

    response = staff_client.delete(f"/api/webhooks/{endpoint.pk}/")

    assert response.status_code == 204
    assert not WebhookEndpoint.objects.exists()
    missing = staff_client.get(f"/api/webhooks/{endpoint.pk}/")
    assert (missing.status_code, error(missing)["message"]) == (
        404,
        "No such webhook endpoint.",
    )


def test_the_list_refuses_unknown_query_parameters(staff_client):
    response = staff_client.get("/api/webhooks/?event=order.placed")

    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["event"]


def test_the_list_costs_two_queries(staff_client, django_assert_num_queries):
    for n in range(5):
        WebhookEndpoint.objects.create(url=f"{URL}/{n}", events=["order.placed"])

    # The count, the page.
    with django_assert_num_queries(2):
        response = staff_client.get("/api/webhooks/")

    assert response.json()["count"] == 5
