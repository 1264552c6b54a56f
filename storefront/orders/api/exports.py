"""GET /api/orders/export/?format=csv&date_from=&date_to=: the order items of a period as
CSV, for staff (docs/export.md).

`format` names the file, not a renderer (storefront/core/api/files.py, StaffFileView).
"""

import datetime as dt

from django.core.validators import MaxValueValidator, MinValueValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers

from storefront.core.api.files import StaffFileView, streamed_file
from storefront.core.api.filters import reject_unknown_query_parameters
from storefront.orders.exports import iter_order_items_csv

# No order was placed before 1970, and the day after 9999-12-31 does not exist: bounds that
# keep the date arithmetic in range (as the analytics endpoints do).
DATE_BOUNDS = [MinValueValidator(dt.date(1970, 1, 1)), MaxValueValidator(dt.date(2999, 12, 31))]


class OrderExportParamsSerializer(serializers.Serializer):
    """`format`: csv (the only one); `date_from`, `date_to`: ISO dates (YYYY-MM-DD) in the
    store's time zone, both included, each optional (no bound); `date_from` must not be after
    `date_to`."""

    format = serializers.ChoiceField(
        choices=["csv"], required=False, default="csv", help_text="csv, the only format."
    )
    date_from = serializers.DateField(
        required=False,
        validators=DATE_BOUNDS,
        help_text="Orders placed on this date or later (store time zone).",
    )
    date_to = serializers.DateField(
        required=False,
        validators=DATE_BOUNDS,
        help_text="Orders placed on this date or earlier (store time zone).",
    )

    def validate(self, attrs: dict) -> dict:
        date_from, date_to = attrs.get("date_from"), attrs.get("date_to")
        if date_from and date_to and date_from > date_to:
            raise serializers.ValidationError(
                {"date_from": ["Must be on or before date_to."]}, code="invalid"
            )
        return attrs


class OrderExportView(StaffFileView):
    @extend_schema(
        parameters=[OrderExportParamsSerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="The header, then one row per order item."
            )
        },
    )
    def get(self, request):
        """The items of the orders placed from `date_from` to `date_to` (store time zone,
        inclusive), one CSV row each with its order's amounts and refunded total (columns in
        docs/export.md), oldest order first. Streamed as an attachment, orders-YYYYMMDD.csv
        (today in the store's time zone). 401 without credentials, 403 for a customer, 400
        for a bad date, `date_from` after `date_to`, or a format other than csv."""
        params = OrderExportParamsSerializer(data=request.query_params)
        reject_unknown_query_parameters(request, params.fields)
        params.is_valid(raise_exception=True)
        chunks = iter_order_items_csv(
            date_from=params.validated_data.get("date_from"),
            date_to=params.validated_data.get("date_to"),
        )
        return streamed_file(
            chunks, content_type="text/csv; charset=utf-8", stem="orders", extension="csv"
        )
