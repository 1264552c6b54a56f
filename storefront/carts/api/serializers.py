"""Cart representations and inputs. Amounts are decimal strings in `currency` (ISO 4217)."""

import contextlib
from typing import Any

from rest_framework import serializers

from storefront.carts.models import MAX_CART_ITEM_QUANTITY, Cart, CartItem
from storefront.catalog.models import Product, ProductImage, ProductVariant
from storefront.core.api.formats import PRICE_FIELD
from storefront.core.models import MAX_ID, is_valid_id

IMAGE_STORAGE = ProductImage._meta.get_field("image").storage
# A cart's line totals and total: no cap on digits. Adds keep a cart's total within what an
# order records (DECIMAL(14, 2)), but a price raised later can take a cart past it, and
# the cart must still show (checkout then refuses it, order_too_large).
CART_AMOUNT_FIELD = serializers.DecimalField(max_digits=None, decimal_places=2)


class CartProductSerializer(serializers.ModelSerializer):
    image = serializers.SerializerMethodField(
        help_text="Absolute URL of the product's first image, or null."
    )

    class Meta:
        model = Product
        fields = ["id", "slug", "name", "image"]

    def get_image(self, product: Product) -> str | None:
        # The first image's file name, read with the cart (selectors.load_cart_contents).
        if not product.first_image:
            return None
        request = self.context.get("request")
        url = IMAGE_STORAGE.url(product.first_image)
        return request.build_absolute_uri(url) if request is not None else url


class CartVariantSerializer(serializers.ModelSerializer):
    product = CartProductSerializer()

    class Meta:
        model = ProductVariant
        fields = ["id", "sku", "name", "product"]


class CartItemSerializer(serializers.ModelSerializer):
    """A cart item at current prices, for the cart's customer (selectors.load_cart_contents)."""

    variant = CartVariantSerializer()
    list_price = serializers.DecimalField(
        source="variant.price",
        max_digits=12,
        decimal_places=2,
        help_text="The variant's current price, before any member discount.",
    )
    unit_price = serializers.DecimalField(
        source="member_unit_price",
        max_digits=12,
        decimal_places=2,
        help_text="The price of one unit for the cart's customer: the member price of "
        "list_price at their membership's tier (a guest cart: the list price).",
    )
    line_total = serializers.DecimalField(
        source="member_line_total",
        max_digits=None,
        decimal_places=2,
        help_text="unit_price x quantity, to the cent.",
    )
    available = serializers.BooleanField(
        source="is_available",
        help_text="Whether the product is on sale and its stock covers the quantity now.",
    )

    class Meta:
        model = CartItem
        fields = [
            "id",
            "variant",
            "quantity",
            "list_price",
            "unit_price",
            "line_total",
            "available",
        ]
        read_only_fields = fields


class CartSerializer(serializers.ModelSerializer):
    """{id, items, total, currency}: a cart at current prices, its customer's member prices
    (use after load_cart_contents, which computes them)."""

    items = CartItemSerializer(many=True)
    total = serializers.DecimalField(
        source="member_total",
        max_digits=None,
        decimal_places=2,
        help_text="The sum of the line totals.",
    )
    currency = serializers.CharField(help_text="ISO 4217 code of every amount.")

    class Meta:
        model = Cart
        fields = ["id", "items", "total", "currency"]
        read_only_fields = fields

    def to_representation(self, cart: Cart) -> dict[str, Any]:
        # Built by hand: every add to cart answers with the whole cart, and DRF builds each
        # nested ModelSerializer's fields afresh per response, which cost more than the SQL.
        # The declared fields still define the shape (and the OpenAPI schema);
        # carts/tests/test_serializers.py checks that this output equals theirs.
        product_serializer = CartProductSerializer(context=self.context)
        items = []
        for item in cart.items.all():
            variant = item.variant
            product = variant.product
            items.append(
                {
                    "id": item.pk,
                    "variant": {
                        "id": variant.pk,
                        "sku": variant.sku,
                        "name": variant.name,
                        "product": {
                            "id": product.pk,
                            "slug": product.slug,
                            "name": product.name,
                            "image": product_serializer.get_image(product),
                        },
                    },
                    "quantity": item.quantity,
                    "list_price": PRICE_FIELD.to_representation(variant.price),
                    "unit_price": PRICE_FIELD.to_representation(item.member_unit_price),
                    "line_total": CART_AMOUNT_FIELD.to_representation(item.member_line_total),
                    "available": item.is_available,
                }
            )
        return {
            "id": cart.pk,
            "items": items,
            "total": CART_AMOUNT_FIELD.to_representation(cart.member_total),
            "currency": cart.currency,
        }


class GuestCartSerializer(CartSerializer):
    """A guest cart: the customer cart's shape plus its `token`, the guest's key to it."""

    class Meta(CartSerializer.Meta):
        fields = ["id", "token", "items", "total", "currency"]
        read_only_fields = fields

    def to_representation(self, cart: Cart) -> dict[str, Any]:
        data = super().to_representation(cart)
        return {"id": data.pop("id"), "token": str(cart.token), **data}


class VariantIdField(serializers.IntegerField):
    """A variant id, checked without a query: an int (or a string of digits, as form data
    sends it) from 1 to MAX_ID. Whether that variant exists and is purchasable is the add's
    to say (services.add_to_cart, VariantUnavailable), which the view reports on this field
    with `does_not_exist`. The messages are those of DRF's PrimaryKeyRelatedField."""

    default_error_messages = serializers.PrimaryKeyRelatedField.default_error_messages

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)

    def to_internal_value(self, data: object) -> int:
        data_type = type(data).__name__
        if isinstance(data, float) and data.is_integer():
            data = int(data)
        elif isinstance(data, str) and len(data) <= self.MAX_STRING_LENGTH:
            with contextlib.suppress(ValueError):
                data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=data_type)
        if not is_valid_id(data):
            self.fail("does_not_exist", pk_value=data)
        return data


class AddCartItemSerializer(serializers.Serializer):
    variant_id = VariantIdField(help_text="A variant of a published product.")
    quantity = serializers.IntegerField(
        min_value=1, max_value=MAX_CART_ITEM_QUANTITY, default=1, help_text="Units to add."
    )


class UpdateCartItemSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(
        min_value=1, max_value=MAX_CART_ITEM_QUANTITY, help_text="The item's new quantity."
    )


class TokenField(serializers.UUIDField):
    """A UUID written as a string (DRF's UUIDField would also take an integer)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class MergeCartSerializer(serializers.Serializer):
    token = TokenField(help_text="The guest cart's token.")
