"""Carts: one per customer (made at registration or on first use), plus guest carts by token.

Prices in a cart are always the variants' current prices (store currency); they are frozen
only when the cart is checked out into an order. The amounts here are at list prices (what
the caps of carts.services bound); the cart's API shows its customer's member prices
(carts.selectors.load_cart_contents, the rules of pricing.quotes).
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models

from storefront.core.models import TimeStampedModel
from storefront.pricing import quotes

# Upper bound of one cart item's quantity (units); the database enforces it with a CHECK.
MAX_CART_ITEM_QUANTITY = 1000
# Upper bound of the items (distinct variants) of one cart. Together with the units per item
# it bounds what reading, merging and checking out a cart costs. The cart's total is bounded
# too, by what an order records (orders.models.MAX_ORDER_TOTAL): see carts.services.
MAX_CART_LINES = 100


def is_valid_quantity(value: object) -> bool:
    """Whether `value` can be a cart item's quantity: an int (not a bool) from 1 to
    MAX_CART_ITEM_QUANTITY."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    return is_int and 1 <= value <= MAX_CART_ITEM_QUANTITY


class CartQuerySet(models.QuerySet["Cart"]):
    def guests(self) -> "CartQuerySet":
        """Guest carts: no customer, addressed by token."""
        return self.filter(customer__isnull=True)


class Cart(TimeStampedModel):
    """A customer's cart (`customer` set, at most one each) or a guest cart (`customer` null).

    Guests address their cart by `token`, a random UUID that only they know. A customer's
    cart is created when they register (accounts.services.register_customer), or on first
    use for users created another way (carts.services.get_or_create_customer_cart), and
    deleted with them.
    """

    customer = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="cart",
    )
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    objects = CartQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Cart of {self.customer}" if self.customer_id else f"Guest cart {self.token}"

    @property
    def currency(self) -> str:
        """ISO 4217 code of every amount in the cart: the store currency."""
        return settings.STORE_CURRENCY

    @property
    def is_guest(self) -> bool:
        return self.customer_id is None

    def total(self) -> Decimal:
        """Sum of the line totals at current list prices (store currency); uses prefetched
        items.

        Adds keep it within MAX_ORDER_TOTAL, but a price raised later can take it past.
        """
        return sum((item.line_total for item in self.items.all()), Decimal("0.00"))


class CartItem(TimeStampedModel):
    """One variant in a cart, with a quantity from 1 to MAX_CART_ITEM_QUANTITY."""

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    variant = models.ForeignKey(
        "catalog.ProductVariant", on_delete=models.CASCADE, related_name="cart_items"
    )
    quantity = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="carts_item_unique_variant"),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1, quantity__lte=MAX_CART_ITEM_QUANTITY),
                name="carts_item_quantity_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant_id}"

    @property
    def unit_price(self) -> Decimal:
        """The variant's current price, the list price (store currency): carts never freeze
        prices."""
        return self.variant.price

    @property
    def line_total(self) -> Decimal:
        """`quantity` units at the current list price, to the cent (pricing.quotes.line_total)."""
        return quotes.line_total(unit_price=self.variant.price, quantity=self.quantity)

    @property
    def is_available(self) -> bool:
        """Whether the variant is on sale and its stock covers `quantity` right now."""
        return self.variant.is_purchasable and self.variant.stock_quantity >= self.quantity
