"""GET /api/products/facets/: the counts a product list's filters would give per category,
collection, tag, price band and stock state (storefront/catalog/facets.py; docs/catalog.md,
"Facets")."""

from decimal import Decimal

from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.filters import BaseFilterBackend
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from storefront.catalog import facets
from storefront.catalog.api.caching import cached_read
from storefront.catalog.api.filters import ProductFilter
from storefront.catalog.api.permissions import IsStaffOrReadOnly
from storefront.catalog.api.views import ProductViewSet
from storefront.catalog.models import Product
from storefront.core.api.filters import KnownQueryParameters
from storefront.core.api.formats import PRICE_FIELD
from storefront.core.api.schema import AutoSchema


class CategoryCountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.SlugField()
    name = serializers.CharField()
    count = serializers.IntegerField(help_text="Products in it or its descendants.")


class NamedCountSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    count = serializers.IntegerField()


def price_field(help_text: str, **kwargs) -> serializers.DecimalField:
    """A price as the API writes them (PRICE_FIELD: a decimal string, 2 places)."""
    return serializers.DecimalField(
        max_digits=PRICE_FIELD.max_digits,
        decimal_places=PRICE_FIELD.decimal_places,
        min_value=Decimal("0"),
        help_text=help_text,
        **kwargs,
    )


class PriceBandSerializer(serializers.Serializer):
    min = price_field("The band's lowest price (inclusive).")
    max = price_field("The band's highest price (inclusive).")
    count = serializers.IntegerField()


class PriceFacetSerializer(serializers.Serializer):
    min = price_field("The lowest product `price`; null without one.", allow_null=True)
    max = price_field("The highest product `price`; null without one.", allow_null=True)
    bands = PriceBandSerializer(many=True, help_text="At most 5 bands of one round width.")


class StockFacetSerializer(serializers.Serializer):
    true = serializers.IntegerField(help_text="Products with a variant in stock.")
    false = serializers.IntegerField(help_text="Products with none.")


class FacetsSerializer(serializers.Serializer):
    """The facets of storefront/catalog/facets.py; prices in the store currency."""

    count = serializers.IntegerField(help_text="Products matching every filter.")
    categories = CategoryCountSerializer(
        many=True,
        help_text="The children of the filtered category, or the roots without one.",
    )
    collections = NamedCountSerializer(many=True)
    tags = NamedCountSerializer(many=True)
    price = PriceFacetSerializer()
    in_stock = StockFacetSerializer()


class ListPagingParameters(BaseFilterBackend):
    """The product list's paging parameters (`page`, `page_size`...), taken and ignored, so
    that a client can send the list's query string as it is."""

    def filter_queryset(self, request, queryset, view):
        return queryset

    def get_schema_operation_parameters(self, view) -> list[dict]:
        paginator = ProductViewSet.pagination_class()
        return [
            {
                "name": parameter["name"],
                "required": False,
                "in": "query",
                "description": "Ignored: the product list's paging parameter, taken so that "
                "the list's query string can be sent as it is.",
                "schema": {"type": "string"},
            }
            for parameter in paginator.get_schema_operation_parameters(ProductViewSet())
        ]


class FacetsSchema(AutoSchema):
    """Documents the filters of a view that answers one object, not a list (drf-spectacular
    documents filter parameters only on lists)."""

    def get_filter_backends(self):
        return getattr(self.view, "filter_backends", [])


class ProductFacetsView(GenericAPIView):
    """The facets of the product list for its filters (storefront/catalog/facets.py)."""

    permission_classes = [IsStaffOrReadOnly]
    filter_backends = [KnownQueryParameters, DjangoFilterBackend, ListPagingParameters]
    filterset_class = ProductFilter
    # The model of the filters, for the schema and OPTIONS; who sees what is the selector's.
    queryset = Product.objects.none()
    serializer_class = FacetsSerializer
    pagination_class = None
    schema = FacetsSchema()

    @extend_schema(
        summary="Facets of the product list",
        description="The same filters and search as `GET /api/products/`; `ordering` is "
        "checked and ignored, the paging parameters ignored. `count`: the products matching "
        "every filter; each facet counts the products matching every filter but its own "
        "(choosing a tag still shows the other tags' counts): `categories` the children of "
        "the `category` filtered (the roots without one), counted with their descendants; "
        "`collections` without `collection`, `tags` without `tag`, `price` without "
        "`min_price`/`max_price`, `in_stock` without `in_stock`. Entries with no product "
        "are left out, except the chosen collection and tag. Prices are each product's "
        "`price` as the list shows it to the one asking (the member price of its lowest "
        "variant price at their tier; list prices for anonymous visitors), in the store "
        "currency; each band's `min` and `max` are inclusive, ready for `min_price` and "
        "`max_price`. Customers and anonymous visitors count published products only; staff "
        "all.",
        responses={200: FacetsSerializer},
    )
    def get(self, request, *args, **kwargs):
        # Before the cache, as the list: a cached answer must not hide an unknown parameter.
        KnownQueryParameters.check(request, self)
        # No product's stock version is recorded: a change of stock that moves no variant
        # across zero changes no count, and every other change invalidates all entries
        # (storefront/catalog/cache.py).
        return cached_read(request, lambda: Response(self._facets(request)), product_ids=tuple)

    def _facets(self, request) -> dict:
        filters = ProductFilter(request.query_params, request=request)
        if not filters.is_valid():
            raise translate_validation(filters.errors)
        result = facets.product_facets(user=request.user, filters=filters)
        return FacetsSerializer(result).data
