"""Query parameters and response shapes of the analytics endpoints."""

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from rest_framework import serializers

from storefront.analytics.selectors import INTERVALS, DateRange, default_date_range, period_starts

# Dates outside these bounds cannot be real order dates, and would overflow datetime math.
EARLIEST_DATE = dt.date(1970, 1, 1)
LATEST_DATE = dt.date(2999, 12, 31)
DATE_BOUNDS = [MinValueValidator(EARLIEST_DATE), MaxValueValidator(LATEST_DATE)]
# At most this many points in a time series (10 years by day).
MAX_PERIODS = 3660


class PeriodParamsSerializer(serializers.Serializer):
    """`date_from`, `date_to`: ISO dates (YYYY-MM-DD) in the store's time zone, inclusive.

    Default: the last 30 days, today included. `date_from` must not be after `date_to`.
    """

    date_from = serializers.DateField(required=False, validators=DATE_BOUNDS)
    date_to = serializers.DateField(required=False, validators=DATE_BOUNDS)

    def validate(self, attrs: dict) -> dict:
        default = default_date_range()
        date_to = attrs.get("date_to") or default.end
        date_from = attrs.get("date_from") or date_to - (default.end - default.start)
        if date_from > date_to:
            raise serializers.ValidationError(
                {"date_from": ["Must be on or before date_to."]}, code="invalid"
            )
        attrs["period"] = DateRange(max(date_from, EARLIEST_DATE), date_to)
        return attrs


class TopProductsParamsSerializer(PeriodParamsSerializer):
    """The period, and `limit`: how many products per ranking, 1 to 100 (default 10)."""

    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=100)


class SalesParamsSerializer(PeriodParamsSerializer):
    """The period, and `interval`: day, week (ISO, from Monday) or month (default day)."""

    interval = serializers.ChoiceField(choices=INTERVALS, required=False, default="day")

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        if len(period_starts(period=attrs["period"], interval=attrs["interval"])) > MAX_PERIODS:
            raise serializers.ValidationError(
                {"interval": [f"Too many periods: at most {MAX_PERIODS} per series."]},
                code="invalid",
            )
        return attrs


class PeriodSerializer(serializers.Serializer):
    date_from = serializers.DateField(source="period.start")
    date_to = serializers.DateField(source="period.end")
    currency = serializers.SerializerMethodField()

    def get_currency(self, obj) -> str:
        return settings.STORE_CURRENCY


class SummarySerializer(PeriodSerializer):
    revenue = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        help_text="Gross: the sum of order totals, tax and shipping included.",
    )
    net_revenue = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text="revenue less the tax in it (tax_total)."
    )
    subtotal = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text="The orders' lines at the prices charged."
    )
    discount_total = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text="Promotions and vouchers, off the lines."
    )
    shipping_total = serializers.DecimalField(max_digits=16, decimal_places=2)
    tax_total = serializers.DecimalField(max_digits=16, decimal_places=2)
    refunded = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        help_text="What succeeded refunds of these orders gave back, whenever made (tax and "
        "shipping included).",
    )
    revenue_after_refunds = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text="revenue less refunded."
    )
    order_count = serializers.IntegerField()
    average_order_value = serializers.DecimalField(max_digits=16, decimal_places=2)
    items_sold = serializers.IntegerField()


class RefundedRevenueSerializer(serializers.Serializer):
    revenue = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        help_text="Line totals after their discounts; tax included only with gross prices.",
    )
    refunded = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        help_text="The part of that revenue given back by succeeded refunds of the lines.",
    )
    revenue_after_refunds = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text="revenue less refunded."
    )


class RankedProductSerializer(RefundedRevenueSerializer):
    product_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    quantity = serializers.IntegerField(help_text="Units sold.")


class TopProductsSerializer(PeriodSerializer):
    by_quantity = RankedProductSerializer(many=True)
    by_revenue = RankedProductSerializer(many=True)


class SalesPointSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    orders = serializers.IntegerField()
    items = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=16, decimal_places=2)


class SalesSeriesSerializer(PeriodSerializer):
    interval = serializers.CharField()
    results = SalesPointSerializer(many=True)


class CategoryRevenueSerializer(RefundedRevenueSerializer):
    category_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField(allow_null=True)
    slug = serializers.CharField(allow_null=True)
    quantity = serializers.IntegerField(help_text="Units sold.")


class RevenueByCategorySerializer(PeriodSerializer):
    results = CategoryRevenueSerializer(many=True)


class DiscountUsageSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="The promotion's or voucher's code, or the membership (bronze, silver, gold)."
    )
    name = serializers.CharField()
    uses = serializers.IntegerField(help_text="Orders that applied it.")
    discount = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text="What it took off those orders."
    )
    revenue = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text="The totals of those orders."
    )


class DiscountsSerializer(PeriodSerializer):
    promotions = DiscountUsageSerializer(many=True)
    vouchers = DiscountUsageSerializer(many=True)
    membership = DiscountUsageSerializer(many=True)


class RefundTotalSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Succeeded refunds.")
    amount = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text="What they gave back, tax included."
    )


class RefundsBySourceSerializer(RefundTotalSerializer):
    source = serializers.CharField(
        help_text="Who asked for them: staff, return, cancellation or provider."
    )


class RefundsByReasonSerializer(RefundTotalSerializer):
    reason = serializers.CharField(help_text='The reason staff gave; "" when none.')


class RefundedProductSerializer(serializers.Serializer):
    product_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    quantity = serializers.IntegerField(help_text="Units refunded.")
    amount = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        help_text="What the refund lines gave back, tax included.",
    )


class RefundsReportSerializer(PeriodSerializer, RefundTotalSerializer):
    by_source = RefundsBySourceSerializer(many=True)
    by_reason = RefundsByReasonSerializer(many=True, help_text="The 10 most frequent.")
    products = RefundedProductSerializer(many=True, help_text="The 10 most refunded, by amount.")
