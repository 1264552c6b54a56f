"""Status changes, cancellation, payment and anonymisation of placed orders."""

import itertools

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.core.management import call_command
from django.db.models import ProtectedError
from knox.models import AuthToken

from storefront.accounts.models import User
from storefront.accounts.tests.factories import AddressFactory, StaffFactory, UserFactory
from storefront.catalog.tests.factories import VariantFactory
from storefront.orders.exceptions import InvalidStatusTransition, PaymentRequired
from storefront.orders.models import Order, OrderEvent
from storefront.orders.services import (
    REDACTED,
    anonymise_customer,
    cancel_order,
    change_order_status,
    complete_cash_on_delivery_payment,
    pay_order,
)
from storefront.orders.tests.factories import placed_order
from storefront.payments.exceptions import (
    InvalidPaymentToken,
    PaymentDeclined,
    PaymentMethodUnavailable,
    PaymentNotAllowed,
)
from storefront.payments.models import Payment, SandboxPayment

pytestmark = pytest.mark.django_db

Status = Order.Status
ALLOWED = {(old, new) for old, targets in Order.TRANSITIONS.items() for new in targets}
FORBIDDEN = sorted(set(itertools.product(Status.values, Status.values)) - ALLOWED)
PATH_TO = {
    Status.PENDING: [],
    Status.PROCESSING: [Status.PROCESSING],
    Status.SHIPPED: [Status.PROCESSING, Status.SHIPPED],
    Status.DELIVERED: [Status.PROCESSING, Status.SHIPPED, Status.DELIVERED],
    Status.CANCELLED: [Status.CANCELLED],
}


def order_in(status: str, **kwargs) -> Order:
    order = placed_order(**kwargs)
    staff = StaffFactory()
    for step in PATH_TO[status]:
        order = change_order_status(order=order, status=step, actor=staff)
    return order


def stock_of(order: Order) -> int:
    variant = order.items.get().variant
    variant.refresh_from_db()
    return variant.stock_quantity


def fresh(order: Order) -> Order:
    return Order.objects.get(pk=order.pk)


# --- Status transitions -------------------------------------------------------------------


def test_staff_move_an_order_through_its_life_and_each_step_is_an_event():
    order = placed_order()
    staff = StaffFactory()
    for status in (Status.PROCESSING, Status.SHIPPED, Status.DELIVERED):
        change_order_status(order=order, status=status, actor=staff, note=f"to {status}")
    assert fresh(order).status == Status.DELIVERED
    steps = list(OrderEvent.objects.filter(order=order).values_list("from_status", "to_status"))
    assert steps == [
        ("", "pending"),
        ("pending", "processing"),
        ("processing", "shipped"),
        ("shipped", "delivered"),
    ]
    last = OrderEvent.objects.filter(order=order).last()
    assert (last.actor, last.note) == (staff, "to delivered")


@pytest.mark.parametrize(("from_status", "to_status"), FORBIDDEN)
def test_transitions_outside_the_table_are_refused_and_change_nothing(from_status, to_status):
    order = order_in(from_status)
    events = order.events.count()
    with pytest.raises(InvalidStatusTransition) as raised:
        change_order_status(order=order, status=to_status, actor=StaffFactory())
    assert raised.value.details["from"] == from_status
    assert fresh(order).status == from_status
    assert order.events.count() == events


def test_a_transition_judged_on_a_stale_order_is_refused():
    order = placed_order()
    stale_copy = fresh(order)
    change_order_status(order=order, status=Status.PROCESSING, actor=None)
    change_order_status(order=order, status=Status.SHIPPED, actor=None)
    with pytest.raises(InvalidStatusTransition) as raised:
        change_order_status(order=stale_copy, status=Status.CANCELLED, actor=None)
    assert raised.value.details["from"] == Status.SHIPPED
    assert fresh(order).status == Status.SHIPPED


@pytest.mark.parametrize("declined", [False, True])
def test_a_card_order_cannot_ship_before_it_is_paid(declined):
    order = order_in(Status.PROCESSING, payment_method=Payment.Method.CARD)
    if declined:
        with pytest.raises(PaymentDeclined):
            pay_order(order=order, token="tok_declined")
    events = order.events.count()

    with pytest.raises(PaymentRequired) as raised:
        change_order_status(order=order, status=Status.SHIPPED, actor=StaffFactory())

    payment_status = "failed" if declined else "pending"
    assert raised.value.details == {
        "to": "shipped",
        "payment_method": "card",
        "payment_status": payment_status,
    }
    assert (fresh(order).status, fresh(order).payment_status) == ("processing", payment_status)
    assert order.events.count() == events


def test_a_card_order_shipped_unpaid_cannot_be_delivered_unpaid():
    # E.g. one shipped before the rule existed.
    order = placed_order(payment_method=Payment.Method.CARD)
    Order.objects.filter(pk=order.pk).update(status=Status.SHIPPED)
    with pytest.raises(PaymentRequired):
        change_order_status(order=fresh(order), status=Status.DELIVERED, actor=StaffFactory())
    assert fresh(order).status == Status.SHIPPED


def test_a_paid_card_order_ships_and_is_delivered():
    order = placed_order(payment_method=Payment.Method.CARD)
    pay_order(order=order, token="tok_success")
    staff = StaffFactory()
    for status in (Status.SHIPPED, Status.DELIVERED):
        change_order_status(order=fresh(order), status=status, actor=staff)
    assert fresh(order).status == Status.DELIVERED


def test_a_cash_on_delivery_order_ships_and_is_delivered_unpaid():
    order = order_in(Status.DELIVERED, payment_method=Payment.Method.CASH_ON_DELIVERY)
    assert (fresh(order).status, fresh(order).payment_status) == ("delivered", "pending")


def test_moving_to_cancelled_cancels_the_order_with_its_effects():
    order = placed_order(variants=[VariantFactory(stock_quantity=10)], quantity=3)
    assert stock_of(order) == 7
    change_order_status(order=order, status=Status.CANCELLED, actor=StaffFactory())
    assert stock_of(order) == 10


# --- Cancellation -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.PENDING, Status.PROCESSING])
def test_cancelling_returns_the_stock(status):
    order = order_in(status, variants=[VariantFactory(stock_quantity=10)], quantity=4)
    cancel_order(order=order, actor=order.customer, note="Changed my mind")
    assert fresh(order).status == Status.CANCELLED
    assert stock_of(order) == 10
    event = order.events.last()
    assert (event.actor, event.to_status, event.note) == (
        order.customer,
        "cancelled",
        "Changed my mind",
    )


@pytest.mark.parametrize("status", [Status.SHIPPED, Status.DELIVERED, Status.CANCELLED])
def test_orders_cannot_be_cancelled_once_shipped_or_cancelled(status):
    order = order_in(status, variants=[VariantFactory(stock_quantity=10)], quantity=4)
    stock_before = stock_of(order)
    with pytest.raises(InvalidStatusTransition):
        cancel_order(order=order, actor=order.customer)
    assert stock_of(order) == stock_before


def test_cancelling_refunds_a_completed_payment():
    order = placed_order(payment_method=Payment.Method.CARD)
    pay_order(order=order, token="tok_success")
    cancel_order(order=order, actor=order.customer)
    payment = Payment.objects.get(order=order)
    assert payment.status == Payment.Status.REFUNDED
    assert payment.refunded_at is not None
    assert payment.refund_reference.startswith("sandbox_re_")
    assert fresh(order).payment_status == Order.PaymentStatus.REFUNDED


def test_a_card_payment_without_its_provider_is_not_refunded_and_the_order_stays(settings):
    order = placed_order(payment_method=Payment.Method.CARD)
    pay_order(order=order, token="tok_success")
    stock = stock_of(order)
    settings.PAYMENT_SANDBOX = False

    with pytest.raises(PaymentMethodUnavailable):
        cancel_order(order=order, actor=StaffFactory())

    assert (fresh(order).status, fresh(order).payment_status) == ("processing", "completed")
    assert Payment.objects.get(order=order).status == Payment.Status.COMPLETED
    assert stock_of(order) == stock


def test_cancelling_voids_a_payment_nothing_was_captured_of():
    order = placed_order()
    cancel_order(order=order, actor=order.customer)
    payment = Payment.objects.get(order=order)
    assert payment.status == Payment.Status.VOIDED
    assert payment.voided_at is not None
    assert fresh(order).payment_status == Payment.Status.VOIDED
    assert not payment.refunds.exists()


def test_cancelling_skips_lines_whose_variant_was_deleted():
    kept, deleted = VariantFactory(stock_quantity=5), VariantFactory(stock_quantity=5)
    order = placed_order(variants=[kept, deleted], quantity=2)
    deleted.delete()
    cancel_order(order=order, actor=order.customer)
    kept.refresh_from_db()
    assert kept.stock_quantity == 5


# --- Card payments (sandbox provider) -----------------------------------------------------


def test_successful_card_payment_completes_and_moves_the_order_to_processing():
    order = placed_order(payment_method=Payment.Method.CARD)
    payment = pay_order(order=order, token="tok_success")
    assert payment.status == Payment.Status.COMPLETED
    assert payment.provider_reference.startswith("sandbox_pi_")
    assert payment.captured_amount == payment.amount
    assert payment.completed_at is not None
    order = fresh(order)
    assert (order.status, order.payment_status) == ("processing", "completed")
    event = order.events.last()
    assert (event.actor, event.from_status, event.to_status) == (None, "pending", "processing")


def test_declined_card_payment_is_recorded_as_failed():
    order = placed_order(payment_method=Payment.Method.CARD)
    with pytest.raises(PaymentDeclined):
        pay_order(order=order, token="tok_declined")
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.failure_code) == ("failed", "card_declined")
    order = fresh(order)
    assert (order.status, order.payment_status) == ("pending", "failed")


def test_declined_card_payment_may_be_retried():
    order = placed_order(payment_method=Payment.Method.CARD)
    with pytest.raises(PaymentDeclined):
        pay_order(order=order, token="tok_declined")
    payment = pay_order(order=order, token="tok_success")
    assert (payment.status, payment.failure_code) == ("completed", "")


def test_paying_a_completed_payment_again_charges_nothing():
    order = placed_order(payment_method=Payment.Method.CARD)
    first = pay_order(order=order, token="tok_success")
    again = pay_order(order=order, token="tok_declined")
    assert again.status == Payment.Status.COMPLETED
    assert again.provider_reference == first.provider_reference
    assert order.events.filter(to_status=Status.PROCESSING).count() == 1


def test_unknown_payment_token_is_refused_and_changes_nothing():
    order = placed_order(payment_method=Payment.Method.CARD)
    with pytest.raises(InvalidPaymentToken):
        pay_order(order=order, token="4242424242424242")
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.provider_reference) == ("pending", "")


def test_cash_on_delivery_orders_cannot_be_paid_by_card():
    order = placed_order(payment_method=Payment.Method.CASH_ON_DELIVERY)
    with pytest.raises(PaymentNotAllowed):
        pay_order(order=order, token="tok_success")
    assert Payment.objects.get(order=order).status == Payment.Status.PENDING


def test_cancelled_orders_cannot_be_paid():
    order = placed_order(payment_method=Payment.Method.CARD)
    cancel_order(order=order, actor=order.customer)
    with pytest.raises(PaymentNotAllowed):
        pay_order(order=order, token="tok_success")
    assert Payment.objects.get(order=order).status == Payment.Status.VOIDED
    assert not SandboxPayment.objects.exists()  # Nothing reached the provider.


def test_payment_completing_after_staff_moved_the_order_leaves_its_status():
    order = order_in(Status.PROCESSING, payment_method=Payment.Method.CARD)
    pay_order(order=order, token="tok_success")
    assert fresh(order).status == Status.PROCESSING
    assert order.events.filter(to_status=Status.PROCESSING).count() == 1


# --- Cash on delivery ---------------------------------------------------------------------


def test_staff_record_cash_received_and_the_order_moves_to_processing():
    order = placed_order()
    staff = StaffFactory()
    payment = complete_cash_on_delivery_payment(order=order, actor=staff)
    assert payment.status == Payment.Status.COMPLETED
    order = fresh(order)
    assert (order.status, order.payment_status) == ("processing", "completed")
    assert order.events.last().actor == staff


def test_cash_received_on_delivery_completes_the_payment_of_a_delivered_order():
    order = order_in(Status.DELIVERED)
    complete_cash_on_delivery_payment(order=order, actor=StaffFactory())
    order = fresh(order)
    assert (order.status, order.payment_status) == ("delivered", "completed")


def test_recording_cash_twice_is_harmless():
    order = placed_order()
    staff = StaffFactory()
    first = complete_cash_on_delivery_payment(order=order, actor=staff)
    again = complete_cash_on_delivery_payment(order=order, actor=staff)
    assert again.completed_at == first.completed_at
    assert order.events.filter(to_status=Status.PROCESSING).count() == 1


def test_card_payments_cannot_be_recorded_as_cash():
    order = placed_order(payment_method=Payment.Method.CARD)
    with pytest.raises(PaymentNotAllowed):
        complete_cash_on_delivery_payment(order=order, actor=StaffFactory())
    assert Payment.objects.get(order=order).status == Payment.Status.PENDING


# --- Customers with orders: deletion refused, anonymisation instead --------------------------


def test_a_customer_with_orders_cannot_be_deleted():
    order = placed_order()
    with pytest.raises(ProtectedError):
        order.customer.delete()
    assert User.objects.filter(pk=order.customer_id).exists()


def test_anonymising_erases_personal_data_and_keeps_the_orders():
    order = placed_order()
    customer = order.customer
    AddressFactory(customer=customer)
    AuthToken.objects.create(user=customer)

    anonymise_customer(customer=customer)

    customer.refresh_from_db()
    assert customer.email == f"anonymised-{customer.pk}@anonymised.invalid"
    assert (customer.first_name, customer.last_name, customer.phone_number) == ("", "", "")
    assert not customer.is_active
    assert not customer.has_usable_password()
    assert not customer.addresses.exists()
    assert not AuthToken.objects.filter(user=customer).exists()
    kept = fresh(order)
    assert (kept.total, kept.shipping_address) == (order.total, order.shipping_address)


def test_anonymising_erases_the_failed_logins_of_the_email_for_the_api_and_the_admin():
    order = placed_order()
    customer = order.customer
    for username in (customer.email, f"admin:{customer.email}"):
        AccessAttempt.objects.create(
            username=username, ip_address="192.0.2.1", failures_since_start=1
        )
        AccessFailureLog.objects.create(username=username, ip_address="192.0.2.1")

    anonymise_customer(customer=customer)

    assert not AccessAttempt.objects.exists()
    assert not AccessFailureLog.objects.exists()


def test_anonymising_with_scrub_orders_removes_contact_data_from_orders():
    order = placed_order()
    anonymise_customer(customer=order.customer, scrub_orders=True)
    kept = fresh(order)
    assert (kept.shipping_address, kept.billing_address, kept.phone_number) == (
        REDACTED,
        REDACTED,
        REDACTED,
    )
    assert kept.items.count() == 1


def test_anonymise_customer_command_anonymises_by_email():
    customer = UserFactory(email="leaving@example.com")
    call_command("anonymise_customer", "Leaving@Example.com", "--no-input", verbosity=0)
    customer.refresh_from_db()
    assert not customer.is_active
    assert customer.email.endswith("@anonymised.invalid")
