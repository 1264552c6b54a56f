"""GET /api/catalog/export/?format=csv|json: the whole catalog as a file, for staff
(docs/export.md).

`format` names the file, not a renderer (storefront/core/api/files.py, StaffFileView).
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers

from storefront.catalog.exports import iter_catalog_csv, iter_catalog_json
from storefront.core.api.files import StaffFileView, streamed_file
from storefront.core.api.filters import reject_unknown_query_parameters
from storefront.pricing.models import TaxClass

EXPORTS = {"csv": iter_catalog_csv, "json": iter_catalog_json}
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


class CatalogExportParamsSerializer(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=sorted(EXPORTS),
        required=False,
        default="csv",
        help_text="The file's format: csv (one row per variant, default) or json (products "
        "with their variants nested).",
    )


class ExportVariantSerializer(serializers.Serializer):
    """A variant of the JSON export (the schema's declaration; exports.py writes it)."""

    sku = serializers.CharField()
    variant_name = serializers.CharField(allow_blank=True)
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, help_text="Store currency, e.g. 19.99."
    )
    stock_quantity = serializers.IntegerField(min_value=0)
    weight_grams = serializers.IntegerField(min_value=0, allow_null=True)
    attributes = serializers.DictField()


class ExportProductSerializer(serializers.Serializer):
    """A product of the JSON export, its variants nested (the schema's declaration;
    exports.py writes it, and a test holds the two to the same keys)."""

    product_slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    category = serializers.CharField(help_text='Its path from the root: "Books > Hacking".')
    collections = serializers.ListField(child=serializers.CharField(), help_text="By name.")
    tags = serializers.ListField(child=serializers.CharField(), help_text="By name.")
    published = serializers.BooleanField()
    tax_class = serializers.ChoiceField(choices=TaxClass.choices)
    images = serializers.ListField(
        child=serializers.CharField(),
        help_text="In display order: where an import took each from, else its stored file name.",
    )
    variants = ExportVariantSerializer(many=True)


FILE_DESCRIPTION = (
    "The catalog file: with format=csv the header, then one row per variant; with "
    "format=json the products, each with its variants."
)


class CatalogExportView(StaffFileView):
    @extend_schema(
        parameters=[CatalogExportParamsSerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=FILE_DESCRIPTION),
            (200, "application/json"): OpenApiResponse(
                ExportProductSerializer(many=True), description=FILE_DESCRIPTION
            ),
        },
    )
    def get(self, request):
        """Every product (unpublished ones included) with its variants, as the catalog file
        that `import_catalog` reads back unchanged: CSV (text/csv, UTF-8, the columns of
        docs/export.md) or JSON (application/json). Streamed as an attachment,
        catalog-YYYYMMDD.csv or .json (the store's date). 401 without credentials, 403 for a
        customer, 400 for a format other than csv or json."""
        params = CatalogExportParamsSerializer(data=request.query_params)
        reject_unknown_query_parameters(request, params.fields)
        params.is_valid(raise_exception=True)
        kind = params.validated_data["format"]
        return streamed_file(
            EXPORTS[kind](), content_type=CONTENT_TYPES[kind], stem="catalog", extension=kind
        )
