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
