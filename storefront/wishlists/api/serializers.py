"""Wishlist representations and inputs. Amounts are decimal strings in `currency` (ISO 4217)."""

from rest_framework import serializers

from storefront.carts.api.serializers import CartProductSerializer, VariantIdField
from storefront.carts.models import MAX_CART_ITEM_QUANTITY
from storefront.catalog.models import ProductVariant
from storefront.wishlists.models import WishlistItem


class WishlistVariantSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProductVariant
        fields = ["id", "sku", "name"]
        read_only_fields = fields


class WishlistItemSerializer(serializers.ModelSerializer):
    """A wishlist item at current prices, for the viewer (selectors.wishlist_items)."""

    product = CartProductSerializer(
        source="shown_product", help_text="The product (a variant item: its variant's)."
    )
    variant = WishlistVariantSerializer(
        allow_null=True, help_text="The variant kept, or null for the product as a whole."
    )
    list_price = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        help_text="The variant's current price or, for a product, its lowest variant price "
        "(null without variants), before any member discount.",
    )
    price = serializers.DecimalField(
        source="viewer_price",
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        help_text="list_price for the viewer: the member price at their membership's tier "
        "(a guest: the list price).",
    )
    available = serializers.BooleanField(
        source="is_available",
        help_text="Whether it can be bought now: the product is published and the variant "
        "(for a product, any variant) is in stock.",
    )
    added_at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = WishlistItem
        fields = ["id", "product", "variant", "list_price", "price", "available", "added_at"]
        read_only_fields = fields


class WishlistSerializer(serializers.Serializer):
    """{items, count, currency}: a wishlist, newest first, at the viewer's prices."""

    items = WishlistItemSerializer(many=True)
    count = serializers.IntegerField(help_text="How many items (at most 200).")
    currency = serializers.CharField(help_text="ISO 4217 code of every amount.")


class GuestWishlistSerializer(serializers.Serializer):
    """A guest's wishlist: {token, items, count, currency}, the customer's shape plus the
    guest cart's token, the key to both."""

    token = serializers.UUIDField(help_text="The guest cart's token.")
    items = WishlistItemSerializer(many=True)
    count = serializers.IntegerField(help_text="How many items (at most 200).")
    currency = serializers.CharField(help_text="ISO 4217 code of every amount.")


class AddWishlistItemSerializer(serializers.Serializer):
    product_id = VariantIdField(help_text="A published product.")
    variant_id = VariantIdField(
        required=False, allow_null=True, help_text="One of the product's variants (optional)."
    )


class MoveToCartSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(
        min_value=1, max_value=MAX_CART_ITEM_QUANTITY, default=1, help_text="Units to add."
    )
    variant_id = VariantIdField(
        required=False,
        help_text="The variant to add, one of the item's product's: by default the item's "
        "own; required for an item that names a product only.",
    )
