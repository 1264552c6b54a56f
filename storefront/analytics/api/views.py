"""Sales analytics for staff: GET only; anonymous callers get 401, customers 403.

Query parameters are validated (400 in the standard error shape, docs/api.md) before any
query runs; every endpoint runs a fixed number of SQL aggregations (docs/analytics.md).
"""

import csv

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from storefront.analytics import selectors
from storefront.analytics.api import serializers
from storefront.core.api.filters import reject_unknown_query_parameters


class AnalyticsView(APIView):
    permission_classes = [IsAdminUser]
    params_class = serializers.PeriodParamsSerializer

    def params(self, request) -> dict:
        params = self.params_class(data=request.query_params)
        reject_unknown_query_parameters(request, params.fields)
        params.is_valid(raise_exception=True)
        return params.validated_data


class SummaryView(AnalyticsView):
    @extend_schema(
        parameters=[serializers.PeriodParamsSerializer],
        responses=serializers.SummarySerializer,
    )
    def get(self, request):
        """Revenue (gross and net of tax), its parts (subtotal, discounts, shipping, tax),
        order count, average order value and units sold over a period.

        Cancelled orders are excluded; `refunded` is what succeeded refunds of the period's
        orders gave back, whenever made, and `revenue_after_refunds` the revenue less it.
        Amounts are strings in `currency`.
        """
        params = self.params(request)
        summary = selectors.sales_summary(period=params["period"])
        return Response(serializers.SummarySerializer({**summary, **params}).data)


class TopProductsView(AnalyticsView):
    params_class = serializers.TopProductsParamsSerializer

    @extend_schema(
        parameters=[serializers.TopProductsParamsSerializer],
        responses=serializers.TopProductsSerializer,
    )
    def get(self, request):
        """The `limit` best-selling products of a period, by units sold and by revenue after
        refunds."""
        params = self.params(request)
        ranking = selectors.top_products(period=params["period"], limit=params["limit"])
        return Response(serializers.TopProductsSerializer({**ranking, **params}).data)


class SalesView(AnalyticsView):
    params_class = serializers.SalesParamsSerializer

    @extend_schema(
        parameters=[serializers.SalesParamsSerializer],
        responses=serializers.SalesSeriesSerializer,
    )
    def get(self, request):
        """Orders, units and revenue per day, week or month; empty periods count zero."""
        params = self.params(request)
        series = selectors.sales_series(period=params["period"], interval=params["interval"])
        return Response(serializers.SalesSeriesSerializer({"results": series, **params}).data)


class SalesCsvView(SalesView):
    @extend_schema(
        parameters=[serializers.SalesParamsSerializer],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
    )
    def get(self, request):
        """The sales series as CSV: period_start,orders,items,revenue,currency."""
        params = self.params(request)
        series = selectors.sales_series(period=params["period"], interval=params["interval"])
        points = serializers.SalesSeriesSerializer({"results": series, **params}).data
        period = params["period"]
        filename = f"sales-{params['interval']}-{period.start}-{period.end}.csv"
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        writer = csv.writer(response)
        writer.writerow(["period_start", "orders", "items", "revenue", "currency"])
        for point in points["results"]:
            writer.writerow(
                [
                    point["period_start"],
                    point["orders"],
                    point["items"],
                    point["revenue"],
                    points["currency"],
                ]
            )
        return response


class RevenueByCategoryView(AnalyticsView):
    @extend_schema(
        parameters=[serializers.PeriodParamsSerializer],
        responses=serializers.RevenueByCategorySerializer,
    )
    def get(self, request):
        """Revenue (before and after refunds) and units per top-level category
        (sub-categories rolled up), highest revenue after refunds first."""
        params = self.params(request)
        rows = selectors.revenue_by_category(period=params["period"])
        return Response(serializers.RevenueByCategorySerializer({"results": rows, **params}).data)


class DiscountsView(AnalyticsView):
    @extend_schema(
        parameters=[serializers.PeriodParamsSerializer],
        responses=serializers.DiscountsSerializer,
    )
    def get(self, request):
        """How each promotion, voucher and membership discount was used over a period: the
        orders that applied it, what it took off and those orders' revenue (most used
        first). Cancelled orders are excluded."""
        params = self.params(request)
        usage = selectors.discount_usage(period=params["period"])
        return Response(serializers.DiscountsSerializer({**usage, **params}).data)


class RefundsView(AnalyticsView):
    @extend_schema(
        parameters=[serializers.PeriodParamsSerializer],
        responses=serializers.RefundsReportSerializer,
    )
    def get(self, request):
        """The succeeded refunds made over a period (by the date of the refund, whatever the
        order's): their count and amount, per source, per reason (10 most frequent) and the
        10 most refunded products. Amounts are what customers got back, tax included."""
        params = self.params(request)
        report = selectors.refunds_report(period=params["period"])
        return Response(serializers.RefundsReportSerializer({**report, **params}).data)
