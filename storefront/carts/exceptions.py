"""Cart errors. Each maps to an HTTP status and a stable `code` (see docs/checkout.md)."""

from decimal import Decimal

from django.conf import settings

from storefront.carts.models import MAX_CART_ITEM_QUANTITY, MAX_CART_LINES
from storefront.core.exceptions import Conflict, DomainError, NotFound
from storefront.orders.models import MAX_ORDER_TOTAL


class CartNotFound(NotFound):
    """No such cart, or not one the caller may use (e.g. an unknown guest token)."""

    default_message = "Cart not found."


class CartItemNotFound(NotFound):
    """No such item in this cart (another cart's items are not found either)."""

    default_message = "Cart item not found."


class VariantUnavailable(DomainError):
    """The variant does not exist or its product is not published (HTTP 400)."""

    code = "variant_unavailable"
    default_message = "This product variant is not available."


class QuantityLimitExceeded(DomainError):
    """The item would hold more than MAX_CART_ITEM_QUANTITY units (HTTP 400).

    `details`: {"variant_id": int, "max_quantity": int, "in_cart": int}.
    """

    code = "quantity_limit_exceeded"
    default_message = "A cart item cannot hold that many units."


class CartLinesLimitExceeded(DomainError):
    """A new item would give the cart more than MAX_CART_LINES items (HTTP 400).

    `details`: {"max_lines": int, "lines": int (the items the cart would have)}.
    """

    code = "cart_lines_limit_exceeded"
    default_message = f"A cart holds at most {MAX_CART_LINES} different items."

    def __init__(self, *, lines: int):
        super().__init__(
            f"A cart holds at most {MAX_CART_LINES} different items; this would make {lines}.",
            details={"max_lines": MAX_CART_LINES, "lines": lines},
        )


class CartTotalLimitExceeded(DomainError):
    """The cart's total at current prices would pass what an order can record,
    MAX_ORDER_TOTAL (HTTP 400).

    `details`: {"max_total", "total" (the cart's total now), "new_total" (what it would
    be)}: decimal strings in "currency" (ISO 4217, the store currency).
    """

    code = "cart_total_limit_exceeded"
    default_message = "The cart's total would exceed what one order can hold."

    def __init__(self, *, total: Decimal, new_total: Decimal):
        currency = settings.STORE_CURRENCY
        super().__init__(
            f"A cart's total is at most {MAX_ORDER_TOTAL:,} {currency}; this would make it "
            f"{new_total:,.2f}.",
            details={
                "max_total": f"{MAX_ORDER_TOTAL:.2f}",
                "total": f"{total:.2f}",
                "new_total": f"{new_total:.2f}",
                "currency": currency,
            },
        )


class CartChanged(Conflict):
    """The cart changed while an item was being added, twice in a row; retry (HTTP 409)."""

    code = "cart_changed"
    default_message = "The cart changed while the item was being added; try again."


class InvalidQuantity(DomainError):
    """A quantity that is not a whole number from 1 to MAX_CART_ITEM_QUANTITY (HTTP 400)."""

    code = "invalid_quantity"
    default_message = f"Quantity must be a whole number from 1 to {MAX_CART_ITEM_QUANTITY}."
