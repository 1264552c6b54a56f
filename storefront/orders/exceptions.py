"""Order errors. Each maps to an HTTP status and a stable `code` (see docs/checkout.md)."""

from storefront.core.exceptions import Conflict, DomainError, NotFound


class OrderNotFound(NotFound):
    """No such order, or another customer's order (HTTP 404)."""

    default_message = "Order not found."


class EmptyCart(DomainError):
    """Checkout of a cart without items (HTTP 400)."""

    code = "empty_cart"
    default_message = "The cart is empty."


class OutOfStock(Conflict):
    """Some cart lines cannot be filled; nothing was changed (HTTP 409).

    `details`: {"lines": [{"item_id", "variant_id", "sku", "requested", "available"}, ...]},
    quantities in units; `available` is 0 for a product that is no longer published.
    """

    code = "out_of_stock"
    default_message = "Some items are not available in the requested quantity."


class OrderTooLarge(DomainError):
    """The order total exceeds what an order can record (HTTP 400)."""

    code = "order_too_large"
    default_message = "The order total is too large; split it into several orders."


class IdempotencyKeyReused(DomainError):
    """The Idempotency-Key was already used with a different request (HTTP 422)."""

    status_code = 422
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was already used with a different request."


class InvalidStatusTransition(Conflict):
    """The order cannot move from its current status to the requested one (HTTP 409).

    `details`: {"from": current status, "to": requested status, "allowed": [statuses]}.
    """

    code = "invalid_status_transition"
    default_message = "The order cannot move to this status."
    subject = "An order"

    def __init__(self, *, from_status: str, to_status: str, allowed: list[str]):
        super().__init__(
            f"{self.subject} cannot move from {from_status} to {to_status}.",
            details={"from": from_status, "to": to_status, "allowed": allowed},
        )


class PaymentRequired(Conflict):
    """A card order cannot ship (or be delivered) before its payment is completed (HTTP 409).

    Cash-on-delivery orders are paid to the courier and may ship unpaid. `details`:
    {"to": requested status, "payment_method": str, "payment_status": str}.
    """

    code = "payment_required"
    default_message = "The order must be paid before it ships."


class InvalidReturn(DomainError):
    """A return request whose lines cannot be returned (HTTP 400); nothing was changed.

    `details` names each bad line as "lines.<index>.<field>" (an item not of the order or
    given twice, more units than were ordered less those already in a return), or "lines"
    for a request without lines.
    """

    code = "invalid_return"
    default_message = "These items cannot be returned."


class ReturnNotAllowed(Conflict):
    """The order cannot be returned now (HTTP 409): not delivered yet, or delivered more than
    settings.RETURN_WINDOW_DAYS days ago. `details`: {"status", "delivered_at",
    "return_window_days"}."""

    code = "return_not_allowed"
    default_message = "This order cannot be returned."


class ReturnNotFound(NotFound):
    """No such return on this order, or another customer's (HTTP 404)."""

    default_message = "Return not found."


class InvalidReturnTransition(InvalidStatusTransition):
    """The return cannot move from its status to the requested one (HTTP 409).

    `details`: {"from": current status, "to": requested status, "allowed": [statuses]}.
    """

    code = "invalid_return_transition"
    default_message = "The return cannot move to this status."
    subject = "A return"
