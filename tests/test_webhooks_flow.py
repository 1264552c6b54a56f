"""A checkout through the API is delivered as order.placed by a real Celery worker process (on
the real Redis and the test database) to a real HTTP receiver on loopback, signed as
docs/webhooks.md says; a receiver that is down when the order is placed gets it once it is
up, through the beat-driven drain, with the same delivery id."""

import json
import socket

import pytest
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.carts.models import CartItem
from storefront.catalog.tests.factories import VariantFactory
from storefront.notifications.tests.conftest import broker, broker_url_for_tests, start_worker
from storefront.webhooks.models import WebhookDelivery
from storefront.webhooks.tests.conftest import Receiver, serve, verify_signature

pytestmark = pytest.mark.django_db(transaction=True)

CHECKOUT = {
    "shipping_address": "1 Main St\n12345 Springfield",
    "billing_address": "1 Main St\n12345 Springfield",
    "phone_number": "+1 555 0100",
}


@pytest.fixture
def webhook_worker(django_db_setup, tmp_path):
    # The drain every second (beat), as NOTIFICATIONS_DRAIN_INTERVAL says.
    worker = start_worker(beat=True, tmp=tmp_path)
    yield worker
    worker.stop()


def register(url: str) -> dict:
    staff = APIClient()
    staff.force_authenticate(StaffFactory())
    response = staff.post("/api/webhooks/", {"url": url, "events": ["order.placed"]}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def check_out() -> dict:
    customer = UserFactory()
    CartItem.objects.create(cart=customer.cart, variant=VariantFactory(), quantity=1)
    client = APIClient()
    client.force_authenticate(customer)
    with broker(broker_url_for_tests()):
        response = client.post("/api/orders/", CHECKOUT, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_the_worker_delivers_a_checkout_to_the_receiver(webhook_worker):
    with serve(Receiver()) as receiver:
        endpoint = register(receiver.url)

        order = check_out()
        webhook_worker.wait_idle(
            until=lambda: WebhookDelivery.objects.filter(status="succeeded").exists()
        )

        ((_, headers, body),) = receiver.received
    assert verify_signature(endpoint["secret"], headers["Storefront-Signature"], body)
    assert headers["Storefront-Event"] == "order.placed"
    envelope = json.loads(body)
    assert (envelope["type"], envelope["data"]["id"], envelope["data"]["number"]) == (
        "order.placed",
        order["id"],
        order["number"],
    )
    delivery = WebhookDelivery.objects.get()
    assert headers["Storefront-Delivery"] == str(delivery.pk)
    assert (delivery.attempts, delivery.response_status) == (1, 200)


def test_a_receiver_down_at_checkout_gets_the_order_once_it_is_up(webhook_worker):
    with socket.socket() as probe:  # A port nothing listens on: connections are refused.
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = register(f"http://127.0.0.1:{port}/hooks")

    check_out()
    webhook_worker.wait_idle(until=lambda: WebhookDelivery.objects.filter(attempts__gte=1).exists())
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"
    assert delivery.last_error.startswith("Could not connect to the webhook host")

    # The receiver comes up on the endpoint's port.
    up = Receiver(port)
    with serve(up):
        webhook_worker.wait_idle(
            until=lambda: WebhookDelivery.objects.filter(status="succeeded").exists(),
            timeout=60,
        )
        received = list(up.received)

    delivery.refresh_from_db()
    assert [r.headers["Storefront-Delivery"] for r in received] == [str(delivery.pk)]
    signature = received[0].headers["Storefront-Signature"]
    assert verify_signature(endpoint["secret"], signature, received[0].body)
    assert delivery.attempts >= 2
