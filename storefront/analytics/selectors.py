"""Sales reports: read-only aggregations computed by the database.

Every function takes an inclusive range of calendar dates in the store's time zone
(settings.TIME_ZONE): an order counts on the local date of its `placed_at`. Amounts are
Decimal in settings.STORE_CURRENCY; quantities are units.

What counts as a sale: an order that is not cancelled, in the store currency (amounts in
different currencies are never added up). Money given back on a sale is a succeeded Refund
(payments.models): it is reported beside the revenue (`refunded`, `revenue_after_refunds`),
against the period in which the order was placed; the refunds report (`refunds_report`) dates
refunds by their own date instead. Each function runs a fixed number of queries, whatever the
number of orders.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    DecimalField,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce, Round, Substr, Trunc
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from storefront.catalog.models import Category, ProductVariant
from storefront.orders.models import Order, OrderDiscount, OrderItem
from storefront.payments.models import Refund, RefundLine

Interval = Literal["day", "week", "month"]
INTERVALS: tuple[Interval, ...] = ("day", "week", "month")

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
_MONEY = DecimalField(max_digits=16, decimal_places=2)


def cents(amount: Decimal | int | None) -> Decimal:
    """`amount` (a sum or an average; None when no row matched) with exactly two decimal places."""
    return Decimal(amount or 0).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class DateRange:
    """Calendar dates `start` to `end`, both included, in settings.TIME_ZONE."""

    start: dt.date
    end: dt.date

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """The aware datetimes [first instant of `start`, first instant after `end`)."""
        tz = timezone.get_default_timezone()
        first = dt.datetime.combine(self.start, dt.time.min, tzinfo=tz)
        after = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        return first, after


def default_date_range(*, days: int = 30) -> DateRange:
    """The last `days` days, today (in settings.TIME_ZONE) included."""
    today = timezone.localdate(timezone=timezone.get_default_timezone())
    return DateRange(today - dt.timedelta(days=days - 1), today)


def _sold(prefix: str = "") -> Q:
    """The condition for an order (reached through `prefix`) to count as a sale.

    The payment status does not matter: a refund of a sale is counted by its Refund rows
    (so a delivered order refunded in full stays a sale, with all of it refunded), and the
    refund of a cancelled order goes with the order, out of the sales.
    """
    return Q(**{f"{prefix}currency": settings.STORE_CURRENCY}) & ~Q(
        **{f"{prefix}status": Order.Status.CANCELLED}
    )


def sold_orders() -> QuerySet[Order]:
    """Orders that count as sales: not cancelled, in the store currency."""
    return Order.objects.filter(_sold())


def orders_in(period: DateRange) -> QuerySet[Order]:
    """The sold orders placed within `period` (local dates, inclusive)."""
    first, after = period.bounds()
    return sold_orders().filter(placed_at__gte=first, placed_at__lt=after)


def items_in(period: DateRange) -> QuerySet[OrderItem]:
    """The order items of the sold orders placed within `period`."""
    first, after = period.bounds()
    return OrderItem.objects.filter(
        _sold("order__"), order__placed_at__gte=first, order__placed_at__lt=after
    )


def sales_summary(*, period: DateRange) -> dict:
    """Key figures of `period`, in two queries.

    Returns {"currency": str, "revenue": Decimal, "net_revenue": Decimal, "subtotal":
    Decimal, "discount_total": Decimal, "shipping_total": Decimal, "tax_total": Decimal,
    "refunded": Decimal, "revenue_after_refunds": Decimal, "order_count": int,
    "average_order_value": Decimal (0.00 without orders, rounded half up to the cent),
    "items_sold": int (units)}. Revenue is gross: the sum of order totals (what customers
    paid, tax and shipping included); net_revenue is revenue less the tax in it; the parts
    are the sums of the orders' quote amounts, so that revenue = subtotal - discount_total +
    shipping_total (+ tax_total with net prices). refunded is what the succeeded refunds of
    these orders gave back, whenever they were made (tax and shipping included, as in
    revenue); revenue_after_refunds = revenue - refunded. The other figures, units sold
    included, are as sold: refunds do not change them.
    """
    totals = orders_in(period).aggregate(
        revenue=_sum("total"),
        refunded=Coalesce(Sum(_order_refunded()), ZERO, output_field=_MONEY),
        subtotal=_sum("subtotal"),
        discount_total=_sum("discount_total"),
        shipping_total=_sum("shipping_total"),
        tax_total=_sum("tax_total"),
        order_count=Count("id"),
    )
    units = items_in(period).aggregate(items_sold=Coalesce(Sum("quantity"), 0))
    revenue, count = cents(totals["revenue"]), totals["order_count"]
    average = (revenue / count).quantize(CENT, rounding=ROUND_HALF_UP) if count else ZERO
    parts = ("subtotal", "discount_total", "shipping_total", "tax_total")
    refunded = cents(totals["refunded"])
    return {
        "currency": settings.STORE_CURRENCY,
        "revenue": revenue,
        "net_revenue": revenue - cents(totals["tax_total"]),
        **{name: cents(totals[name]) for name in parts},
        "refunded": refunded,
        "revenue_after_refunds": revenue - refunded,
        "order_count": count,
        "average_order_value": average,
        "items_sold": units["items_sold"],
    }


def _sum(field: str) -> Coalesce:
    return Coalesce(Sum(field), ZERO, output_field=_MONEY)


def _order_refunded() -> Coalesce:
    """Per order (the outer query's row): what its succeeded refunds gave back, 0 if none."""
    refunds = (
        Refund.objects.filter(order=OuterRef("pk"), status=Refund.Status.SUCCEEDED)
        .order_by()
        .values("order")
        .annotate(amount=Sum("amount"))
        .values("amount")
    )
    return Coalesce(Subquery(refunds, output_field=_MONEY), ZERO, output_field=_MONEY)


# pricing.refunds.taxed_on_top (the order's prices were net of tax), restated as SQL so that
# the aggregation applies it per order item: tax != 0 and total = subtotal - discounts +
# shipping + tax.
_TAXED_ON_TOP = ~Q(order__tax_total=0) & Q(
    order__total=F("order__subtotal")
    - F("order__discount_total")
    + F("order__shipping_total")
    + F("order__tax_total")
)


def _item_revenue() -> CombinedExpression:
    """Per order item: its revenue, its line total after its discounts (tax included only
    with gross prices)."""
    return F("line_total") - F("discount_total")


def _item_refunded() -> Case:
    """Per order item (the outer query's row): the part of its revenue that succeeded
    refunds gave back.

    A RefundLine's amount is its share of what the line charged, tax included
    (pricing.refunds, rule 1): with net prices that is more than the line's revenue, by
    the line's tax. So the refunded share of the line is applied to its revenue instead:
    revenue x refunded / charged, which is all of the revenue once the line is refunded in
    full. Unrounded; the caller rounds its sums to the cent.
    """
    lines = (
        RefundLine.objects.filter(order_item=OuterRef("pk"), refund__status=Refund.Status.SUCCEEDED)
        .order_by()
        .values("order_item")
        .annotate(amount=Sum("amount"))
        .values("amount")
    )
    refunded = Coalesce(Subquery(lines, output_field=_MONEY), ZERO, output_field=_MONEY)
    charged = _item_revenue() + Case(
        When(_TAXED_ON_TOP, then=F("tax_total")), default=ZERO, output_field=_MONEY
    )
    return Case(
        When(GreaterThan(charged, ZERO), then=refunded * _item_revenue() / charged),
        default=ZERO,
        output_field=_MONEY,
    )


def discount_usage(*, period: DateRange) -> dict:
    """How the promotions, vouchers and member discounts were used in `period`, in one
    query.

    Returns {"currency": str, "promotions": [...], "vouchers": [...], "membership": [...]},
    each entry {"code": str, "name": str (the latest name an order recorded), "uses": int
    (orders), "discount": Decimal (what it took off; a free-shipping voucher: the shipping
    waived; a membership: the difference from list prices), "revenue": Decimal (the totals
    of those orders)}, most uses first, then code. Sold orders only.
    """
    first, after = period.bounds()
    rows = (
        OrderDiscount.objects.filter(
            _sold("order__"), order__placed_at__gte=first, order__placed_at__lt=after
        )
        .values("kind", "code")
        .annotate(
            name=Max("name"),
            uses=Count("order_id", distinct=True),
            discount=Sum("amount"),
            revenue=Sum("order__total"),
        )
        .order_by("-uses", "code")
    )
    report: dict = {"currency": settings.STORE_CURRENCY}
    for kind, key in (
        ("promotion", "promotions"),
        ("voucher", "vouchers"),
        ("membership", "membership"),
    ):
        report[key] = [
            {
                "code": row["code"],
                "name": row["name"],
                "uses": row["uses"],
                "discount": cents(row["discount"]),
                "revenue": cents(row["revenue"]),
            }
            for row in rows
            if row["kind"] == kind
        ]
    return report


def _refund_figures() -> dict:
    """Aggregates of order items: their revenue and its refunded part (rounded half up to
    the cent, as PostgreSQL's round() does with positive numbers)."""
    return {
        "revenue": Sum(_item_revenue()),
        "refunded": Round(Sum(_item_refunded()), 2, output_field=_MONEY),
    }


def _products_ranked(period: DateRange, order_by: tuple[str, ...], limit: int) -> list[dict]:
    # Items of a deleted product (product NULL) are grouped by the name they were sold under.
    rows = (
        items_in(period)
        .values(
            "product_id",
            deleted_name=Case(
                When(product__isnull=True, then=F("product_name")),
                default=Value(""),
                output_field=CharField(),
            ),
        )
        .annotate(
            name=Coalesce(Max("product__name"), Max("product_name")),
            quantity=Sum("quantity"),
            **_refund_figures(),
        )
        .annotate(revenue_after_refunds=F("revenue") - F("refunded"))
        .values("product_id", "name", "quantity", "revenue", "refunded", "revenue_after_refunds")
        .order_by(*order_by)[:limit]
    )
    return [_with_cents(row) for row in rows]


def _with_cents(row: dict) -> dict:
    return {
        **row,
        **{key: cents(row[key]) for key in ("revenue", "refunded", "revenue_after_refunds")},
    }


def top_products(*, period: DateRange, limit: int = 10) -> dict:
    """The `limit` best-selling products of `period`, in two queries.

    Returns {"currency": str, "by_quantity": [...], "by_revenue": [...]}, each entry
    {"product_id": int | None (None: deleted product), "name": str, "quantity": int (units
    sold), "revenue": Decimal (sum of line totals after their discounts: tax included only
    with gross prices), "refunded": Decimal (the part of that revenue succeeded refunds of
    the lines gave back, on the same footing: without tax with net prices),
    "revenue_after_refunds": Decimal (revenue - refunded)}. by_revenue ranks by revenue
    after refunds; ties are broken by the other measure, then id. Refunds of a free amount
    or of shipping are not for a product: they appear in the summary only.
    """
    return {
        "currency": settings.STORE_CURRENCY,
        "by_quantity": _products_ranked(
            period, ("-quantity", "-revenue_after_refunds", "product_id"), limit
        ),
        "by_revenue": _products_ranked(
            period, ("-revenue_after_refunds", "-quantity", "product_id"), limit
        ),
    }


def period_starts(*, period: DateRange, interval: Interval) -> list[dt.date]:
    """The first day of every `interval` that overlaps `period`, in order.

    Weeks start on Monday (ISO 8601); the first period may start before `period.start`.
    """
    if interval == "day":
        current = period.start
    elif interval == "week":
        current = period.start - dt.timedelta(days=period.start.weekday())
    else:
        current = period.start.replace(day=1)
    starts = []
    while current <= period.end:
        starts.append(current)
        if interval == "day":
            current += dt.timedelta(days=1)
        elif interval == "week":
            current += dt.timedelta(days=7)
        else:
            current = (current.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return starts


def sales_series(*, period: DateRange, interval: Interval) -> list[dict]:
    """Sales of `period` per day, ISO week or month, in two queries.

    Returns one entry per period, oldest first, empty periods included with zeros:
    {"period_start": date, "orders": int, "items": int (units), "revenue": Decimal (order
    totals, before refunds)}.
    A period that reaches outside `period` counts only the orders inside it.
    """
    tz = timezone.get_default_timezone()

    def bucket(field: str) -> Trunc:
        return Trunc(field, interval, output_field=DateField(), tzinfo=tz)

    orders = (
        orders_in(period)
        .annotate(period_start=bucket("placed_at"))
        .values("period_start")
        .annotate(orders=Count("id"), revenue=Sum("total"))
        .order_by()
    )
    units = (
        items_in(period)
        .annotate(period_start=bucket("order__placed_at"))
        .values("period_start")
        .annotate(items=Sum("quantity"))
        .order_by()
    )
    by_start = {row["period_start"]: row for row in orders}
    items_by_start = {row["period_start"]: row["items"] for row in units}
    series = []
    for start in period_starts(period=period, interval=interval):
        row = by_start.get(start)
        series.append(
            {
                "period_start": start,
                "orders": row["orders"] if row else 0,
                "items": items_by_start.get(start, 0),
                "revenue": cents(row["revenue"]) if row else ZERO,
            }
        )
    return series


def revenue_by_category(*, period: DateRange) -> list[dict]:
    """Revenue of `period` per top-level category, descendants rolled up, in two queries.

    Returns entries {"category_id": int | None, "name": str | None, "slug": str | None,
    "revenue": Decimal (sum of line totals after their discounts: tax included only with
    gross prices), "refunded": Decimal (the part of that revenue succeeded refunds of the
    lines gave back, on the same footing), "revenue_after_refunds": Decimal (revenue -
    refunded), "quantity": int (units sold)}, highest revenue after refunds first; the
    entry with None holds the items of deleted products. A category's root is the first
    `Category.steplen` characters of its materialized path (django-treebeard).
    """
    totals = list(
        items_in(period)
        .annotate(root_path=Substr("product__category__path", 1, Category.steplen))
        .values("root_path")
        .annotate(quantity=Sum("quantity"), **_refund_figures())
        .annotate(revenue_after_refunds=F("revenue") - F("refunded"))
        .order_by()
    )
    paths = [row["root_path"] for row in totals if row["root_path"] is not None]
    roots = {root.path: root for root in Category.objects.filter(path__in=paths)}
    rows = []
    for row in totals:
        root = roots.get(row["root_path"])
        figures = _with_cents(row)
        rows.append(
            {
                "category_id": root.pk if root else None,
                "name": root.name if root else None,
                "slug": root.slug if root else None,
                "revenue": figures["revenue"],
                "refunded": figures["refunded"],
                "revenue_after_refunds": figures["revenue_after_refunds"],
                "quantity": row["quantity"],
            }
        )
    # Highest revenue after refunds first; the deleted-products entry last among equals.
    rows.sort(
        key=lambda row: (-row["revenue_after_refunds"], row["name"] is None, row["name"] or "")
    )
    return rows


def _refunded_within(period: DateRange, prefix: str = "") -> Q:
    """The condition for a refund (reached through `prefix`) to count in the refunds report
    of `period`: succeeded, of an order in the store currency, made within `period`."""
    first, after = period.bounds()
    return Q(
        **{
            f"{prefix}status": Refund.Status.SUCCEEDED,
            f"{prefix}order__currency": settings.STORE_CURRENCY,
            f"{prefix}created_at__gte": first,
            f"{prefix}created_at__lt": after,
        }
    )


def refunds_report(*, period: DateRange, limit: int = 10) -> dict:
    """The money given back within `period`, in three queries.

    Counts the succeeded refunds made within `period` (the local date of their creation),
    whatever the order's date and status: the refunds of cancellations included, since
    the money went back. Returns {"currency": str, "count": int, "amount": Decimal,
    "by_source": [{"source": str, "count": int, "amount": Decimal}] (every source with a
    refund), "by_reason": [{"reason": str ("" when none was given), "count", "amount"}]
    (the `limit` most frequent), "products": [{"product_id": int | None (None: deleted
    product), "name": str, "quantity": int (units refunded), "amount": Decimal}] (the
    `limit` most refunded by amount)}. Amounts are what customers got back, tax and
    shipping included (a product's amount: its refund lines, without shipping); lists are
    ordered by count (amount for products), then by the other measure, then by name.
    """
    refunds = Refund.objects.filter(_refunded_within(period))
    by_source = [
        {**row, "amount": cents(row["amount"])}
        for row in refunds.values("source")
        .annotate(count=Count("id"), amount=Sum("amount"))
        .order_by("-count", "-amount", "source")
    ]
    by_reason = [
        {**row, "amount": cents(row["amount"])}
        for row in refunds.values("reason")
        .annotate(count=Count("id"), amount=Sum("amount"))
        .order_by("-count", "-amount", "reason")[:limit]
    ]
    # As in top_products: the lines of a deleted product are grouped by the name sold under.
    products = [
        {**row, "amount": cents(row["amount"])}
        for row in RefundLine.objects.filter(_refunded_within(period, "refund__"))
        .values(
            product_id=F("order_item__product_id"),
            deleted_name=Case(
                When(order_item__product__isnull=True, then=F("order_item__product_name")),
                default=Value(""),
                output_field=CharField(),
            ),
        )
        .annotate(
            name=Coalesce(Max("order_item__product__name"), Max("order_item__product_name")),
            quantity=Sum("quantity"),
            amount=Sum("amount"),
        )
        .values("product_id", "name", "quantity", "amount")
        .order_by("-amount", "-quantity", "product_id")[:limit]
    ]
    return {
        "currency": settings.STORE_CURRENCY,
        "count": sum(row["count"] for row in by_source),
        "amount": sum((row["amount"] for row in by_source), ZERO),
        "by_source": by_source,
        "by_reason": by_reason,
        "products": products,
    }


def low_stock_variants(*, threshold: int | None = None, limit: int = 20) -> list[ProductVariant]:
    """Variants with fewer than `threshold` units (default settings.LOW_STOCK_THRESHOLD).

    Lowest stock first, at most `limit`, each with its product loaded; one query.
    """
    if threshold is None:
        threshold = settings.LOW_STOCK_THRESHOLD
    return list(
        ProductVariant.objects.filter(stock_quantity__lt=threshold)
        .select_related("product")
        .order_by("stock_quantity", "sku")[:limit]
    )
