"""Wishlists: the products and variants a customer, or a guest, keeps to buy later.

A wishlist item names a product, and optionally one of its variants (a size, a colour).
A customer's items belong to the customer (`customer`); a guest's to their guest cart
(`cart`), so that the guest cart's token opens both, and merging the guest cart at login
moves them to the customer (services.merge_guest_wishlist). Prices are never stored: the
API shows the current ones, at the viewer's member prices (selectors.wishlist_items).
"""

from django.conf import settings
from django.db import models

# Upper bound of the items of one wishlist: it bounds what reading and merging one costs
# (a wishlist is read whole, unpaginated).
MAX_WISHLIST_ITEMS = 200


class WishlistItemQuerySet(models.QuerySet["WishlistItem"]):
    def owned_by(self, *, customer=None, cart=None) -> "WishlistItemQuerySet":
        """The items of the wishlist of `customer` or of the guest cart `cart` (exactly one
        of them; TypeError otherwise)."""
        if (customer is None) == (cart is None):
            raise TypeError("Pass exactly one of customer and cart.")
        return self.filter(customer=customer) if customer is not None else self.filter(cart=cart)


class WishlistItem(models.Model):
    """One product (`variant` null) or one variant of it, on a customer's wishlist
    (`customer` set) or a guest's (`cart`, a guest cart, set): exactly one owner, database
    CHECK.

    An owner holds a product, and a variant, at most once (two partial unique constraints,
    NULLS NOT DISTINCT: PostgreSQL 15+). Deleting the product or the variant deletes the
    item; an unpublished product's items stay and show as unavailable.
    """

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="wishlist_items",
    )
    cart = models.ForeignKey(
        "carts.Cart",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="wishlist_items",
        help_text="The guest cart whose token holds this guest's wishlist.",
    )
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="wishlist_items"
    )
    variant = models.ForeignKey(
        "catalog.ProductVariant",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="wishlist_items",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WishlistItemQuerySet.as_manager()

    class Meta:
        # Newest first, as the wishlist shows them.
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(customer__isnull=False, cart__isnull=True)
                | models.Q(customer__isnull=True, cart__isnull=False),
                name="wishlists_item_one_owner",
            ),
            models.UniqueConstraint(
                fields=["customer", "cart", "product"],
                condition=models.Q(variant__isnull=True),
                nulls_distinct=False,
                name="wishlists_item_unique_product",
            ),
            models.UniqueConstraint(
                fields=["customer", "cart", "variant"],
                condition=models.Q(variant__isnull=False),
                nulls_distinct=False,
                name="wishlists_item_unique_variant",
            ),
        ]

    def __str__(self) -> str:
        target = f"variant {self.variant_id}" if self.variant_id else f"product {self.product_id}"
        owner = f"customer {self.customer_id}" if self.customer_id else f"guest cart {self.cart_id}"
        return f"{target} on the wishlist of {owner}"
