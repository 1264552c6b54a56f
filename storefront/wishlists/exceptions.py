"""Wishlist errors. Each maps to an HTTP status and a stable `code` (see docs/wishlists.md)."""

from storefront.core.exceptions import Conflict, DomainError, NotFound
from storefront.wishlists.models import MAX_WISHLIST_ITEMS


class WishlistItemNotFound(NotFound):
    """No such item on this wishlist (another wishlist's items are not found either)."""

    default_message = "Wishlist item not found."


class VariantNotFound(NotFound):
    """No such variant of the product named with it (HTTP 404)."""

    default_message = "No such variant of this product."


class WishlistLimitExceeded(DomainError):
    """A new item would give the wishlist more than MAX_WISHLIST_ITEMS items (HTTP 400).

    `details`: {"max_items": int}.
    """

    code = "wishlist_limit_exceeded"
    default_message = f"A wishlist holds at most {MAX_WISHLIST_ITEMS} items."

    def __init__(self):
        super().__init__(details={"max_items": MAX_WISHLIST_ITEMS})


class VariantRequired(DomainError):
    """Moving an item that names a product only, without saying which variant (HTTP 400)."""

    code = "variant_required"
    default_message = "This wishlist item names a product: say which variant to move to the cart."


class OutOfStock(Conflict):
    """The cart item the move would make is short of stock; nothing moved (HTTP 409).

    `details`: {"variant_id", "requested" (units the cart item would hold), "available"
    (units in stock)}.
    """

    code = "out_of_stock"
    default_message = "This variant is not in stock in the quantity the cart would hold."

    def __init__(self, *, variant_id: int, requested: int, available: int):
        super().__init__(
            f"Only {available} unit(s) in stock; the cart item would hold {requested}.",
            details={"variant_id": variant_id, "requested": requested, "available": available},
        )
