"""Card payments over their whole life, on the sandbox: expiry of unpaid orders, provider
answers arriving late or out of order, partial refunds by amount and by lines."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from storefront.accounts.tests.factories import StaffFactory
from storefront.catalog.tests.factories import VariantFactory
from storefront.orders import tasks
from storefront.orders.models import Order, OrderEvent
from storefront.orders.services import (
    change_order_status,
    expire_order,
    pay_order,
    refund_order,
    settle_payment,
)
from storefront.orders.tests.factories import placed_order
from storefront.payments.exceptions import InvalidRefund, PaymentNotAllowed, RefundExceedsCaptured
from storefront.payments.models import Payment, Refund
from storefront.payments.providers import ProviderPayment, SandboxCardProvider

pytestmark = pytest.mark.django_db
Status = Payment.Status


def card_order(stock: int = 5, quantity: int = 2, price: str = "25.00") -> Order:
    variant = VariantFactory(stock_quantity=stock, price=Decimal(price))
    return placed_order(variants=[variant], quantity=quantity, payment_method="card")


def test_a_card_order_is_due_within_the_payment_timeout(settings):
    settings.ORDER_PAYMENT_TIMEOUT_MINUTES = 30
    order = card_order()
    assert order.payment_due_at - order.placed_at == pytest.approx(
        timedelta(minutes=30), abs=timedelta(seconds=5)
    )


def test_cash_on_delivery_orders_never_expire():
    order = placed_order()
    assert order.payment_due_at is None
    with time_machine.travel(timezone.now() + timedelta(days=30)):
        assert tasks.expire_unpaid_orders() == 0
    assert Order.objects.get(pk=order.pk).status == Order.Status.PENDING


def test_an_unpaid_card_order_expires_with_its_stock_back_and_an_email():
    order = card_order(stock=5, quantity=2)
    variant = order.items.get().variant
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        assert tasks.expire_unpaid_orders() == 1
        assert tasks.expire_unpaid_orders() == 0  # Idempotent.
    order.refresh_from_db()
    variant.refresh_from_db()
    assert (order.status, order.payment_status) == ("cancelled", "voided")
    assert variant.stock_quantity == 5
    assert order.events.last().reason == OrderEvent.Reason.EXPIRED
    with pytest.raises(PaymentNotAllowed):
        pay_order(order=order, token="tok_success")


def test_an_order_is_not_expired_before_it_is_due():
    order = card_order()
    assert expire_order(order_id=order.pk) is False
    assert Order.objects.get(pk=order.pk).status == Order.Status.PENDING


def test_a_payment_confirmed_at_the_provider_just_before_the_expiry_keeps_the_order():
    order = card_order()
    pay_order(order=order, token="tok_requires_action")
    payment = Payment.objects.get(order=order)
    assert payment.status == Status.REQUIRES_ACTION
    # The bank confirmed, but its answer has not reached Storefront when the expiry runs.
    SandboxCardProvider().confirm_action(client_secret=payment.client_secret, succeed=True)
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        assert expire_order(order_id=order.pk) is False
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("processing", "completed")


def test_a_success_reported_after_the_expiry_changes_nothing():
    order = card_order()
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        expire_order(order_id=order.pk)
    payment = Payment.objects.get(order=order)
    late = ProviderPayment(status=Status.COMPLETED, reference="late", captured_amount=order.total)
    settle_payment(payment_id=payment.pk, state=late, source="webhook")
    payment.refresh_from_db()
    # Voided is final: the late answer changes nothing, and nothing is refunded twice.
    assert payment.status == Status.VOIDED
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED


def test_an_answer_delivered_out_of_order_changes_nothing():
    order = card_order()
    payment = pay_order(order=order, token="tok_success")
    failed = ProviderPayment(status=Status.FAILED, reference=payment.provider_reference)
    settle_payment(payment_id=payment.pk, state=failed, source="webhook")
    payment.refresh_from_db()
    assert payment.status == Status.COMPLETED
    assert Order.objects.get(pk=order.pk).status == Order.Status.PROCESSING


def test_reconciliation_heals_a_lost_answer(settings):
    settings.PAYMENT_RECONCILE_AFTER_MINUTES = 10
    order = card_order()
    pay_order(order=order, token="tok_requires_action")
    payment = Payment.objects.get(order=order)
    SandboxCardProvider().confirm_action(client_secret=payment.client_secret, succeed=True)
    assert tasks.reconcile_payments() == 0  # Too recent to ask about.
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert tasks.reconcile_payments() == 1
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("processing", "completed")


def test_a_partial_refund_by_amount_then_the_rest():
    order = card_order(quantity=2, price="25.00")
    pay_order(order=order, token="tok_success")
    staff = StaffFactory()
    first = refund_order(order=order, actor=staff, amount=Decimal("10.00"), reason="late")
    assert first.status == Refund.Status.SUCCEEDED
    assert Order.objects.get(pk=order.pk).payment_status == Status.PARTIALLY_REFUNDED
    rest = order.total - Decimal("10.00")
    with pytest.raises(RefundExceedsCaptured):
        refund_order(order=order, actor=staff, amount=rest + Decimal("0.01"))
    refund_order(order=order, actor=staff, amount=rest)
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.refunded_amount) == (Status.REFUNDED, order.total)


def test_a_refund_by_lines_gives_back_their_share_and_restocks():
    order = card_order(stock=5, quantity=3, price="10.00")
    pay_order(order=order, token="tok_success")
    item = order.items.get()
    staff = StaffFactory()
    refund = refund_order(order=order, actor=staff, lines=[(item.pk, 1)], restock=True)
    charged = (
        item.line_total
        - item.discount_total
        + (
            item.tax_total
            if order.total > order.subtotal - order.discount_total + order.shipping_total
            else 0
        )
    )
    assert refund.amount == (charged / 3).quantize(Decimal("0.01"))
    item.variant.refresh_from_db()
    assert item.variant.stock_quantity == 3  # 5 - 3 + 1
    with pytest.raises(InvalidRefund) as raised:
        refund_order(order=order, actor=staff, lines=[(item.pk, 3)])
    assert "lines.0.quantity" in raised.value.details
    # The last two units take what is left of the line, to the cent.
    last = refund_order(order=order, actor=staff, lines=[(item.pk, 2)])
    assert refund.amount + last.amount == charged


def test_cancelling_after_a_restocked_refund_does_not_restock_twice():
    order = card_order(stock=5, quantity=2)
    pay_order(order=order, token="tok_success")
    item = order.items.get()
    refund_order(order=order, actor=StaffFactory(), lines=[(item.pk, 1)], restock=True)
    change_order_status(order=order, status="cancelled", actor=StaffFactory())
    item.variant.refresh_from_db()
    assert item.variant.stock_quantity == 5
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.refunded_amount) == (Status.REFUNDED, order.total)
