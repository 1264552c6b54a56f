"""Payment errors. Each maps to an HTTP status and a stable `code` (see docs/checkout.md)."""

from storefront.core.exceptions import Conflict, DomainError


class PaymentDeclined(DomainError):
    """The provider refused the charge (HTTP 402); the payment is recorded as failed.

    A declined payment may be retried with another token. `details`:
    {"payment_status": "failed", "failure_code": str}.
    """

    status_code = 402
    code = "payment_declined"
    default_message = "The payment was declined."


class InvalidPaymentToken(DomainError):
    """The provider does not know this payment token (HTTP 400); nothing was charged."""

    code = "invalid_payment_token"
    default_message = "The payment token is not valid."


class PaymentNotAllowed(Conflict):
    """The order's payment cannot be taken this way now (HTTP 409).

    E.g. paying a cancelled order, paying a cash-on-delivery order by card, or marking a
    card payment as received in cash.
    """

    code = "payment_not_allowed"
    default_message = "This payment cannot be taken now."


class PaymentMethodUnavailable(DomainError):
    """No provider takes this payment method here (HTTP 400); nothing was charged or changed.

    E.g. `payment_method: "card"` in production before a card gateway is registered (the
    sandbox is off there). `details`: {"payment_method": str}.
    """

    code = "payment_method_unavailable"
    default_message = "This payment method is not available."


class RefundExceedsCaptured(Conflict):
    """The refund would give back more than the payment captured, less what was refunded
    already (HTTP 409); nothing is refunded. `details`: {"amount", "refundable", "captured"}
    (decimal strings, store currency)."""

    code = "refund_exceeds_captured"
    default_message = "The refund is larger than what is left to refund of the payment."


class InvalidRefund(DomainError):
    """The refund asked for is not one the order allows (HTTP 400): no amount, an amount of
    zero or less, an item not of this order, more units than were ordered and not yet
    refunded, shipping already refunded, an order without a captured payment. `details`
    names each problem: {"field": "message", ...} (e.g. "lines.0.quantity")."""

    code = "invalid_refund"
    default_message = "This refund is not possible."


class PaymentProviderUnavailable(DomainError):
    """The payment provider could not be reached or failed (HTTP 503): a network error, a
    timeout, an error on its side, a refused API key. Nothing is known to have changed; the
    same call may be repeated (it carries the same idempotency key)."""

    status_code = 503
    code = "payment_provider_unavailable"
    default_message = "The payment provider is unavailable; try again shortly."


class InvalidWebhookSignature(DomainError):
    """A provider webhook whose signature does not verify, or whose body is not an event
    (HTTP 400); nothing was recorded or changed."""

    code = "invalid_signature"
    default_message = "The webhook signature could not be verified."
