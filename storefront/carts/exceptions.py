"""Cart errors. Each maps to an HTTP status and a stable `code` (see docs/checkout.md)."""

from storefront.carts.models import MAX_CART_ITEM_QUANTITY
from storefront.core.exceptions import DomainError, NotFound


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


class InvalidQuantity(DomainError):
    """A quantity that is not a whole number from 1 to MAX_CART_ITEM_QUANTITY (HTTP 400)."""

    code = "invalid_quantity"
    default_message = f"Quantity must be a whole number from 1 to {MAX_CART_ITEM_QUANTITY}."
