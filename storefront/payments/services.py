"""Payment records: create, charge, complete and refund the payment of one order.

Each function changes the Payment row only, with a conditional update along
Payment.TRANSITIONS, and reports the outcome: it returns the payment with its new status.
They are building blocks of the order workflows in storefront.orders.services (pay_order,
complete_cash_on_delivery_payment, cancel_order), which lock the order and payment rows
first, own the transaction and write on the order what the outcome means for it
(Order.payment_status, the move to processing); call those, not these, from views and admin
actions.
"""

from typing import Any

from django.utils import timezone

from storefront.core import database
from storefront.orders.models import Order
from storefront.payments.exceptions import PaymentNotAllowed
from storefront.payments.models import Payment
from storefront.payments.providers import get_provider


def check_method_available(*, method: str) -> None:
    """Raise PaymentMethodUnavailable (400) unless a provider takes payments of `method`.

    Cards need a registered gateway, or the sandbox with settings.PAYMENT_SANDBOX on.
    """
    get_provider(method)


def new_payment(*, order: Order, method: str) -> Payment:
    """The pending payment of a new order, unsaved: the order's total, in its currency.

    place_order inserts it together with the order.
    """
    return Payment(order=order, method=method, amount=order.total, currency=order.currency)


def charge_payment(*, payment: Payment, token: str) -> Payment:
    """Charge the payment with a provider token; return it completed or failed.

    Raises InvalidPaymentToken (400) for a token the provider does not know,
    PaymentMethodUnavailable (400) when no provider takes the method any more and
    PaymentNotAllowed (409) for a method that is not paid online; nothing changes then.
    A declined charge is not an exception here: the payment comes back with status failed.
    The request is never run again after a database conflict once the provider was called.
    """
    provider = get_provider(payment.method)
    # Money moves outside the transaction: a rollback does not undo it, a rerun would repeat it.
    database.note_external_effect()
    result = provider.charge(
        amount=payment.amount, currency=payment.currency, token=token, payment_id=payment.pk
    )
    if result.succeeded:
        return _move(
            payment,
            Payment.Status.COMPLETED,
            provider_reference=result.reference,
            failure_code="",
            completed_at=timezone.now(),
        )
    return _move(
        payment,
        Payment.Status.FAILED,
        provider_reference=result.reference,
        failure_code=result.failure_code or "declined",
    )


def complete_payment(*, payment: Payment, reference: str = "") -> Payment:
    """Record a payment taken outside Storefront (cash on delivery) as completed; return it.

    Raises PaymentNotAllowed (409) unless Payment.TRANSITIONS allow it (a refunded payment).
    """
    return _move(
        payment,
        Payment.Status.COMPLETED,
        provider_reference=reference,
        failure_code="",
        completed_at=timezone.now(),
    )


def refund_payment(*, payment: Payment) -> Payment:
    """Refund a completed payment in full through its provider; return it refunded.

    Raises PaymentNotAllowed (409) unless the payment is completed and
    PaymentMethodUnavailable (400) when no provider takes its method any more.
    """
    if payment.status != Payment.Status.COMPLETED:
        raise PaymentNotAllowed("Only a completed payment can be refunded.")
    provider = get_provider(payment.method)
    database.note_external_effect()  # As for a charge: a rerun would refund twice.
    reference = provider.refund(
        amount=payment.amount,
        currency=payment.currency,
        charge_reference=payment.provider_reference,
    )
    return _move(
        payment, Payment.Status.REFUNDED, refund_reference=reference, refunded_at=timezone.now()
    )


def _move(payment: Payment, status: str, **fields: Any) -> Payment:
    """Move the payment to `status` if Payment.TRANSITIONS allow it and nobody moved it first."""
    if status not in Payment.TRANSITIONS[payment.status]:
        raise PaymentNotAllowed(f"A {payment.status} payment cannot become {status}.")
    now = timezone.now()
    updated = Payment.objects.filter(pk=payment.pk, status=payment.status).update(
        status=status, updated_at=now, **fields
    )
    if not updated:
        raise PaymentNotAllowed("The payment changed in the meantime; reload and try again.")
    for name, value in {"status": status, "updated_at": now, **fields}.items():
        setattr(payment, name, value)
    return payment
