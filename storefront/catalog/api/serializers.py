"""JSON shapes of the catalog API. Prices: decimal strings in the store currency."""

from collections import Counter
from decimal import Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from storefront.catalog.models import (
    Category,
    Collection,
    Product,
    ProductImage,
    ProductVariant,
    Tag,
)
from storefront.core.api.formats import PRICE_FIELD
from storefront.core.api.parsers import text_error
from storefront.pricing import quotes
from storefront.pricing.models import MAX_WEIGHT_GRAMS

# PostgreSQL `integer`, the column type of stock quantities and sort orders.
MAX_INT = 2**31 - 1
MAX_ATTRIBUTES = 50


# --- Read ----------------------------------------------------------------------------------


class CategoryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "slug", "name"]


class CollectionRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Collection
        fields = ["id", "slug", "name"]


class TagSerializer(serializers.ModelSerializer):
    """A tag: {id, slug, name}; the slug is unique."""

    class Meta:
        model = Tag
        fields = ["id", "slug", "name"]


class ImageSerializer(serializers.ModelSerializer):
    """A product image: `url` is absolute."""

    url = serializers.SerializerMethodField()

    class Meta:
        model = ProductImage
        fields = ["id", "url", "alt"]

    def get_url(self, image: ProductImage) -> str:
        url = image.image.url
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class UploadedImageSerializer(ImageSerializer):
    class Meta(ImageSerializer.Meta):
        fields = ["id", "url", "alt", "sort_order"]


def viewer_price(list_price: Decimal, context: dict[str, Any]) -> str:
    """`list_price` as the viewer pays it, as PRICE_FIELD writes it: quotes.member_price at
    the percentage of the serializer's `context` (`percentage`, the viewer's tier's; absent:
    0, an anonymous visitor's list price)."""
    percentage = context.get("percentage", Decimal("0"))
    return PRICE_FIELD.to_representation(quotes.member_price(list_price, percentage))


class VariantSerializer(serializers.ModelSerializer):
    """A variant (SKU): `price` the viewer's price (the member price of `list_price` at the
    viewer's tier, the list price for an anonymous visitor) and `list_price` the variant's
    own, both in the store currency; `stock_quantity` in units on hand; `weight_grams` one
    unit's shipping weight in grams (null: unknown). Context: `percentage`, the viewer's tier
    percentage (viewer_price)."""

    price = serializers.SerializerMethodField()
    list_price = serializers.DecimalField(
        source="price", max_digits=12, decimal_places=2, read_only=True
    )

    class Meta:
        model = ProductVariant
        fields = [
            "id",
            "sku",
            "name",
            "price",
            "list_price",
            "stock_quantity",
            "attributes",
            "weight_grams",
        ]

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=2))
    def get_price(self, variant: ProductVariant) -> str:
        return viewer_price(variant.price, self.context)


class RatingSerializer(serializers.Serializer):
    """A product's rating: the `average` of its approved reviews' ratings (1 to 5), a
    decimal string rounded half up to 2 decimals ("4.33"; null without an approved review),
    and their `count`."""

    average = serializers.DecimalField(
        source="rating_average", max_digits=3, decimal_places=2, allow_null=True, read_only=True
    )
    count = serializers.IntegerField(source="rating_count", read_only=True)


class ProductSerializer(serializers.ModelSerializer):
    """A product as shown in the list and detail.

    `list_price` is the lowest variant price and `price` the viewer's price of it (the
    member price at the viewer's tier; the list price for an anonymous visitor), decimal
    strings (null without variants) in `currency` (ISO 4217, settings.STORE_CURRENCY); the
    variants' prices likewise. Context: `percentage`, the viewer's tier percentage
    (viewer_price; absent: list prices), and `request` for absolute image URLs.
    `in_stock` says whether any variant has stock; `tax_class` ("standard", "reduced" or
    "zero") says which of a country's tax rates its lines are taxed at (docs/taxes.md);
    `rating` the average and count of its approved reviews (RatingSerializer). The
    API builds this shape in SQL (catalog/documents.py); the fields declared here define it
    for the OpenAPI schema, and test_documents.py checks that the two agree on instances
    with their variants, images, collections and tags prefetched.
    """

    category = CategoryRefSerializer(read_only=True)
    collections = CollectionRefSerializer(many=True, read_only=True)
    tags = TagSerializer(many=True, read_only=True)
    images = ImageSerializer(many=True, read_only=True)
    price = serializers.SerializerMethodField()
    list_price = serializers.SerializerMethodField()
    currency = serializers.SerializerMethodField()
    in_stock = serializers.SerializerMethodField()
    rating = RatingSerializer(source="*", read_only=True)
    variants = VariantSerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "slug",
            "name",
            "description",
            "category",
            "collections",
            "tags",
            "images",
            "price",
            "list_price",
            "currency",
            "in_stock",
            "is_published",
            "tax_class",
            "rating",
            "variants",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True))
    def get_price(self, product: Product) -> str | None:
        prices = [variant.price for variant in product.variants.all()]
        return viewer_price(min(prices), self.context) if prices else None

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True))
    def get_list_price(self, product: Product) -> str | None:
        prices = [variant.price for variant in product.variants.all()]
        return PRICE_FIELD.to_representation(min(prices)) if prices else None

    def get_currency(self, product: Product) -> str:
        return settings.STORE_CURRENCY

    def get_in_stock(self, product: Product) -> bool:
        return any(variant.stock_quantity > 0 for variant in product.variants.all())


class CategoryTreeSerializer(serializers.ModelSerializer):
    """A category with its `parent` id (null for a root) and nested `children`, sorted by name.

    Reads the `tree_parent_id` and `tree_children` that selectors.category_tree() attaches.
    """

    parent = serializers.IntegerField(source="tree_parent_id", read_only=True, allow_null=True)
    # A method, not a nested serializer field: a field declaring its own serializer would be
    # built again at every level by whatever walks the fields (OPTIONS metadata), forever.
    children = serializers.SerializerMethodField()

    class Meta:
        model = Category
        fields = ["id", "slug", "name", "description", "parent", "children"]

    @extend_schema_field({"type": "array", "items": {"$ref": "#/components/schemas/CategoryTree"}})
    def get_children(self, category: Category) -> list[dict[str, Any]]:
        return CategoryTreeSerializer(category.tree_children, many=True, context=self.context).data


class CollectionSerializer(serializers.ModelSerializer):
    """A collection: {id, slug, name, description}; the slug is unique."""

    class Meta:
        model = Collection
        fields = ["id", "slug", "name", "description"]


# --- Write ---------------------------------------------------------------------------------


class VariantWriteSerializer(serializers.Serializer):
    """A variant as written. `id`: only on update, to change that variant instead of adding one.

    SKU uniqueness needs the database and is checked by the service (services.py).
    """

    id = serializers.IntegerField(required=False, min_value=1)
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))
    stock_quantity = serializers.IntegerField(min_value=0, max_value=MAX_INT, default=0)
    attributes = serializers.JSONField(required=False, default=dict)
    weight_grams = serializers.IntegerField(
        min_value=0,
        max_value=MAX_WEIGHT_GRAMS,
        allow_null=True,
        required=False,
        help_text="One unit's shipping weight in grams (null: unknown, shipped as 0 g).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A PATCH skips missing fields, so a new variant's required fields are checked here.
        if "id" not in attrs:
            missing = {f: ["This field is required."] for f in ("sku", "price") if f not in attrs}
            if missing:
                raise serializers.ValidationError(missing)
        return attrs

    def validate_attributes(self, value: Any) -> dict[str, Any]:
        """A flat JSON object, e.g. {"Size": "M", "Color": "Blue"}: values are strings,
        numbers, booleans or null, or lists of those."""
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        if len(value) > MAX_ATTRIBUTES:
            raise serializers.ValidationError(f"At most {MAX_ATTRIBUTES} attributes.")
        for key, item in value.items():
            # jsonb cannot store a NUL, UTF-8 cannot encode a lone surrogate. The key itself
            # is not echoed back: it may be the string refused.
            problem = text_error(key)
            if problem is not None:
                raise serializers.ValidationError(f"In a key: {problem}")
            items = item if isinstance(item, list) else [item]
            for scalar in items:
                if not (scalar is None or isinstance(scalar, str | int | float | bool)):
                    raise serializers.ValidationError(
                        f"{key}: values must be strings, numbers, booleans or null."
                    )
                problem = text_error(scalar) if isinstance(scalar, str) else None
                if problem is not None:
                    raise serializers.ValidationError(f"{key}: {problem}")
        return value


class ProductWriteSerializer(serializers.ModelSerializer):
    """A product as staff write it: variants nested, category/collections/tags by id,
    `tax_class` one of "standard" (the default), "reduced", "zero".

    On update, `variants` (when sent) replaces the product's variants: see
    services.update_product.
    """

    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all())
    collections = serializers.PrimaryKeyRelatedField(
        queryset=Collection.objects.all(), many=True, required=False
    )
    tags = serializers.PrimaryKeyRelatedField(queryset=Tag.objects.all(), many=True, required=False)
    variants = VariantWriteSerializer(many=True, allow_empty=False)

    class Meta:
        model = Product
        fields = [
            "name",
            "slug",
            "description",
            "category",
            "collections",
            "tags",
            "is_published",
            "tax_class",
            "variants",
        ]

    def validate_variants(self, variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
        skus = Counter(v["sku"] for v in variants if "sku" in v)
        repeated_skus = sorted(sku for sku, count in skus.items() if count > 1)
        if repeated_skus:
            raise serializers.ValidationError(f"SKU listed twice: {', '.join(repeated_skus)}.")
        ids = [v["id"] for v in variants if "id" in v]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError("A variant id is listed twice.")
        return variants


class CategoryWriteSerializer(serializers.ModelSerializer):
    """A category as staff write it. `parent`: id, or null for a root; omitted on update
    leaves the category where it is."""

    parent = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = Category
        fields = ["name", "slug", "description", "parent"]


class ImageUploadSerializer(serializers.Serializer):
    """multipart/form-data: `image` (the file), optional `alt` text and `sort_order`."""

    image = serializers.FileField()
    alt = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    sort_order = serializers.IntegerField(min_value=0, max_value=MAX_INT, default=0)
