"""Variants by SKU, for a warehouse or an ERP: GET /api/variants/?sku=A-1,A-2 looks them up,
PATCH /api/variants/stock/ (staff) sets the stock and (list) prices of up to 1,000 at once.
And for shoppers: POST /api/variants/{id}/notify-me/ asks for an email when an out-of-stock
variant is back in stock.

The rules, with examples, are in docs/catalog.md ("SKU lookup and stock sync", "Back-in-stock
alerts"); errors have the one shape of docs/api.md. Prices are decimal strings in the store
currency (`currency`), stock quantities units on hand.
"""

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from storefront.catalog import selectors, services, stock
from storefront.catalog.api.permissions import IsStaffOrReadOnly
from storefront.catalog.api.serializers import MAX_INT
from storefront.catalog.models import ProductVariant
from storefront.core.api.filters import reject_unknown_query_parameters
from storefront.core.api.parsers import JSONParser
from storefront.core.api.schema import raises
from storefront.core.api.throttling import ClientAddressThrottle
from storefront.pricing import quotes

SKU_MAX_LENGTH = ProductVariant._meta.get_field("sku").max_length
MAX_LOOKUP_SKUS = 100
MAX_SYNC_LINES = 1000

# What the lookup's `sku` takes, for the OpenAPI schema: 1 to MAX_LOOKUP_SKUS SKUs of 1 to
# SKU_MAX_LENGTH characters, comma-separated (VariantLookupParamsSerializer.validate_sku).
SKU_LIST_PATTERN = (
    rf"^[^,]{{1,{SKU_MAX_LENGTH}}}(,[^,]{{1,{SKU_MAX_LENGTH}}}){{0,{MAX_LOOKUP_SKUS - 1}}}$"
)


class VariantStockSerializer(serializers.ModelSerializer):
    """A variant as the SKU endpoints show it: `price` the viewer's price (the member price
    of `list_price` at the viewer's tier; the list price for anonymous visitors) and
    `list_price` the variant's own, in `currency` (ISO 4217, the store currency);
    `stock_quantity` in units on hand, `product_id` its product's id. Reads each variant's
    `viewer_price` (selectors.with_viewer_prices)."""

    product_id = serializers.IntegerField(read_only=True)
    price = serializers.DecimalField(
        source="viewer_price",
        max_digits=12,
        decimal_places=2,
        read_only=True,
        help_text="The viewer's price: the member price at their tier, or the list price.",
    )
    list_price = serializers.DecimalField(
        source="price",
        max_digits=12,
        decimal_places=2,
        read_only=True,
        help_text="The variant's price before any member discount.",
    )
    currency = serializers.CharField(read_only=True)

    class Meta:
        model = ProductVariant
        fields = ["id", "sku", "product_id", "price", "list_price", "currency", "stock_quantity"]
        read_only_fields = fields


@extend_schema_field({"type": "string", "pattern": SKU_LIST_PATTERN, "example": "ABC-1,ABC-2"})
class SkuListField(serializers.CharField):
    """SKUs separated by commas, each read exactly as sent (no space is trimmed)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, **kwargs)


class VariantLookupParamsSerializer(serializers.Serializer):
    """The query of GET /api/variants/."""

    sku = SkuListField(
        help_text=f"Up to {MAX_LOOKUP_SKUS} SKUs, comma-separated, each matched exactly "
        f"(case-sensitive, at most {SKU_MAX_LENGTH} characters), e.g. `ABC-1,ABC-2`."
    )

    def validate_sku(self, value: str) -> list[str]:
        """The SKUs, each once, in the order first sent."""
        skus = value.split(",")
        problems = []
        if len(skus) > MAX_LOOKUP_SKUS:
            problems.append(f"At most {MAX_LOOKUP_SKUS} SKUs; {len(skus)} were sent.")
        if "" in skus:
            problems.append("An empty SKU: two commas in a row, or a comma at an end.")
        too_long = [n for n, sku in enumerate(skus, 1) if len(sku) > SKU_MAX_LENGTH]
        if too_long:
            positions = ", ".join(map(str, too_long[:10])) + (", ..." if len(too_long) > 10 else "")
            problems.append(f"SKUs have at most {SKU_MAX_LENGTH} characters (SKU {positions}).")
        if problems:
            raise serializers.ValidationError(problems)
        return list(dict.fromkeys(skus))


class StockLineSerializer(serializers.Serializer):
    """One line of a stock sync: a variant's `sku` and its new `stock_quantity` (units on
    hand), its new `price` (store currency) or both. Limits as in VariantWriteSerializer."""

    sku = serializers.CharField(max_length=SKU_MAX_LENGTH, trim_whitespace=False)
    stock_quantity = serializers.IntegerField(min_value=0, max_value=MAX_INT, required=False)
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "stock_quantity" not in attrs and "price" not in attrs:
            raise serializers.ValidationError("Send stock_quantity, price or both.")
        return attrs


class LinesField(serializers.ListField):
    """A ListField that refuses a list longer than `max_length` before validating its items,
    rather than after."""

    def to_internal_value(self, data: Any) -> list[Any]:
        if isinstance(data, list) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class StockSyncSerializer(serializers.Serializer):
    """The body of PATCH /api/variants/stock/: {"items": [line, ...]}, 1 to 1,000 lines."""

    # A ListField rather than many=True: the schema then states the maximum (maxItems).
    items = LinesField(child=StockLineSerializer(), allow_empty=False, max_length=MAX_SYNC_LINES)

    def validate_items(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each SKU once: every repeat is reported at its line, naming the first."""
        first_at: dict[str, int] = {}
        repeats = {}
        for index, line in enumerate(items):
            first = first_at.setdefault(line["sku"], index)
            if first != index:
                repeats[index] = {"sku": [f"Listed twice: already at items.{first}."]}
        if repeats:
            raise serializers.ValidationError(repeats)
        return items


class VariantLookupView(APIView):
    """Variants by SKU. Customers and anonymous visitors see purchasable variants only (those
    of published products, querysets.VariantQuerySet.purchasable); staff see all."""

    permission_classes = [IsStaffOrReadOnly]

    @extend_schema(
        summary="Look up variants by SKU",
        description=f"Up to {MAX_LOOKUP_SKUS} SKUs, comma-separated, matched exactly. "
        "Answers the variants found, in the order of `sku`; a SKU that matches no variant "
        "(or, for customers and anonymous visitors, a variant of an unpublished product) is "
        "absent from the answer. Not paginated. `price` is the viewer's price (the member "
        "price at their tier; list prices for anonymous visitors), `list_price` the "
        "variant's own.",
        parameters=[VariantLookupParamsSerializer],
        responses={200: VariantStockSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        """The variants of `sku`, in its order. One query, whatever the number of SKUs."""
        params = VariantLookupParamsSerializer(data=request.query_params)
        reject_unknown_query_parameters(request, params.fields)
        params.is_valid(raise_exception=True)
        variants = selectors.variants_by_sku(user=request.user, skus=params.validated_data["sku"])
        return Response(VariantStockSerializer(variants, many=True).data)


class VariantStockView(APIView):
    """Stock and prices of many variants at once, by SKU (staff): a warehouse's or an ERP's
    sync, all or nothing (services.sync_variants)."""

    permission_classes = [IsStaffOrReadOnly]
    # JSON only: a list of lines has no form encoding.
    parser_classes = [JSONParser]
    # The body is validated whole (core/api/schema.py documents it as required).
    partial_patch = False

    @extend_schema(
        summary="Set the stock and prices of variants by SKU (staff)",
        description=f"1 to {MAX_SYNC_LINES} lines, each a `sku` with its new `stock_quantity` "
        "(units on hand), `price` (the list price, store currency) or both. One transaction: "
        "any bad line (unknown SKU, a SKU listed twice, a bad value, neither field) answers "
        "400 naming it in `fields` (`items.<index>.<field>`) and nothing changes. Answers the "
        "variants as now stored, in the order of the lines, in the lookup's shape "
        "(`list_price` the price set, `price` the staff member's own price of it). A stock "
        "falling below LOW_STOCK_THRESHOLD opens a low-stock alert, as every change of stock "
        "does.",
        request=StockSyncSerializer,
        responses={200: VariantStockSerializer(many=True)},
    )
    def patch(self, request: Request) -> Response:
        """Apply the lines; answer the variants in the GET shape, in the order of the lines.

        A fixed number of queries whatever the number of lines (services.sync_variants),
        and one for the staff member's tier percentage (the answer's `price`).
        """
        serializer = StockSyncSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            variants = services.sync_variants(lines=serializer.validated_data["items"])
        except DjangoValidationError as error:
            # The service names lines by index; shown at their `sku`, nested as the
            # serializer nests the errors of a line: {"items": {"3": {"sku": [...]}}}.
            by_line = {index: {"sku": messages} for index, messages in error.message_dict.items()}
            raise ValidationError({"items": by_line}) from error
        percentage = quotes.tier_discount(quotes.membership_of(request.user))
        selectors.with_viewer_prices(variants, percentage)
        return Response(VariantStockSerializer(variants, many=True).data)


class NotifyMeSerializer(serializers.Serializer):
    """The body of POST /api/variants/{id}/notify-me/: a guest's `email`; a signed-in
    customer sends none (an `email` sent is ignored: their account's is used)."""

    email = serializers.EmailField(
        max_length=254,
        required=False,
        help_text="Guests only, required for them: where to send the alert. Customers are "
        "emailed at their account's address.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not self.context["request"].user.is_authenticated and not attrs.get("email"):
            raise ValidationError({"email": ["This field is required."]})
        return attrs


class NotifyMeAnswerSerializer(serializers.Serializer):
    """What POST /api/variants/{id}/notify-me/ answers: the variant and where the alert goes."""

    variant_id = serializers.IntegerField()
    email = serializers.EmailField()


class VariantNotifyMeView(APIView):
    """A back-in-stock alert of one variant, for a customer or a guest
    (stock.subscribe_back_in_stock)."""

    permission_classes = [AllowAny]
    throttle_classes = [ClientAddressThrottle]
    throttle_scope = "notify_me"

    @extend_schema(
        summary="Ask for an email when a variant is back in stock",
        description="For a variant that is out of stock (`stock_quantity` 0) and on sale: one "
        "email goes out when its stock next rises above zero, whatever raises it, and the "
        "alert then ends. A signed-in customer is emailed at their account's address (no "
        "body needed); a guest sends `email`. Asking again while the alert is open keeps "
        "the one alert (202 again). 409 `in_stock` for a variant in stock, 404 for one "
        "that does not exist or is not on sale; nothing is stored then. 429 `throttled` "
        "beyond the `notify_me` rate per client address (THROTTLE_RATE_NOTIFY_ME).",
        request=NotifyMeSerializer,
        responses={202: NotifyMeAnswerSerializer},
    )
    @raises(stock.VariantNotFound, stock.VariantInStock)
    def post(self, request: Request, pk: int) -> Response:
        """Subscribe the caller to variant `pk`'s return to stock; 202 + {variant_id, email}."""
        serializer = NotifyMeSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        customer = request.user if request.user.is_authenticated else None
        email = stock.subscribe_back_in_stock(
            variant_id=pk, customer=customer, email=serializer.validated_data.get("email", "")
        )
        return Response({"variant_id": pk, "email": email}, status=status.HTTP_202_ACCEPTED)
