"""Cart representations and inputs. Amounts are decimal strings in `currency` (ISO 4217)."""

from rest_framework import serializers

from storefront.carts.models import MAX_CART_ITEM_QUANTITY, Cart, CartItem
from storefront.catalog.models import Product, ProductVariant


class CartProductSerializer(serializers.ModelSerializer):
    image = serializers.SerializerMethodField(
        help_text="Absolute URL of the product's first image, or null."
    )

    class Meta:
        model = Product
        fields = ["id", "slug", "name", "image"]

    def get_image(self, product: Product) -> str | None:
        # The images are prefetched in display order (selectors.load_cart_contents).
        first = next(iter(product.images.all()), None)
        if first is None:
            return None
        request = self.context.get("request")
        url = first.image.url
        return request.build_absolute_uri(url) if request is not None else url


class CartVariantSerializer(serializers.ModelSerializer):
    product = CartProductSerializer()

    class Meta:
        model = ProductVariant
        fields = ["id", "sku", "name", "product"]


class CartItemSerializer(serializers.ModelSerializer):
    variant = CartVariantSerializer()
    unit_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="The variant's current price."
    )
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    available = serializers.BooleanField(
        source="is_available",
        help_text="Whether the product is on sale and its stock covers the quantity now.",
    )

    class Meta:
        model = CartItem
        fields = ["id", "variant", "quantity", "unit_price", "line_total", "available"]
        read_only_fields = fields


class CartSerializer(serializers.ModelSerializer):
    """{id, items, total, currency}: a cart at current prices (use after load_cart_contents)."""

    items = CartItemSerializer(many=True)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField(help_text="ISO 4217 code of every amount.")

    class Meta:
        model = Cart
        fields = ["id", "items", "total", "currency"]
        read_only_fields = fields


class GuestCartSerializer(CartSerializer):
    """A guest cart: the customer cart's shape plus its `token`, the guest's key to it."""

    class Meta(CartSerializer.Meta):
        fields = ["id", "token", "items", "total", "currency"]
        read_only_fields = fields


class AddCartItemSerializer(serializers.Serializer):
    variant_id = serializers.PrimaryKeyRelatedField(
        queryset=ProductVariant.objects.filter(product__is_published=True).select_related(
            "product"
        ),
        help_text="A variant of a published product.",
    )
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
