"""Returns through the API: a customer's request of delivered items, each staff step
(approve, receive with restock, refund through the refund path), and every refusal
changing nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from storefront.accounts.tests.factories import StaffFactory
from storefront.catalog.tests.factories import VariantFactory
from storefront.notifications.models import OutboxMessage
from storefront.orders.models import Order, Return, ReturnEvent
from storefront.orders.services import change_order_status, pay_order
from storefront.orders.tests.factories import placed_order
from storefront.payments.models import Payment, Refund

pytestmark = pytest.mark.django_db


def delivered_order(customer, *, stock: int = 10, quantity: int = 3) -> Order:
    """A card order of `quantity` units at 20.00, paid and delivered."""
    variant = VariantFactory(stock_quantity=stock, price=Decimal("20.00"))
    order = placed_order(
        customer=customer, variants=[variant], quantity=quantity, payment_method="card"
    )
    pay_order(order=order, token="tok_success")
    staff = StaffFactory()
    for status in (Order.Status.SHIPPED, Order.Status.DELIVERED):
        change_order_status(order=Order.objects.get(pk=order.pk), status=status, actor=staff)
    return Order.objects.get(pk=order.pk)


def returns_url(order: Order) -> str:
    return f"/api/orders/{order.pk}/returns/"


def test_a_return_from_request_to_refund_restocks_and_refunds_the_lines(
    customer, customer_client, staff_client
):
    order = delivered_order(customer, stock=10, quantity=3)
    item = order.items.get()
    variant = item.variant
    variant.refresh_from_db()
    assert variant.stock_quantity == 7

    requested = customer_client.post(
        returns_url(order), {"lines": [{"item_id": item.pk, "quantity": 2, "reason": "Too big"}]}
    )
    assert requested.status_code == 201, requested.content
    body = requested.json()
    assert body["status"] == "requested"
    assert body["lines"] == [{"item_id": item.pk, "quantity": 2, "reason": "Too big"}]
    assert body["refund"] is None
    status_url = f"{returns_url(order)}{body['id']}/status/"

    # Customers cannot move their own return.
    assert customer_client.post(status_url, {"status": "approved"}).status_code == 403
    # Not received before it is approved.
    skipped = staff_client.post(status_url, {"status": "received"})
    assert skipped.status_code == 409
    assert skipped.json()["error"]["code"] == "invalid_return_transition"

    assert staff_client.post(status_url, {"status": "approved"}).status_code == 200
    variant.refresh_from_db()
    assert variant.stock_quantity == 7  # Nothing back until the parcel arrives.
    received = staff_client.post(status_url, {"status": "received", "note": "Parcel ok"})
    assert received.status_code == 200, received.content
    variant.refresh_from_db()
    assert variant.stock_quantity == 9

    refunded = staff_client.post(status_url, {"status": "refunded"})
    assert refunded.status_code == 200, refunded.content
    body = refunded.json()
    assert body["status"] == "refunded"
    assert body["refund"]["amount"] == "40.00"
    assert body["refund"]["source"] == "return"
    assert [line["quantity"] for line in body["refund"]["lines"]] == [2]
    assert [event["to_status"] for event in body["events"]] == [
        "requested",
        "approved",
        "received",
        "refunded",
    ]
    variant.refresh_from_db()
    assert variant.stock_quantity == 9  # The refund did not restock a second time.
    payment = Payment.objects.get(order=order)
    assert (payment.refunded_amount, payment.status) == (Decimal("40.00"), "partially_refunded")
    keys = set(
        OutboxMessage.objects.filter(kind=OutboxMessage.Kind.RETURN_STATUS).values_list(
            "key", flat=True
        )
    )
    assert keys == {
        f"return_status:return:{body['id']}:{status}"
        for status in ("requested", "approved", "received", "refunded")
    }
    # Final: nothing moves a refunded return.
    assert staff_client.post(status_url, {"status": "rejected"}).status_code == 409

    listed = customer_client.get(returns_url(order))
    assert listed.status_code == 200
    assert [entry["status"] for entry in listed.json()] == ["refunded"]


def test_units_in_a_return_cannot_be_returned_again_until_it_is_rejected(
    customer, customer_client, staff_client
):
    order = delivered_order(customer, quantity=3)
    item = order.items.get()
    first = customer_client.post(
        returns_url(order), {"lines": [{"item_id": item.pk, "quantity": 2}]}
    )
    assert first.status_code == 201
    again = customer_client.post(
        returns_url(order), {"lines": [{"item_id": item.pk, "quantity": 2}]}
    )
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "invalid_return"
    assert "lines.0.quantity" in again.json()["error"]["details"]
    rejected = staff_client.post(
        f"{returns_url(order)}{first.json()['id']}/status/", {"status": "rejected"}
    )
    assert rejected.status_code == 200
    assert (
        customer_client.post(
            returns_url(order), {"lines": [{"item_id": item.pk, "quantity": 3}]}
        ).status_code
        == 201
    )


@pytest.mark.parametrize(
    "lines, field",
    [
        ([], "lines"),
        ([{"item_id": 999_999, "quantity": 1}], "lines.0.item_id"),
        ([{"item_id": "ITEM", "quantity": 4}], "lines.0.quantity"),
        ([{"item_id": "ITEM", "quantity": 0}], "lines"),
        (
            [{"item_id": "ITEM", "quantity": 1}, {"item_id": "ITEM", "quantity": 1}],
            "lines.1.item_id",
        ),
    ],
)
def test_bad_return_lines_are_400_and_change_nothing(customer, customer_client, lines, field):
    order = delivered_order(customer, quantity=3)
    item_id = order.items.get().pk
    lines = [
        {**line, "item_id": item_id if line["item_id"] == "ITEM" else line["item_id"]}
        for line in lines
    ]
    response = customer_client.post(returns_url(order), {"lines": lines}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    # Malformed lines fail validation ("fields"); well-formed ones the order's rules ("details").
    problems = error.get("details") or error.get("fields") or {}
    assert any(key.startswith(field.split(".")[0]) for key in problems), error
    if "details" in error:
        assert error["code"] == "invalid_return"
        assert field in error["details"], error
    assert not Return.objects.exists()


def test_returns_before_delivery_or_after_the_window_are_409(customer, customer_client, settings):
    settings.RETURN_WINDOW_DAYS = 30
    pending = placed_order(customer=customer)
    item = pending.items.get()
    early = customer_client.post(
        returns_url(pending), {"lines": [{"item_id": item.pk, "quantity": 1}]}
    )
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "return_not_allowed"

    order = delivered_order(customer)
    item = order.items.get()
    with time_machine.travel(order.delivered_at + timedelta(days=31)):
        late = customer_client.post(
            returns_url(order), {"lines": [{"item_id": item.pk, "quantity": 1}]}
        )
    assert late.status_code == 409
    assert late.json()["error"]["details"]["return_window_days"] == 30
    with time_machine.travel(order.delivered_at + timedelta(days=29)):
        assert (
            customer_client.post(
                returns_url(order), {"lines": [{"item_id": item.pk, "quantity": 1}]}
            ).status_code
            == 201
        )
    assert Return.objects.count() == 1


def test_another_customers_order_and_returns_are_404(customer, customer_client):
    stranger_order = delivered_order(None)
    item = stranger_order.items.get()
    response = customer_client.post(
        returns_url(stranger_order), {"lines": [{"item_id": item.pk, "quantity": 1}]}
    )
    assert response.status_code == 404
    assert customer_client.get(returns_url(stranger_order)).status_code == 404
    assert not Return.objects.exists()
    own = delivered_order(customer)
    assert customer_client.get(f"{returns_url(own)}12345/").status_code == 404


def test_a_failed_refund_step_leaves_the_return_received(customer, customer_client, staff_client):
    order = delivered_order(customer, quantity=2)
    item = order.items.get()
    created = customer_client.post(
        returns_url(order), {"lines": [{"item_id": item.pk, "quantity": 2}]}
    )
    status_url = f"{returns_url(order)}{created.json()['id']}/status/"
    for status in ("approved", "received"):
        assert staff_client.post(status_url, {"status": status}).status_code == 200
    # Staff refunded the whole order meanwhile: the return's refund has nothing left.
    assert (
        staff_client.post(f"/api/orders/{order.pk}/refunds/", {"amount": "40.00"}).status_code
        == 201
    )
    response = staff_client.post(status_url, {"status": "refunded"})
    assert response.status_code in (400, 409), response.content
    assert Return.objects.get().status == "received"
    assert ReturnEvent.objects.filter(to_status="refunded").count() == 0
    assert Refund.objects.count() == 1
