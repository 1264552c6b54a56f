"""Every event of an order's life, driven through the API, sends its email exactly once.

Tasks run in-process here (test settings); storefront/notifications/tests run a real worker.
`transaction=True` so the outbox is published on commit, as in production.
"""

import uuid

import pytest
from django.core import mail
from django.test import override_settings

from storefront.accounts.tests.factories import DEFAULT_PASSWORD, StaffFactory
from storefront.catalog.tests.factories import VariantFactory
from storefront.notifications.emails import HEADER
from storefront.notifications.models import OutboxMessage
from storefront.payments.models import Refund
from tests.helpers import CHECKOUT, logged_in, registered_customer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("_low_stock_threshold"),
]


@pytest.fixture
def _low_stock_threshold():
    with override_settings(LOW_STOCK_THRESHOLD=5):
        yield


def sent(kind_prefix: str) -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if m.extra_headers[HEADER].startswith(kind_prefix)]


def test_each_event_of_an_order_emails_once():
    StaffFactory(email="ops@example.com")
    variant = VariantFactory(stock_quantity=6)
    customer = registered_customer("ada@example.com")
    staff = logged_in("ops@example.com", DEFAULT_PASSWORD)

    customer.post("/api/cart/items/", {"variant_id": variant.pk, "quantity": 2})
    key = {"Idempotency-Key": str(uuid.uuid4())}
    order = customer.post("/api/orders/", CHECKOUT, headers=key).json()
    assert customer.post("/api/orders/", CHECKOUT, headers=key).status_code == 200
    customer.post(f"/api/orders/{order['id']}/pay/", {"token": "tok_success"})
    for status in ("shipped", "delivered"):
        moved = staff.post(f"/api/orders/{order['id']}/status/", {"status": status})
        assert moved.status_code == 200, moved.content

    assert [m.to for m in sent("welcome:")] == [["ada@example.com"]]
    assert [m.to for m in sent("order_confirmation:")] == [["ada@example.com"]]
    assert order["number"] in sent("order_confirmation:")[0].body
    status_mails = sent("order_status:")
    assert [m.extra_headers[HEADER].rsplit(":", 1)[1] for m in status_mails] == [
        "shipped",
        "delivered",
    ]
    assert all(m.to == ["ada@example.com"] for m in status_mails)
    # 6 - 2 = 4 units left, below the threshold of 5: staff hear about it once.
    low_stock = sent("low_stock:")
    assert [m.to for m in low_stock] == [["ops@example.com"]]
    assert variant.sku in low_stock[0].body
    assert not OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).exists()


def test_cancelling_a_paid_order_emails_cancellation_and_refund():
    variant = VariantFactory(stock_quantity=50)
    customer = registered_customer("bo@example.com")
    customer.post("/api/cart/items/", {"variant_id": variant.pk, "quantity": 1})
    order = customer.post("/api/orders/", CHECKOUT).json()
    customer.post(f"/api/orders/{order['id']}/pay/", {"token": "tok_success"})
    mail.outbox.clear()

    cancelled = customer.post(f"/api/orders/{order['id']}/cancel/")

    assert cancelled.status_code == 200, cancelled.content
    refund = Refund.objects.get(order_id=order["id"])  # One email per refund.
    assert refund.source == Refund.Source.CANCELLATION
    assert sorted(m.extra_headers[HEADER] for m in mail.outbox) == [
        f"order_status:order:{order['id']}:cancelled",
        f"payment_refunded:order:{order['id']}:refund:{refund.pk}",
    ]


def test_rejected_checkout_sends_nothing():
    variant = VariantFactory(stock_quantity=1)
    customer = registered_customer("cy@example.com")
    customer.post("/api/cart/items/", {"variant_id": variant.pk, "quantity": 1})
    variant.stock_quantity = 0
    variant.save(update_fields=["stock_quantity"])  # staff found none left: a low-stock alert
    mail.outbox.clear()
    queued = set(OutboxMessage.objects.values_list("key", flat=True))

    assert customer.post("/api/orders/", CHECKOUT).status_code == 409
    assert mail.outbox == []
    assert set(OutboxMessage.objects.values_list("key", flat=True)) == queued


def test_staff_stock_edits_through_the_api_resolve_and_raise_low_stock_alerts():
    """A sale leaves the variant low (alert), staff restock it through the product API (the
    alert is resolved, so the next fall alerts again), then staff lower it by hand (a new
    alert): every crossing emails staff once."""
    StaffFactory(email="ops@example.com")
    variant = VariantFactory(stock_quantity=6)
    customer = registered_customer("ada@example.com")
    staff = logged_in("ops@example.com", DEFAULT_PASSWORD)

    def set_stock(units: int) -> None:
        change = {"variants": [{"id": variant.pk, "stock_quantity": units}]}
        response = staff.patch(f"/api/products/{variant.product_id}/", change, format="json")
        assert response.status_code == 200, response.content

    customer.post("/api/cart/items/", {"variant_id": variant.pk, "quantity": 2})
    assert customer.post("/api/orders/", CHECKOUT).status_code == 201  # 4 left: alert
    set_stock(50)  # restocked: the alert is resolved
    set_stock(40)  # still plenty: nothing
    set_stock(3)  # staff counted the shelf: low again

    alerts = variant.low_stock_alerts.order_by("pk")
    assert [(a.stock_quantity, a.resolved_at is None) for a in alerts] == [(4, False), (3, True)]
    assert len(sent("low_stock:")) == 2
