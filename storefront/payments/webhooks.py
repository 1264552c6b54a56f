"""What providers report on their own: Stripe's webhook events, and the sandbox's 3-D Secure
page (its stand-in for a bank's answer).

A report only says what happened at the provider; storefront.orders.services.settle_payment
and record_provider_refund decide what it means for the order, under the order's row lock,
so a report that races checkout, expiry or a refund gives one consistent outcome.

Stripe's guarantees (https://docs.stripe.com/webhooks): deliveries are at least once, in no
particular order, retried for days until answered 2xx. So each event id is recorded once
(WebhookEvent, unique per provider and id) in the same transaction as its handling: a
second delivery finds it and changes nothing, and a handling that fails leaves no record,
so Stripe's retry handles it again. An event delivered late carries an older snapshot of
the PaymentIntent, whose status the payment transition table refuses (failed after
completed), so it changes nothing either.
"""

import logging
from decimal import Decimal
from typing import Any

from django.db import transaction

from storefront.orders import services as orders
from storefront.payments import providers
from storefront.payments.exceptions import InvalidPaymentToken
from storefront.payments.models import Payment, WebhookEvent
from storefront.payments.stripe import StripeProvider, from_minor_units, payment_state

logger = logging.getLogger(__name__)

STRIPE = StripeProvider.name
# PaymentIntent events whose object is the PaymentIntent's new state.
PAYMENT_INTENT_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.amount_capturable_updated",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.requires_action",
        "payment_intent.processing",
    }
)
REFUND_EVENTS = frozenset({"charge.refunded"})


def handle_stripe_event(*, event: dict[str, Any]) -> bool:
    """Handle one verified Stripe event (the Event object as plain data: id, type,
    data.object); return whether it was new.

    PaymentIntent events (succeeded, amount_capturable_updated, payment_failed, canceled,
    requires_action) settle the payment with the PaymentIntent snapshot they carry;
    charge.refunded records a refund made outside Storefront (amount_refunded, minor units,
    is the charge's total refunded so far). Other types, and events about payments
    Storefront does not hold, are recorded and ignored. A duplicate delivery returns False
    and changes nothing. Domain errors of the handling (e.g. PaymentProviderUnavailable when
    a late success must be refunded) propagate with nothing recorded, for Stripe to retry.
    """
    event_id, event_type = str(event.get("id") or ""), str(event.get("type") or "")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not event_id or len(event_id) > 255:
        return False  # Not an event Stripe sends: nothing to record it by.
    with transaction.atomic():
        _, created = WebhookEvent.objects.get_or_create(
            provider=STRIPE, event_id=event_id, defaults={"type": event_type[:128]}
        )
        if not created or not isinstance(obj, dict):
            return created
        if event_type in PAYMENT_INTENT_EVENTS:
            _settle_intent(obj, source="webhook")
        elif event_type in REFUND_EVENTS:
            _record_charge_refunds(obj)
    return True


def confirm_sandbox_action(*, client_secret: str, succeed: bool) -> Payment:
    """Play the customer's bank answering 3-D Secure for the sandbox payment whose client
    secret is `client_secret` (providers.SandboxCardProvider.confirm_action), and settle the
    Storefront payment with the answer (source "sandbox"): authorised or completed, or
    failed (authentication_failed). Returns the payment. Raises PaymentMethodUnavailable
    (400) while the sandbox is off, InvalidPaymentToken (400) for a secret no sandbox payment
    of Storefront holds, PaymentNotAllowed (409) when the payment no longer waits for the
    answer; nothing changes then.
    """
    sandbox = providers.sandbox()
    with transaction.atomic():
        state = sandbox.confirm_action(client_secret=client_secret, succeed=succeed)
        payment_id = (
            Payment.objects.filter(provider=sandbox.name, client_secret=client_secret)
            .values_list("pk", flat=True)
            .first()
        )
        if payment_id is None:  # Rolls the sandbox's answer back with it.
            raise InvalidPaymentToken("Unknown sandbox client secret.")
        return orders.settle_payment(payment_id=payment_id, state=state, source="sandbox")


def _settle_intent(intent: dict[str, Any], *, source: str) -> None:
    payment_id = _payment_of(intent.get("id"), intent.get("metadata"))
    if payment_id is None:
        logger.info("Stripe event about a PaymentIntent Storefront does not hold; ignored")
        return
    orders.settle_payment(payment_id=payment_id, state=payment_state(intent), source=source)


def _record_charge_refunds(charge: dict[str, Any]) -> None:
    payment_id = _payment_of(charge.get("payment_intent"), charge.get("metadata"))
    if payment_id is None:
        logger.info("Stripe refund of a charge Storefront does not hold; ignored")
        return
    refunded = from_minor_units(charge.get("amount_refunded"), charge.get("currency") or "")
    if refunded <= Decimal(0):
        return
    refunds = charge.get("refunds")
    listed = refunds.get("data") if isinstance(refunds, dict) else None
    # The newest refund's id when the event lists them (older API versions), else the charge.
    reference = listed[0].get("id") if listed and isinstance(listed[0], dict) else None
    orders.record_provider_refund(
        payment_id=payment_id,
        refunded_amount=refunded,
        reference=str(reference or charge.get("id") or ""),
    )


def _payment_of(intent_id: Any, metadata: Any) -> int | None:
    """The Stripe payment a PaymentIntent (id, metadata) belongs to: by its id as our
    provider reference, else by metadata.payment_id for a payment whose start answer never
    arrived (no reference yet)."""
    if isinstance(intent_id, str) and intent_id:
        payment_id = (
            Payment.objects.filter(provider=STRIPE, provider_reference=intent_id)
            .values_list("pk", flat=True)
            .first()
        )
        if payment_id is not None:
            return payment_id
    raw = metadata.get("payment_id") if isinstance(metadata, dict) else None
    if not (isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) < 19):
        return None
    return (
        Payment.objects.filter(pk=int(raw), provider=STRIPE, provider_reference="")
        .values_list("pk", flat=True)
        .first()
    )
