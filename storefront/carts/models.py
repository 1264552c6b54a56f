"""Carts: one per customer (created with the customer), plus anonymous guest carts by token.

Prices in a cart are always the variants' current prices (store currency); they are frozen
only when the cart is checked out into an order.
"""

import uuid

from django.conf import settings
from django.db import models

from storefront.core.models import TimeStampedModel

MAX_CART_ITEM_QUANTITY = 1000


class Cart(TimeStampedModel):
    """A customer's cart (`customer` set, exactly one each) or a guest cart (`customer` null).

    Guests address their cart by `token`, a random UUID that only they know.
    """

    customer = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="cart",
    )
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    def __str__(self) -> str:
        return f"Cart of {self.customer}" if self.customer_id else f"Guest cart {self.token}"


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
