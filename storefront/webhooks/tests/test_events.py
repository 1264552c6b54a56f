"""The events of the order, payment and catalog workflows, their data, and what emitting them
costs: the checkout's statement count is the same with an endpoint subscribed as without."""

from decimal import Decimal

import pytest
from django.db import transaction

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.carts.models import CartItem
from storefront.catalog import services as catalog_services
from storefront.catalog.tests.factories import CategoryFactory, ProductFactory, VariantFactory
from storefront.orders.exceptions import InvalidStatusTransition
from storefront.orders.models import Order
from storefront.orders.services import (
    cancel_order,
    change_order_status,
    complete_cash_on_delivery_payment,
    pay_order,
    place_order,
    refund_order,
)
from storefront.orders.tests.factories import placed_order
from storefront.payments.models import Payment
from storefront.webhooks.models import EventType, WebhookDelivery, WebhookEvent
from storefront.webhooks.tests.conftest import make_endpoint

pytestmark = pytest.mark.django_db

CHECKOUT = {
    "shipping_address": "1 Main St\n12345 Springfield",
    "billing_address": "1 Main St\n12345 Springfield",
    "phone_number": "+1 555 0100",
}
URL = "https://erp.example.com/hooks"


@pytest.fixture
def everything():
    """An endpoint subscribed to every event type."""
    return make_endpoint(URL, list(EventType.values))


def events() -> list[tuple[str, dict]]:
    return [(e.type, e.data) for e in WebhookEvent.objects.order_by("created_at", "type")]


def types() -> list[str]:
    return sorted(e for e, _ in events())


@pytest.mark.parametrize("subscribed", [False, True])
@pytest.mark.parametrize("lines", [1, 20])
def test_checkout_costs_the_same_statements_with_or_without_a_subscriber(
    lines, subscribed, django_assert_num_queries
):
    if subscribed:
        make_endpoint(URL, ["order.placed", "stock.changed"])
    customer = UserFactory()
    for _ in range(lines):
        CartItem.objects.create(cart=customer.cart, variant=VariantFactory(), quantity=2)

    # storefront/orders/tests/test_place_order.py's 8: the event and its deliveries are
    # written by the order's own statement.
    with django_assert_num_queries(8):
        place_order(customer=customer, idempotency_key="k", **CHECKOUT)

    # order.placed, and stock.changed for each variant sold.
    assert WebhookDelivery.objects.count() == (1 + lines if subscribed else 0)
    assert WebhookEvent.objects.filter(type="order.placed").count() == (1 if subscribed else 0)
    assert WebhookEvent.objects.filter(type="stock.changed").count() == (lines if subscribed else 0)


def test_order_placed_says_what_was_ordered(everything):
    customer = UserFactory()
    variant = VariantFactory(price=Decimal("12.50"))
    CartItem.objects.create(cart=customer.cart, variant=variant, quantity=2)

    order, _ = place_order(customer=customer, **CHECKOUT)

    ((_, data),) = [e for e in events() if e[0] == "order.placed"]
    assert data == {
        "id": order.pk,
        "number": order.number,
        "status": "pending",
        "payment_status": "pending",
        "customer_id": customer.pk,
        "currency": order.currency,
        "total": f"{order.total:.2f}",
        "email": customer.email,
        "created_at": data["created_at"],
        "subtotal": "25.00",
        "discount_total": f"{order.discount_total:.2f}",
        "shipping_total": f"{order.shipping_total:.2f}",
        "tax_total": f"{order.tax_total:.2f}",
        "shipping_method": order.shipping_method_code,
        "voucher_code": "",
        "payment_method": "cash_on_delivery",
        "items": [
            {
                "product_id": variant.product_id,
                "variant_id": variant.pk,
                "sku": variant.sku,
                "product_name": variant.product.name,
                "variant_name": variant.name,
                "quantity": 2,
                "unit_price": "12.50",
                "line_total": "25.00",
            }
        ],
    }
    placed = WebhookDelivery.objects.get(event__type="order.placed")
    assert placed.endpoint == everything
    ((_, stock),) = [e for e in events() if e[0] == "stock.changed"]
    assert stock == {
        "variant_id": variant.pk,
        "product_id": variant.product_id,
        "stock_quantity": 8,
    }


def test_a_card_payment_sends_payment_completed_and_the_move_to_processing(
    everything, django_assert_num_queries
):
    order = placed_order(payment_method=Payment.Method.CARD)
    WebhookEvent.objects.all().delete()

    pay_order(order=order, token="tok_success")

    assert types() == ["order.status_changed", "payment.completed"]
    data = dict(events())
    payment = Payment.objects.get(order=order)
    assert data["payment.completed"] == {
        "id": payment.pk,
        "order_id": order.pk,
        "order_number": order.number,
        "method": "card",
        "provider": payment.provider,
        "status": "completed",
        "amount": f"{payment.amount:.2f}",
        "captured_amount": f"{payment.amount:.2f}",
        "currency": payment.currency,
    }
    moved = data["order.status_changed"]
    assert (moved["from_status"], moved["to_status"], moved["status"]) == (
        "pending",
        "processing",
        "processing",
    )
    assert moved["payment_status"] == "completed"


def test_cash_received_sends_payment_completed():
    order = placed_order()
    make_endpoint(URL, ["payment.completed"])

    complete_cash_on_delivery_payment(order=order, actor=StaffFactory())

    assert types() == ["payment.completed"]


def test_a_cancellation_sends_the_move_the_cancellation_and_the_refund(everything):
    order = placed_order(payment_method=Payment.Method.CARD)
    pay_order(order=order, token="tok_success")
    WebhookEvent.objects.all().delete()

    cancel_order(order=order, actor=order.customer, note="Changed my mind.")

    # The units go back in stock too: stock.changed.
    assert types() == [
        "order.cancelled",
        "order.status_changed",
        "payment.refunded",
        "stock.changed",
    ]
    data = dict(events())
    assert data["order.cancelled"]["status"] == "cancelled"
    assert data["order.cancelled"]["reason"] == ""
    refund = data["payment.refunded"]
    assert refund["order_number"] == order.number
    assert refund["payment_status"] == "refunded"
    assert refund["amount"] == refund["refunded_amount"] == refund["captured_amount"]
    assert refund["source"] == "cancellation"


def test_a_partial_refund_sends_payment_refunded_with_what_is_left():
    order = placed_order(payment_method=Payment.Method.CARD)
    pay_order(order=order, token="tok_success")
    make_endpoint(URL, ["payment.refunded"])

    refund_order(order=order, actor=StaffFactory(), amount=Decimal("0.01"), reason="Scratch")

    ((_, data),) = events()
    assert (data["amount"], data["payment_status"], data["reason"]) == (
        "0.01",
        "partially_refunded",
        "Scratch",
    )


def test_each_status_change_is_sent():
    order = placed_order()
    complete_cash_on_delivery_payment(order=order, actor=StaffFactory())
    order.refresh_from_db()
    make_endpoint(URL, ["order.status_changed"])

    change_order_status(order=order, status=Order.Status.SHIPPED, actor=None)

    ((_, data),) = events()
    assert (data["from_status"], data["to_status"]) == ("processing", "shipped")


def test_a_refused_move_sends_nothing_and_a_rolled_back_one_neither(everything):
    order = placed_order()
    WebhookEvent.objects.all().delete()

    with pytest.raises(InvalidStatusTransition):
        change_order_status(order=order, status=Order.Status.DELIVERED, actor=None)
    with pytest.raises(RuntimeError), transaction.atomic():
        cancel_order(order=order, actor=None)
        assert "order.cancelled" in types()
        raise RuntimeError("the caller failed after the cancellation")

    assert events() == []


def test_products_created_and_updated_are_sent():
    make_endpoint(URL, ["product.created", "product.updated"])
    category = CategoryFactory()

    product = catalog_services.create_product(
        name="Tee",
        slug="tee",
        category=category,
        variants=[{"sku": "TEE-1", "name": "M", "price": Decimal("9.00"), "stock_quantity": 3}],
    )
    catalog_services.update_product(product=product, changes={"name": "Tee shirt"}, tags=[])

    (created, updated) = events()
    expected = {
        "id": product.pk,
        "slug": "tee",
        "name": "Tee",
        "is_published": True,
        "category_id": category.pk,
        "tax_class": product.tax_class,
    }
    assert created == ("product.created", expected)
    assert updated == (
        "product.updated",
        {**expected, "name": "Tee shirt", "changed": ["name", "tags"]},
    )


def test_a_product_event_nobody_wants_is_not_stored():
    make_endpoint(URL, ["order.placed"])

    catalog_services.update_product(product=ProductFactory(), changes={"name": "New"})

    assert events() == []


def test_an_approved_review_sends_review_approved(everything):
    from storefront.reviews import services as reviews
    from storefront.reviews.tests.factories import ReviewFactory

    review = ReviewFactory(status="pending")
    WebhookEvent.objects.all().delete()

    reviews.moderate_review(review=review, status="approved", actor=StaffFactory())

    assert events() == [
        (
            "review.approved",
            {
                "id": review.pk,
                "product_id": review.product_id,
                "rating": review.rating,
                "verified_purchase": review.verified_purchase,
            },
        )
    ]
