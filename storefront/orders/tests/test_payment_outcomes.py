"""A payment reports its outcome; the orders service writes what it means on the order.

payments.services changes the payment row only and returns it; orders.services then writes
Order.payment_status (one UPDATE) and, for a completed payment of a pending order, the move
to processing. What each payment workflow costs is pinned here.
"""

import contextlib
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from storefront.accounts.tests.factories import StaffFactory
from storefront.orders.models import Order
from storefront.orders.services import cancel_order, complete_cash_on_delivery_payment, pay_order
from storefront.orders.tests.factories import OrderFactory, placed_order
from storefront.payments import services as payment_services
from storefront.payments.exceptions import PaymentDeclined
from storefront.payments.models import Payment

pytestmark = pytest.mark.django_db


def order_updates(call) -> list[str]:
    """The SET clauses of the UPDATEs of orders_order that `call` runs."""
    with CaptureQueriesContext(connection) as queries, contextlib.suppress(PaymentDeclined):
        call()
    prefix = 'UPDATE "orders_order" SET '
    return [
        query["sql"].removeprefix(prefix).split(", ")[0]
        for query in queries.captured_queries
        if query["sql"].startswith(prefix)
    ]


def test_the_payment_services_leave_the_order_row_to_the_orders_service():
    order = OrderFactory(payment__method=Payment.Method.CARD, payment__amount=Decimal("10.00"))

    payment = payment_services.authorise_payment(payment=order.payment, token="tok_success")
    refund = payment_services.reserve_refund(payment=payment, amount=payment.amount)
    payment_services.send_refund(refund=refund)

    assert Order.objects.get(pk=order.pk).payment_status == Order.PaymentStatus.PENDING


def test_a_card_payment_writes_its_status_then_the_move_to_processing_on_the_order():
    order = placed_order(payment_method=Payment.Method.CARD)

    updates = order_updates(lambda: pay_order(order=order, token="tok_success"))

    assert updates == ["\"payment_status\" = 'completed'", "\"status\" = 'processing'"]


def test_a_declined_card_writes_only_its_status_on_the_order():
    order = placed_order(payment_method=Payment.Method.CARD)

    updates = order_updates(lambda: pay_order(order=order, token="tok_declined"))

    assert updates == ["\"payment_status\" = 'failed'"]


def test_a_refund_writes_its_status_on_the_cancelled_order():
    order = placed_order(payment_method=Payment.Method.CARD)
    pay_order(order=order, token="tok_success")

    updates = order_updates(lambda: cancel_order(order=order, actor=order.customer))

    assert updates == ["\"status\" = 'cancelled'", "\"payment_status\" = 'refunded'"]


@pytest.mark.parametrize("token", ["tok_success", "tok_declined"])
def test_paying_by_card_costs_a_fixed_number_of_statements(token, django_assert_num_queries):
    order = placed_order(payment_method=Payment.Method.CARD)
    # Completed: savepoint, order and payment locked, the sandbox's own record (read, then
    # inserted in a savepoint: 4; a real gateway is an HTTP call instead), the attempt
    # number, payment, its event, order's payment status, savepoint, order's status, its
    # event, the webhook events of both (payment.completed, order.status_changed: one
    # INSERT ... SELECT, storefront/webhooks/services.py), two releases. Declined: the first
    # eleven, a release.
    statements = 17 if token == "tok_success" else 12
    with django_assert_num_queries(statements), contextlib.suppress(PaymentDeclined):
        pay_order(order=order, token=token)


def test_recording_cash_costs_a_fixed_number_of_statements(django_assert_num_queries):
    order, staff = placed_order(), StaffFactory()
    # Savepoint, order and payment locked, payment, its event, order's payment status,
    # savepoint, order's status, its event, the webhook events (one statement), two
    # releases.
    with django_assert_num_queries(12):
        complete_cash_on_delivery_payment(order=order, actor=staff)
