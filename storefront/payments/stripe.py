"""Stripe as the card provider, on the official SDK (`stripe.StripeClient`).

One PaymentIntent per payment (https://docs.stripe.com/payments/payment-intents): checkout
creates it for the order's total (`start`) and hands its client secret to the browser, which
confirms it with Stripe.js; or the customer pays with a PaymentMethod id through
POST /api/orders/{id}/pay/ (`authorise` confirms it server-side). Stripe reports the outcome
by webhook (storefront/payments/webhooks.py) and answers `retrieve` for reconciliation.

Amounts: Storefront's are Decimal in the store currency (major units, e.g. 12.50 USD);
Stripe's are integers in the currency's smallest unit (1250), except for its zero-decimal
currencies (JPY 1500 is 1500) and three-decimal ones (KWD 1.250 is 1250, in tens)
(https://docs.stripe.com/currencies#zero-decimal). Every call carries the idempotency key
the payment services derive from our payment id and the operation as Stripe's
Idempotency-Key, so a repeated call is answered with its first result and never charges,
captures or refunds twice (Stripe keeps keys for 24 hours). Tokens, client secrets and
keys are never logged.
"""

import logging
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import stripe
from django.conf import settings

from storefront.payments.exceptions import (
    InvalidPaymentToken,
    PaymentNotAllowed,
    PaymentProviderUnavailable,
)
from storefront.payments.models import Payment
from storefront.payments.providers import PaymentProvider, ProviderPayment, ProviderRefund

logger = logging.getLogger(__name__)
Status = Payment.Status

ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
# Sent in thousandths, the last digit 0 (Stripe rounds to the hundredth of the major unit).
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
# Stripe's code for a decline the issuer gave no reason for; "card_declined" says as much.
GENERIC_DECLINE = "generic_decline"
# Refund statuses under which the money is on its way back (pending: the bank has not yet
# confirmed; cards nearly always answer succeeded).
REFUND_ACCEPTED = frozenset({"succeeded", "pending", "requires_action"})


def _exponent(currency: str) -> int:
    currency = currency.upper()
    if currency in ZERO_DECIMAL_CURRENCIES:
        return 0
    if currency in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_minor_units(amount: Decimal, currency: str) -> int:
    """`amount` (Decimal, major units of `currency`) as Stripe's integer amount, rounded
    half up: to_minor_units(Decimal("12.50"), "usd") == 1250, ("1500.00", "JPY") -> 1500,
    ("1.25", "KWD") -> 1250."""
    exponent = _exponent(currency)
    if exponent == 3:
        return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)) * 10
    return int((amount * 10**exponent).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_minor_units(amount: int | None, currency: str) -> Decimal:
    """Stripe's integer `amount` of `currency` as Decimal major units, to the cent."""
    return (Decimal(amount or 0) / 10 ** _exponent(currency)).quantize(Decimal("0.01"))


def failure_code(error: Mapping[str, Any] | None) -> str:
    """Why an attempt failed, from a Stripe error object (`last_payment_error` or the error
    of a 402): the issuer's decline code when it gave one (insufficient_funds, lost_card,
    ...), else the error code (card_declined, expired_card,
    payment_intent_authentication_failure)."""
    error = error or {}
    decline = error.get("decline_code")
    if decline and decline != GENERIC_DECLINE:
        return decline
    return error.get("code") or "declined"


def payment_state(intent: Mapping[str, Any]) -> ProviderPayment:
    """What a PaymentIntent (the API's object, or a webhook event's snapshot of it) says of
    the payment, as a ProviderPayment:

    requires_payment_method -> failed (with failure_code) after an attempt, else pending;
    requires_confirmation, processing -> pending; requires_action -> requires_action (the
    client secret confirms it in the browser); requires_capture -> authorised; succeeded ->
    completed (captured_amount from amount_received; partially_refunded or refunded when
    `latest_charge` is expanded and shows refunds); canceled -> voided.
    """
    currency = intent.get("currency") or settings.STORE_CURRENCY
    status = intent.get("status")
    captured = refunded = Decimal("0.00")
    code = ""
    if status == "requires_payment_method":
        error = intent.get("last_payment_error")
        state, code = (Status.FAILED, failure_code(error)) if error else (Status.PENDING, "")
    elif status == "requires_action":
        state = Status.REQUIRES_ACTION
    elif status == "requires_capture":
        state = Status.AUTHORISED
    elif status == "succeeded":
        state = Status.COMPLETED
        captured = from_minor_units(intent.get("amount_received"), currency)
        charge = intent.get("latest_charge")
        if isinstance(charge, Mapping) and charge.get("amount_refunded"):
            refunded = from_minor_units(charge["amount_refunded"], currency)
            state = Status.REFUNDED if refunded >= captured else Status.PARTIALLY_REFUNDED
    elif status == "canceled":
        state = Status.VOIDED
    else:  # requires_confirmation, processing, or a status added after this was written.
        state = Status.PENDING
    return ProviderPayment(
        status=state,
        reference=intent.get("id") or "",
        client_secret=intent.get("client_secret") or "",
        captured_amount=captured,
        refunded_amount=refunded,
        failure_code=code,
    )


class StripeProvider(PaymentProvider):
    """Card payments through Stripe PaymentIntents, with settings.STRIPE_SECRET_KEY at
    settings.STRIPE_API_BASE. Tokens are PaymentMethod ids ("pm_..."; in test mode e.g.
    "pm_card_visa"). Every method raises PaymentProviderUnavailable (503) when Stripe
    cannot be reached or fails on its side (after `max_network_retries` retries with the
    same idempotency key), and PaymentNotAllowed (409) when Stripe refuses the request
    otherwise (e.g. an amount below its minimum, an unknown PaymentIntent)."""

    name = "stripe"
    starts_at_checkout = True

    def __init__(self, *, max_network_retries: int = 2, timeout_seconds: float = 20):
        # Short: payment calls run while the order and payment rows are locked.
        self.max_network_retries = max_network_retries
        self.timeout_seconds = timeout_seconds
        self._clients: dict[tuple[str, str], stripe.StripeClient] = {}

    def start(self, *, payment: Payment, capture: bool, idempotency_key: str) -> ProviderPayment:
        """Create the PaymentIntent of `payment` for its amount, card only, captured when
        confirmed with `capture` (else held until `capture`); nothing is charged yet. The
        answer is pending, with the PaymentIntent's id and client secret."""
        params = self._intent_params(payment, capture=capture)
        return payment_state(
            self._call(
                lambda client: client.v1.payment_intents.create(
                    params, {"idempotency_key": idempotency_key}
                )
            )
        )

    def authorise(
        self, *, payment: Payment, token: str, capture: bool, idempotency_key: str
    ) -> ProviderPayment:
        """Confirm the payment's PaymentIntent with the PaymentMethod `token` (creating and
        confirming one at once when `start` never reached Stripe). Answers completed,
        authorised, requires_action (3-D Secure: the client secret confirms it in the
        browser) or failed (a decline: failure_code e.g. card_declined,
        insufficient_funds). A PaymentIntent that already succeeded or was cancelled
        answers that. Raises InvalidPaymentToken (400) for a PaymentMethod Stripe does not
        know."""
        options = {"idempotency_key": idempotency_key}
        if payment.provider_reference:
            reference = payment.provider_reference
            params = {"payment_method": token}

            def confirm(client: stripe.StripeClient):
                return client.v1.payment_intents.confirm(reference, params, options)

        else:
            params = {
                **self._intent_params(payment, capture=capture),
                "payment_method": token,
                "confirm": True,
            }

            def confirm(client: stripe.StripeClient):
                return client.v1.payment_intents.create(params, options)

        try:
            return payment_state(
                self._call(confirm, reads=(stripe.CardError, stripe.InvalidRequestError))
            )
        except stripe.CardError as error:
            return self._declined(error)
        except stripe.InvalidRequestError as error:
            if error.code == "resource_missing" and error.param == "payment_method":
                raise InvalidPaymentToken(
                    "Stripe does not know this payment method; send a PaymentMethod id "
                    '(test mode: "pm_card_visa").'
                ) from None
            return self._answer_state(error, payment)

    def capture(
        self, *, payment: Payment, amount: Decimal, idempotency_key: str
    ) -> ProviderPayment:
        """Capture `amount` (major units) of the authorised PaymentIntent; answers completed
        (a PaymentIntent captured already answers so)."""
        params = {"amount_to_capture": to_minor_units(amount, payment.currency)}
        reference = payment.provider_reference
        try:
            intent = self._call(
                lambda client: client.v1.payment_intents.capture(
                    reference, params, {"idempotency_key": idempotency_key}
                ),
                reads=(stripe.InvalidRequestError,),
            )
        except stripe.InvalidRequestError as error:
            return self._answer_state(error, payment)
        return payment_state(intent)

    def void(self, *, payment: Payment, idempotency_key: str) -> ProviderPayment:
        """Cancel the PaymentIntent (an authorisation is released); answers voided. If
        Stripe refuses because it succeeded meanwhile, answers completed (the caller
        refunds or keeps it). A payment that never reached Stripe answers voided."""
        if not payment.provider_reference:
            return ProviderPayment(status=Status.VOIDED, reference="")
        reference = payment.provider_reference
        try:
            intent = self._call(
                lambda client: client.v1.payment_intents.cancel(
                    reference, {}, {"idempotency_key": idempotency_key}
                ),
                reads=(stripe.InvalidRequestError,),
            )
        except stripe.InvalidRequestError as error:
            return self._answer_state(error, payment)
        return payment_state(intent)

    def refund(self, *, payment: Payment, amount: Decimal, idempotency_key: str) -> ProviderRefund:
        """Refund `amount` (major units) of the PaymentIntent's charge. Stripe's refusal
        (amount_too_large, charge_already_refunded, ...) answers succeeded=False with its
        code; nothing was refunded then."""
        params = {
            "payment_intent": payment.provider_reference,
            "amount": to_minor_units(amount, payment.currency),
            "metadata": {"payment_id": str(payment.pk)},
        }
        try:
            refund = self._call(
                lambda client: client.v1.refunds.create(
                    params, {"idempotency_key": idempotency_key}
                ),
                reads=(stripe.InvalidRequestError, stripe.CardError),
            )
        except (stripe.InvalidRequestError, stripe.CardError) as error:
            return ProviderRefund(
                reference="", succeeded=False, failure_code=error.code or "refused"
            )
        if refund.get("status") not in REFUND_ACCEPTED:
            return ProviderRefund(
                reference=refund.get("id") or "",
                succeeded=False,
                failure_code=refund.get("failure_reason") or refund.get("status") or "refused",
            )
        return ProviderRefund(reference=refund["id"])

    def retrieve(self, *, payment: Payment) -> ProviderPayment:
        """The PaymentIntent as Stripe has it now, with its charge's refunds; pending for a
        payment that never reached Stripe."""
        if not payment.provider_reference:
            return ProviderPayment(status=Status.PENDING, reference="")
        reference = payment.provider_reference
        return payment_state(
            self._call(
                lambda client: client.v1.payment_intents.retrieve(
                    reference, {"expand": ["latest_charge"]}
                )
            )
        )

    def _intent_params(self, payment: Payment, *, capture: bool) -> dict[str, Any]:
        order = payment.order
        return {
            "amount": to_minor_units(payment.amount, payment.currency),
            "currency": payment.currency.lower(),
            "capture_method": "automatic" if capture else "manual",
            "payment_method_types": ["card"],
            "description": f"Order {order.number}",
            "metadata": {
                "payment_id": str(payment.pk),
                "order_id": str(order.pk),
                "order_number": order.number,
            },
        }

    def _client(self) -> stripe.StripeClient:
        config = (settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)
        client = self._clients.get(config)
        if client is None:
            client = stripe.StripeClient(
                config[0],
                base_addresses={"api": config[1]},
                max_network_retries=self.max_network_retries,
                http_client=stripe.RequestsClient(timeout=self.timeout_seconds),
            )
            self._clients[config] = client
        return client

    def _call(
        self,
        request: Callable[[stripe.StripeClient], stripe.StripeObject],
        *,
        reads: tuple[type[stripe.StripeError], ...] = (),
    ) -> dict:
        """Run one API request and answer its object as plain data (the SDK's objects are
        not mappings). The errors in `reads` are the caller's to read; any other refusal
        raises PaymentNotAllowed (409), and Stripe's unavailability (connection, timeout,
        5xx, a refused key, rate limits) PaymentProviderUnavailable (503)."""
        try:
            return request(self._client()).to_dict()
        except reads:
            raise
        except (stripe.CardError, stripe.InvalidRequestError) as error:
            raise _refused(error) from None
        except stripe.StripeError as error:
            # The class, status and request id only: messages may quote what was sent.
            logger.warning(
                "Stripe unavailable: %s (HTTP %s, code %s, request %s)",
                type(error).__name__,
                error.http_status,
                error.code,
                error.request_id,
            )
            raise PaymentProviderUnavailable() from None

    @staticmethod
    def _declined(error: stripe.CardError) -> ProviderPayment:
        """A decline (HTTP 402): the attempt failed; the PaymentIntent, if Stripe made one,
        stays open for another attempt."""
        body = (error.json_body or {}).get("error", {}) if isinstance(error.json_body, dict) else {}
        intent = body.get("payment_intent")
        state = payment_state(intent) if isinstance(intent, Mapping) else None
        return ProviderPayment(
            status=Status.FAILED,
            reference=state.reference if state else "",
            client_secret=state.client_secret if state else "",
            failure_code=failure_code(body) if body else (error.code or "declined"),
        )

    def _answer_state(self, error: stripe.InvalidRequestError, payment: Payment) -> ProviderPayment:
        """Stripe refused the call because of the PaymentIntent's state (it succeeded, was
        cancelled, ...): answer that state. Any other refusal raises PaymentNotAllowed."""
        if error.code != "payment_intent_unexpected_state":
            raise _refused(error) from None
        body = error.json_body.get("error", {}) if isinstance(error.json_body, dict) else {}
        intent = body.get("payment_intent")
        if isinstance(intent, Mapping):
            return payment_state(intent)
        return self.retrieve(payment=payment)


def _refused(error: stripe.StripeError) -> PaymentNotAllowed:
    """Stripe refused a request for a reason of its own (an amount below its minimum, an
    unknown PaymentIntent, ...): PaymentNotAllowed (409) with Stripe's code."""
    code = error.code or "invalid_request"
    logger.warning("Stripe refused a request: %s (request %s)", code, error.request_id)
    return PaymentNotAllowed(
        f"Stripe refused the request ({code}).", details={"provider_code": code}
    )
