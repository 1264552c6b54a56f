"""A payment that succeeds at the same moment as its order's expiry gives exactly one
consistent outcome, on PostgreSQL with real threads: either the order is kept and paid, or
it is cancelled with its stock back and nothing is left captured."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from storefront.catalog.models import ProductVariant
from storefront.catalog.tests.factories import VariantFactory
from storefront.orders.models import Order
from storefront.orders.services import expire_order, pay_order, refund_order, settle_payment
from storefront.orders.tests.factories import placed_order
from storefront.payments.exceptions import PaymentNotAllowed, RefundExceedsCaptured
from storefront.payments.models import Payment, Refund, SandboxPayment
from storefront.payments.providers import SandboxCardProvider
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)
Status = Payment.Status


def due_card_order(stock: int = 5, quantity: int = 2) -> Order:
    variant = VariantFactory(stock_quantity=stock, price=Decimal("50.00"))
    order = placed_order(variants=[variant], quantity=quantity, payment_method="card")
    Order.objects.filter(pk=order.pk).update(payment_due_at=timezone.now() - timedelta(seconds=1))
    return order


def assert_one_consistent_outcome(order: Order, variant_id: int) -> str:
    order.refresh_from_db()
    payment = Payment.objects.get(order=order)
    stock = ProductVariant.objects.get(pk=variant_id).stock_quantity
    if order.status == Order.Status.PROCESSING:
        assert (payment.status, payment.captured_amount) == (Status.COMPLETED, order.total)
        assert stock == 3
        return "paid"
    assert order.status == Order.Status.CANCELLED
    assert payment.status in (Status.VOIDED, Status.REFUNDED)
    assert payment.refunded_amount == payment.captured_amount
    assert stock == 5
    return "expired"


@pytest.mark.parametrize("round_", range(4))
def test_a_card_payment_racing_the_expiry_gives_one_outcome(round_):
    order = due_card_order()
    variant_id = order.items.get().variant_id
    outcomes = run_concurrently(
        [
            lambda: pay_order(order=order, token="tok_success"),
            lambda: expire_order(order_id=order.pk),
        ]
    )
    paid, expired = outcomes
    result = assert_one_consistent_outcome(order, variant_id)
    if result == "paid":
        assert paid.error is None and expired.value is False
    else:
        assert isinstance(paid.error, PaymentNotAllowed) and expired.value is True
        assert not SandboxPayment.objects.exists()  # Nothing was charged.


@pytest.mark.parametrize("round_", range(4))
def test_a_provider_success_racing_the_expiry_gives_one_outcome(round_):
    order = due_card_order()
    variant_id = order.items.get().variant_id
    pay_order(order=order, token="tok_requires_action")
    payment = Payment.objects.get(order=order)
    answer = SandboxCardProvider().confirm_action(client_secret=payment.client_secret, succeed=True)
    run_concurrently(
        [
            lambda: settle_payment(payment_id=payment.pk, state=answer, source="webhook"),
            lambda: expire_order(order_id=order.pk),
        ]
    )
    # The provider captured before the void could reach it: the order is kept either way.
    assert assert_one_consistent_outcome(order, variant_id) == "paid"


def test_two_concurrent_refunds_of_60_on_a_100_order_give_one_refund_and_one_409():
    variant = VariantFactory(stock_quantity=5, price=Decimal("100.00"))
    order = placed_order(variants=[variant], payment_method="card")
    pay_order(order=order, token="tok_success")
    Payment.objects.filter(order=order).update(amount=Decimal("100.00"))
    Payment.objects.filter(order=order).update(captured_amount=Decimal("100.00"))
    outcomes = run_concurrently(
        [lambda: refund_order(order=order, actor=None, amount=Decimal("60.00"))] * 2
    )
    errors = [outcome.error for outcome in outcomes if outcome.error is not None]
    assert len(errors) == 1 and isinstance(errors[0], RefundExceedsCaptured)
    assert Refund.objects.filter(order=order, status=Refund.Status.SUCCEEDED).count() == 1
    assert Payment.objects.get(order=order).refunded_amount == Decimal("60.00")
