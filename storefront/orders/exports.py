"""The order items export: one CSV row per order item, with its order's amounts
(docs/export.md).

Streamed: orders are read in keyset pages of PAGE_SIZE by (placed_at, id), oldest first,
each page with its items prefetched, and written out as one chunk of text per page. 2 queries
per page (the orders, with the customer's email and the refunded amount computed by the
database; their items), and 1 more that finds no order when the last page is full; memory
holds one page, however many orders match.
"""

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal

from django.db.models import (
    CharField,
    DecimalField,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from storefront.orders.models import Order, OrderItem
from storefront.payments.models import Refund

PAGE_SIZE = 500

COLUMNS = (
    "order_number",
    "placed_at",
    "status",
    "customer_email",
    "currency",
    "sku",
    "product_name",
    "variant_name",
    "quantity",
    "unit_price",
    "line_total",
    "order_subtotal",
    "order_discount",
    "order_shipping",
    "order_tax",
    "order_total",
    "order_refunded",
)

_MONEY = DecimalField(max_digits=16, decimal_places=2)
ZERO = Decimal("0.00")


def iter_order_items_csv(
    *, date_from: dt.date | None, date_to: dt.date | None, page_size: int = PAGE_SIZE
) -> Iterator[str]:
    """Yield CSV text: the header (COLUMNS), then one row per order item of the orders placed
    from `date_from` to `date_to` (both included, calendar dates in settings.TIME_ZONE; None:
    no bound), oldest order first, its items in id order; one chunk per page of `page_size`
    orders. Cancelled orders are included (`status` says so); an order without items has no
    row.

    Cells: order_number (Order.number), placed_at (ISO 8601 in the store's time zone, to the
    second), status, customer_email (the email given at checkout, else the account's),
    currency (ISO 4217), sku, product_name, variant_name (snapshots at the sale), quantity
    (units), unit_price and line_total (the item's, after its discounts), then the order's
    subtotal, discount, shipping, tax, total and refunded (the sum of its succeeded refunds),
    all amounts with two decimals in `currency`, repeated on each of the order's rows.
    Queries: see the module docstring.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1.")
    pages = _pages(_orders(date_from=date_from, date_to=date_to), page_size)
    # The first page is read before the header is yielded, so that a caller taking the first
    # chunk before answering (the API view) learns of a database outage while it can still
    # answer 503.
    first = next(pages, [])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    _write_rows(writer, first)
    yield _drain(buffer)
    for page in pages:
        _write_rows(writer, page)
        yield _drain(buffer)


def _write_rows(writer, orders: list[Order]) -> None:
    tz = timezone.get_default_timezone()
    for order in orders:
        placed_at = timezone.localtime(order.placed_at, tz).isoformat(timespec="seconds")
        amounts = [
            _money(order.subtotal),
            _money(order.discount_total),
            _money(order.shipping_total),
            _money(order.tax_total),
            _money(order.total),
            _money(order.refunded),
        ]
        for item in order.items.all():
            writer.writerow(
                [
                    order.number,
                    placed_at,
                    order.status,
                    order.export_email,
                    order.currency,
                    item.sku,
                    item.product_name,
                    item.variant_name,
                    item.quantity,
                    _money(item.unit_price),
                    _money(item.line_total),
                    *amounts,
                ]
            )


def _orders(*, date_from: dt.date | None, date_to: dt.date | None) -> QuerySet[Order]:
    """The orders placed in the range, oldest first, with `export_email` and `refunded`."""
    tz = timezone.get_default_timezone()
    orders = Order.objects.all()
    if date_from is not None:
        orders = orders.filter(placed_at__gte=dt.datetime.combine(date_from, dt.time.min, tz))
    if date_to is not None:
        after = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tz)
        orders = orders.filter(placed_at__lt=after)
    refunded = (
        Refund.objects.filter(order=OuterRef("pk"), status=Refund.Status.SUCCEEDED)
        .order_by()
        .values("order")
        .annotate(amount=Sum("amount"))
        .values("amount")
    )
    items = OrderItem.objects.order_by("id").only(
        "id",
        "order_id",
        "sku",
        "product_name",
        "variant_name",
        "quantity",
        "unit_price",
        "line_total",
    )
    return (
        orders.order_by("placed_at", "id")
        .annotate(
            export_email=Coalesce(
                NullIf(F("email"), Value("")), F("customer__email"), output_field=CharField()
            ),
            refunded=Coalesce(Subquery(refunded, output_field=_MONEY), ZERO, output_field=_MONEY),
        )
        .only(
            "id",
            "number",
            "placed_at",
            "status",
            "currency",
            "subtotal",
            "discount_total",
            "shipping_total",
            "tax_total",
            "total",
        )
        .prefetch_related(Prefetch("items", queryset=items))
    )


def _pages(orders: QuerySet[Order], page_size: int) -> Iterator[list[Order]]:
    """`orders` (ordered by placed_at, id) in pages: each starts after the last (placed_at,
    id) of the previous one, so a deep page costs what the first does (the placed_at index)."""
    page = list(orders[:page_size])
    while page:
        yield page
        if len(page) < page_size:
            return
        last = page[-1]
        # `placed_at >= last` on its own lets PostgreSQL range-scan the placed_at index; the
        # OR then skips the orders of that instant already written.
        after = orders.filter(placed_at__gte=last.placed_at).filter(
            Q(placed_at__gt=last.placed_at) | Q(id__gt=last.id)
        )
        page = list(after[:page_size])


def _money(amount: Decimal | None) -> str:
    return f"{amount or ZERO:.2f}"


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate(0)
    return text
