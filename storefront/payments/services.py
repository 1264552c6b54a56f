"""Payment records: open, authorise, capture, void and refund the payment of one order, and
record what its provider says of it.

Each function changes the Payment row (and its refunds) only: a status change is a
conditional update along Payment.TRANSITIONS with a PaymentEvent, and each reports the
outcome by returning the payment. They are building blocks of the order workflows in
storefront.orders.services (pay_order, settle_payment, cancel_order, expire_order,
refund_order, ...), which lock the order and payment rows first, own the transaction and
write on the order what the outcome means for it; call those, not these, from views, tasks
and admin actions.

Every call to a provider that moves money carries an idempotency key derived from our
payment id and the operation (idempotency_key), so that the same call repeated (a retry
after a timeout, a task redelivered after a crash) is answered by the provider with its
first result instead of charging, capturing or refunding again.
"""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from storefront.core import database
from storefront.orders.models import Order
from storefront.payments.exceptions import PaymentNotAllowed, RefundExceedsCaptured
from storefront.payments.models import Payment, PaymentEvent, Refund, RefundLine
from storefront.payments.providers import ProviderPayment, get_provider, provider_of

Status = Payment.Status


def idempotency_key(payment: Payment, operation: str, *parts: object) -> str:
    """The provider idempotency key of `operation` ("start", "authorise", "capture", "void",
    "refund") on `payment`, e.g. "storefront-payment-42-authorise-2": the same call repeated
    gets the same key, a new attempt (`parts`: its number, a refund's id) a new one."""
    return "-".join(["storefront-payment", str(payment.pk), operation, *map(str, parts)])


def check_method_available(*, method: str) -> None:
    """Raise PaymentMethodUnavailable (400) unless a provider takes payments of `method`.

    Cards need a registered gateway, or the sandbox with settings.PAYMENT_SANDBOX on.
    """
    get_provider(method)


def new_payment(*, order: Order, method: str) -> Payment:
    """The pending payment of a new order, unsaved: the order's total, in its currency, held
    by the provider that takes `method` now. place_order inserts it together with the order.
    """
    return Payment(
        order=order,
        method=method,
        provider=get_provider(method).name,
        amount=order.total,
        currency=order.currency,
    )


def captures_at_once() -> bool:
    """Whether card payments are captured when authorised (settings.PAYMENT_CAPTURE
    "automatic"), rather than when the order ships ("manual")."""
    return settings.PAYMENT_CAPTURE == "automatic"


def start_payment(*, payment: Payment) -> Payment:
    """Open the payment at its provider, if the provider opens payments at checkout
    (PaymentProvider.starts_at_checkout: Stripe's PaymentIntent), keeping its reference and
    client secret; otherwise, or once opened, return it unchanged. The provider's errors
    propagate (the payment stays as it was, and can be opened again)."""
    provider = provider_of(payment)
    if not provider.starts_at_checkout or payment.provider_reference:
        return payment
    database.note_external_effect()
    state = provider.start(
        payment=payment,
        capture=captures_at_once(),
        idempotency_key=idempotency_key(payment, "start"),
    )
    return record_state(payment=payment, state=state, source="checkout")


def authorise_payment(*, payment: Payment, token: str) -> Payment:
    """Authorise the payment with a provider token (captured at once with automatic
    capture); return it with what the provider answered: completed, authorised,
    requires_action (with a client secret) or failed (with `failure_code`).

    Raises InvalidPaymentToken (400) for a token the provider does not know,
    PaymentMethodUnavailable (400) when its provider is gone, PaymentNotAllowed (409) for a
    method not paid online; nothing changes then. The caller locks the payment row.
    """
    provider = provider_of(payment)
    attempt = payment.attempts + 1
    # Money moves outside the transaction: a rollback does not undo it, a rerun would repeat
    # it (the key makes the provider answer a repeat with its first result).
    database.note_external_effect()
    state = provider.authorise(
        payment=payment,
        token=token,
        capture=captures_at_once(),
        idempotency_key=idempotency_key(payment, "authorise", attempt),
    )
    Payment.objects.filter(pk=payment.pk).update(attempts=attempt)
    payment.attempts = attempt
    return record_state(payment=payment, state=state, source="customer")


def capture_payment(*, payment: Payment) -> Payment:
    """Capture an authorised payment in full; return it completed (a completed one as is).

    Raises PaymentNotAllowed (409) for a payment that is neither.
    """
    if payment.status in Payment.CAPTURED:
        return payment
    if payment.status != Status.AUTHORISED:
        raise PaymentNotAllowed(f"A {payment.status} payment cannot be captured.")
    database.note_external_effect()
    state = provider_of(payment).capture(
        payment=payment, amount=payment.amount, idempotency_key=idempotency_key(payment, "capture")
    )
    return record_state(payment=payment, state=state, source="capture")


def void_payment(*, payment: Payment, source: str) -> Payment:
    """Cancel a payment nothing was captured of, at its provider; return it with the
    provider's answer: voided, or completed when the provider captured it meanwhile (the
    caller then keeps the order or refunds it). A captured or voided payment is returned
    as is."""
    if payment.status in Payment.CAPTURED or payment.status == Status.VOIDED:
        return payment
    if payment.provider_reference or payment.status == Status.AUTHORISED:
        database.note_external_effect()
        state = provider_of(payment).void(
            payment=payment, idempotency_key=idempotency_key(payment, "void")
        )
    else:  # Never reached its provider: nothing to cancel there.
        state = ProviderPayment(status=Status.VOIDED, reference="")
    return record_state(payment=payment, state=state, source=source)


def record_state(
    *, payment: Payment, state: ProviderPayment, source: str, note: str = ""
) -> Payment:
    """Record what the provider says of the payment (`state`): its reference and client
    secret, and its status where Payment.TRANSITIONS allow the move (a PaymentEvent each).

    A status the table does not allow from the current one (an event delivered out of
    order: "failed" after "completed") changes no status. Refunds are recorded by
    reserve_refund and settle_refund, never from a state. Returns the payment.
    """
    fields: dict[str, Any] = {}
    if state.reference and state.reference != payment.provider_reference:
        fields["provider_reference"] = state.reference
    if state.client_secret and state.client_secret != payment.client_secret:
        fields["client_secret"] = state.client_secret
    status = state.status
    if status in (Status.PARTIALLY_REFUNDED, Status.REFUNDED):
        status = Status.COMPLETED  # Captured; the refunds have their own path.
    now = timezone.now()
    if status != payment.status and status in Payment.TRANSITIONS[payment.status]:
        if status == Status.COMPLETED:
            fields.update(
                captured_amount=state.captured_amount or payment.amount,
                completed_at=now,
                failure_code="",
            )
        elif status == Status.AUTHORISED:
            fields.update(authorised_at=now, failure_code="")
        elif status == Status.VOIDED:
            fields.update(voided_at=now)
        elif status == Status.FAILED:
            fields.update(failure_code=state.failure_code or "declined")
        return move(payment, status, source=source, note=note, reference=state.reference, **fields)
    if status == Status.FAILED and payment.status == Status.FAILED and state.failure_code:
        fields["failure_code"] = state.failure_code  # Declined again, maybe for a new reason.
    if fields:
        Payment.objects.filter(pk=payment.pk).update(updated_at=now, **fields)
        for name, value in fields.items():
            setattr(payment, name, value)
    return payment


def complete_payment(*, payment: Payment, reference: str = "") -> Payment:
    """Record a payment taken outside Storefront (cash on delivery) as completed; return it.

    Raises PaymentNotAllowed (409) unless Payment.TRANSITIONS allow it (a refunded payment).
    """
    return move(
        payment,
        Status.COMPLETED,
        source="staff",
        reference=reference,
        provider_reference=reference,
        failure_code="",
        captured_amount=payment.amount,
        completed_at=timezone.now(),
    )


def reserve_refund(
    *,
    payment: Payment,
    amount: Decimal,
    shipping_amount: Decimal = Decimal(0),
    lines: list[RefundLine] = (),
    reason: str = "",
    restock: bool = False,
    source: str = Refund.Source.STAFF,
    actor=None,
) -> Refund:
    """Reserve `amount` (store currency, > 0) of the captured payment for a refund and
    record it, pending, with its `lines` (unsaved RefundLines, their refund set here).

    One conditional UPDATE adds `amount` to the payment's refunded_amount only while it
    stays within captured_amount (with the CHECK constraint behind it), so two concurrent
    refunds can never give back more than was captured: the one that would raises
    RefundExceedsCaptured (409 refund_exceeds_captured), changing nothing.
    """
    reserved = Payment.objects.filter(
        pk=payment.pk,
        status__in=(Status.COMPLETED, Status.PARTIALLY_REFUNDED),
        refunded_amount__lte=F("captured_amount") - amount,
    ).update(refunded_amount=F("refunded_amount") + amount, updated_at=timezone.now())
    if not reserved:
        current = Payment.objects.values_list("captured_amount", "refunded_amount").get(
            pk=payment.pk
        )
        raise RefundExceedsCaptured(
            details={
                "amount": str(amount),
                "refundable": str(current[0] - current[1]),
                "captured": str(current[0]),
            }
        )
    payment.refunded_amount += amount
    refund = Refund.objects.create(
        order_id=payment.order_id,
        payment=payment,
        amount=amount,
        shipping_amount=shipping_amount,
        reason=reason,
        restock=restock,
        source=source,
        created_by=actor,
    )
    for line in lines:
        line.refund = refund
    RefundLine.objects.bulk_create(lines)
    return refund


def send_refund(*, refund: Refund) -> Refund:
    """Ask the payment's provider to refund `refund` (reserved by reserve_refund); return it
    succeeded or failed. A failed refund gives its reservation back. The payment moves to
    partially_refunded or refunded when the refund succeeds."""
    payment = refund.payment
    database.note_external_effect()
    answer = provider_of(payment).refund(
        payment=payment,
        amount=refund.amount,
        idempotency_key=idempotency_key(payment, "refund", refund.pk),
    )
    return settle_refund(
        refund=refund,
        succeeded=answer.succeeded,
        reference=answer.reference,
        failure_code=answer.failure_code,
    )


def settle_refund(
    *, refund: Refund, succeeded: bool, reference: str = "", failure_code: str = ""
) -> Refund:
    """Record the provider's answer to a pending refund (see send_refund)."""
    payment = refund.payment
    now = timezone.now()
    if not succeeded:
        Payment.objects.filter(pk=payment.pk).update(
            refunded_amount=F("refunded_amount") - refund.amount, updated_at=now
        )
        payment.refunded_amount -= refund.amount
        Refund.objects.filter(pk=refund.pk).update(
            status=Refund.Status.FAILED, failure_code=failure_code or "refused", updated_at=now
        )
        refund.status, refund.failure_code = Refund.Status.FAILED, failure_code or "refused"
        return refund
    Refund.objects.filter(pk=refund.pk).update(
        status=Refund.Status.SUCCEEDED, provider_reference=reference, updated_at=now
    )
    refund.status, refund.provider_reference = Refund.Status.SUCCEEDED, reference
    payment.refresh_from_db(fields=["status", "captured_amount", "refunded_amount"])
    status = (
        Status.REFUNDED
        if payment.refunded_amount >= payment.captured_amount
        else Status.PARTIALLY_REFUNDED
    )
    move(
        payment,
        status,
        source=refund.source,
        amount=refund.amount,
        reference=reference,
        refund_reference=reference,
        refunded_at=now,
    )
    return refund


def move(
    payment: Payment,
    status: str,
    *,
    source: str,
    note: str = "",
    amount: Decimal | None = None,
    reference: str = "",
    **fields: Any,
) -> Payment:
    """Move the payment to `status` if Payment.TRANSITIONS allow it and nobody moved it
    first, writing `fields` with it, and record a PaymentEvent. Raises PaymentNotAllowed
    (409) otherwise."""
    if status not in Payment.TRANSITIONS[payment.status]:
        raise PaymentNotAllowed(f"A {payment.status} payment cannot become {status}.")
    now = timezone.now()
    updated = Payment.objects.filter(pk=payment.pk, status=payment.status).update(
        status=status, updated_at=now, **fields
    )
    if not updated:
        raise PaymentNotAllowed("The payment changed in the meantime; reload and try again.")
    PaymentEvent.objects.create(
        payment=payment,
        from_status=payment.status,
        to_status=status,
        amount=amount if amount is not None else fields.get("captured_amount"),
        reference=reference,
        source=source,
        note=note,
        created_at=now,
    )
    for name, value in {"status": status, "updated_at": now, **fields}.items():
        setattr(payment, name, value)
    return payment
