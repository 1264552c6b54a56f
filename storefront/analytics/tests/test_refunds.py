"""Refunds in the sales reports, and the refunds report (docs/analytics.md, "Refunds").

Refunds are made here as rows (Refund, RefundLine) with hand-computed amounts, as the
refund workflow would record them (storefront/pricing/refunds.py), so that the reports are
tested on their own.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from storefront.accounts.tests.factories import StaffFactory
from storefront.analytics import selectors
from storefront.analytics.selectors import DateRange
from storefront.catalog.tests.factories import CategoryFactory, ProductFactory, VariantFactory
from storefront.orders.models import Order, OrderItem
from storefront.orders.tests.factories import order_with_items
from storefront.payments.models import Refund, RefundLine

pytestmark = pytest.mark.django_db

FEBRUARY = DateRange(dt.date(2025, 2, 1), dt.date(2025, 2, 28))
MARCH = DateRange(dt.date(2025, 3, 1), dt.date(2025, 3, 31))


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def taxed_order(lines, *, placed_at, shipping="0.00", **fields) -> Order:
    """An order with net prices (tax added on top): `lines` are (variant, quantity, tax of
    the line); its total is subtotal + shipping + tax."""
    order = order_with_items([(v, q) for v, q, _ in lines], placed_at=placed_at, **fields)
    for item, (_, _, tax) in zip(order.items.order_by("id"), lines, strict=True):
        OrderItem.objects.filter(pk=item.pk).update(tax_total=Decimal(tax))
    order.tax_total = sum((Decimal(tax) for _, _, tax in lines), Decimal("0.00"))
    order.shipping_total = Decimal(shipping)
    order.total = order.subtotal + order.shipping_total + order.tax_total
    order.save(update_fields=["tax_total", "shipping_total", "total"])
    return order


def refund(
    order: Order,
    amount: str,
    *,
    lines=(),
    on: dt.datetime,
    status: str = Refund.Status.SUCCEEDED,
    source: str = Refund.Source.STAFF,
    reason: str = "",
) -> Refund:
    """A refund of `amount` on `order`, made at `on`; `lines` are (item, quantity, amount)."""
    made = Refund.objects.create(
        order=order,
        payment=order.payment,
        amount=Decimal(amount),
        status=status,
        source=source,
        reason=reason,
    )
    for item, quantity, line_amount in lines:
        RefundLine.objects.create(
            refund=made, order_item=item, quantity=quantity, amount=Decimal(line_amount)
        )
    # created_at is auto_now_add: it ignores a value given to create().
    Refund.objects.filter(pk=made.pk).update(created_at=on)
    return made


@pytest.fixture
def lamp():
    return VariantFactory(price=Decimal("50.00"), product=ProductFactory(name="Lamp"))


@pytest.fixture
def mug():
    return VariantFactory(price=Decimal("10.00"), product=ProductFactory(name="Mug"))


@pytest.fixture
def worked_example(lamp, mug):
    """The example of docs/analytics.md, "Refunds" (net prices, 20 % tax on the lines):

    A, placed 2025-03-03, delivered: 2 Lamps (100.00 + 20.00 tax), 1 Mug (10.00 + 2.00
      tax), shipping 5.00: total 137.00. Refunds: 1 Lamp on 03-20, 60.00 (succeeded);
      7.00 of goodwill on 03-25 (succeeded); 60.00 (failed); the Mug, 12.00 (pending).
    B, placed 2025-03-04, cancelled: 1 Mug, 12.00, refunded by the cancellation on 03-04.
    C, placed 2025-02-27, delivered: 1 Mug, 12.00, refunded by a return on 03-02.
    """
    a = taxed_order(
        [(lamp, 2, "20.00"), (mug, 1, "2.00")],
        placed_at=at(2025, 3, 3, 12),
        shipping="5.00",
        status=Order.Status.DELIVERED,
    )
    a_lamp, a_mug = a.items.get(variant=lamp), a.items.get(variant=mug)
    refund(a, "60.00", lines=[(a_lamp, 1, "60.00")], on=at(2025, 3, 20, 12), reason="Damaged")
    refund(a, "7.00", on=at(2025, 3, 25, 12), reason="Late delivery")
    refund(a, "60.00", lines=[(a_lamp, 1, "60.00")], on=at(2025, 3, 26, 12), status="failed")
    refund(a, "12.00", lines=[(a_mug, 1, "12.00")], on=at(2025, 3, 27, 12), status="pending")
    b = taxed_order([(mug, 1, "2.00")], placed_at=at(2025, 3, 4, 12), status=Order.Status.CANCELLED)
    refund(
        b,
        "12.00",
        lines=[(b.items.get(), 1, "12.00")],
        on=at(2025, 3, 4, 13),
        source=Refund.Source.CANCELLATION,
    )
    c = taxed_order(
        [(mug, 1, "2.00")], placed_at=at(2025, 2, 27, 12), status=Order.Status.DELIVERED
    )
    refund(
        c,
        "12.00",
        lines=[(c.items.get(), 1, "12.00")],
        on=at(2025, 3, 2, 12),
        source=Refund.Source.RETURN,
        reason="Damaged",
    )
    return a, b, c


def test_summary_subtracts_the_succeeded_refunds_of_the_periods_orders(worked_example):
    summary = selectors.sales_summary(period=MARCH)

    assert summary == {
        "currency": "USD",
        "revenue": Decimal("137.00"),
        "net_revenue": Decimal("115.00"),
        "subtotal": Decimal("110.00"),
        "discount_total": Decimal("0.00"),
        "shipping_total": Decimal("5.00"),
        "tax_total": Decimal("22.00"),
        "refunded": Decimal("67.00"),  # 60.00 + 7.00; not the failed, pending or B's
        "revenue_after_refunds": Decimal("70.00"),
        "order_count": 1,
        "average_order_value": Decimal("137.00"),
        "items_sold": 3,
    }


def test_a_refund_counts_in_the_period_its_order_was_placed_in(worked_example):
    summary = selectors.sales_summary(period=FEBRUARY)  # C, refunded in March

    assert (summary["revenue"], summary["refunded"], summary["revenue_after_refunds"]) == (
        Decimal("12.00"),
        Decimal("12.00"),
        Decimal("0.00"),
    )


def test_failed_and_pending_refunds_give_nothing_back(mug):
    order = order_with_items([(mug, 3)], placed_at=at(2025, 3, 3, 12))
    item = order.items.get()
    refund(order, "10.00", lines=[(item, 1, "10.00")], on=at(2025, 3, 5, 12), status="failed")
    refund(order, "20.00", lines=[(item, 2, "20.00")], on=at(2025, 3, 5, 13), status="pending")

    summary = selectors.sales_summary(period=MARCH)
    [product] = selectors.top_products(period=MARCH)["by_revenue"]
    report = selectors.refunds_report(period=MARCH)

    assert (summary["refunded"], summary["revenue_after_refunds"]) == (
        Decimal("0.00"),
        Decimal("30.00"),
    )
    assert (product["refunded"], product["revenue_after_refunds"]) == (
        Decimal("0.00"),
        Decimal("30.00"),
    )
    assert (report["count"], report["amount"], report["products"]) == (0, Decimal("0.00"), [])


def test_a_cancelled_orders_refund_is_not_subtracted_from_the_sales_again(mug):
    order = order_with_items([(mug, 2)], placed_at=at(2025, 3, 3, 12), status="cancelled")
    refund(
        order,
        "20.00",
        lines=[(order.items.get(), 2, "20.00")],
        on=at(2025, 3, 3, 13),
        source=Refund.Source.CANCELLATION,
    )

    summary = selectors.sales_summary(period=MARCH)

    assert (summary["revenue"], summary["refunded"], summary["revenue_after_refunds"]) == (
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert selectors.top_products(period=MARCH)["by_revenue"] == []
    assert selectors.revenue_by_category(period=MARCH) == []


def test_a_delivered_order_refunded_in_full_stays_a_sale_with_nothing_left(mug):
    order = order_with_items(
        [(mug, 2)],
        placed_at=at(2025, 3, 3, 12),
        status=Order.Status.DELIVERED,
        payment_status=Order.PaymentStatus.REFUNDED,
    )
    refund(order, "20.00", lines=[(order.items.get(), 2, "20.00")], on=at(2025, 3, 9, 12))

    summary = selectors.sales_summary(period=MARCH)

    assert (
        summary["order_count"],
        summary["revenue"],
        summary["refunded"],
        summary["revenue_after_refunds"],
    ) == (1, Decimal("20.00"), Decimal("20.00"), Decimal("0.00"))


def test_top_products_subtract_the_refunded_share_of_their_lines_without_tax(worked_example):
    ranking = selectors.top_products(period=MARCH)

    # Lamp: revenue 100.00 (net prices: no tax); 60.00 of the line's 120.00 refunded, so
    # half of its revenue. The free 7.00 is no product's.
    assert ranking["by_revenue"] == [
        {
            "product_id": ranking["by_revenue"][0]["product_id"],
            "name": "Lamp",
            "quantity": 2,
            "revenue": Decimal("100.00"),
            "refunded": Decimal("50.00"),
            "revenue_after_refunds": Decimal("50.00"),
        },
        {
            "product_id": ranking["by_revenue"][1]["product_id"],
            "name": "Mug",
            "quantity": 1,
            "revenue": Decimal("10.00"),
            "refunded": Decimal("0.00"),
            "revenue_after_refunds": Decimal("10.00"),
        },
    ]


def test_the_refunded_share_is_rounded_once_per_product(mug):
    order = taxed_order([(mug, 3, "1.00")], placed_at=at(2025, 3, 3, 12))  # 31.00 charged
    item = order.items.get()
    # Rule 2 of pricing/refunds.py: one of 3 units gives back 31.00 / 3 = 10.33.
    refund(order, "10.33", lines=[(item, 1, "10.33")], on=at(2025, 3, 5, 12))
    refund(order, "10.33", lines=[(item, 1, "10.33")], on=at(2025, 3, 6, 12))

    [product] = selectors.top_products(period=MARCH)["by_revenue"]

    # 20.66 x 30.00 / 31.00 = 19.9935...; rounding each refund first would give 2 x 10.00.
    assert (product["refunded"], product["revenue_after_refunds"]) == (
        Decimal("19.99"),
        Decimal("10.01"),
    )


def test_with_gross_prices_a_refund_line_comes_off_the_revenue_whole(mug):
    # Prices include tax: the Mugs' 20.00 holds 3.33 of tax, the order's total is 20.00.
    order = order_with_items([(mug, 2)], placed_at=at(2025, 3, 3, 12))
    OrderItem.objects.filter(order=order).update(tax_total=Decimal("3.33"))
    Order.objects.filter(pk=order.pk).update(tax_total=Decimal("3.33"))
    refund(order, "10.00", lines=[(order.items.get(), 1, "10.00")], on=at(2025, 3, 5, 12))

    [product] = selectors.top_products(period=MARCH)["by_revenue"]

    assert (product["revenue"], product["refunded"], product["revenue_after_refunds"]) == (
        Decimal("20.00"),
        Decimal("10.00"),
        Decimal("10.00"),
    )


def test_top_products_by_revenue_rank_by_revenue_after_refunds():
    coat = VariantFactory(price=Decimal("100.00"), product=ProductFactory(name="Coat"))
    hat = VariantFactory(price=Decimal("30.00"), product=ProductFactory(name="Hat"))
    order = order_with_items([(coat, 1), (hat, 1)], placed_at=at(2025, 3, 3, 12))
    refund(order, "100.00", lines=[(order.items.get(variant=coat), 1, "100.00")], on=at(2025, 3, 4))

    ranking = selectors.top_products(period=MARCH)

    assert [(p["name"], p["revenue_after_refunds"]) for p in ranking["by_revenue"]] == [
        ("Hat", Decimal("30.00")),
        ("Coat", Decimal("0.00")),
    ]


def test_revenue_by_category_subtracts_the_refunded_lines():
    garden, books = CategoryFactory(name="Garden"), CategoryFactory(name="Books")
    spade = VariantFactory(
        price=Decimal("30.00"),
        product=ProductFactory(category=CategoryFactory(name="Tools", parent=garden)),
    )
    novel = VariantFactory(price=Decimal("12.00"), product=ProductFactory(category=books))
    order = order_with_items([(spade, 2), (novel, 1)], placed_at=at(2025, 3, 3, 12))
    refund(order, "30.00", lines=[(order.items.get(variant=spade), 1, "30.00")], on=at(2025, 3, 4))

    rows = selectors.revenue_by_category(period=MARCH)

    assert [
        (r["name"], r["quantity"], r["revenue"], r["refunded"], r["revenue_after_refunds"])
        for r in rows
    ] == [
        ("Garden", 2, Decimal("60.00"), Decimal("30.00"), Decimal("30.00")),
        ("Books", 1, Decimal("12.00"), Decimal("0.00"), Decimal("12.00")),
    ]


def test_the_refunds_report_counts_the_refunds_made_in_the_period(worked_example):
    report = selectors.refunds_report(period=MARCH)

    # A's 60.00 and 7.00, B's 12.00 (its cancellation) and C's 12.00 (a February order).
    assert report == {
        "currency": "USD",
        "count": 4,
        "amount": Decimal("91.00"),
        "by_source": [
            {"source": "staff", "count": 2, "amount": Decimal("67.00")},
            {"source": "cancellation", "count": 1, "amount": Decimal("12.00")},
            {"source": "return", "count": 1, "amount": Decimal("12.00")},
        ],
        "by_reason": [
            {"reason": "Damaged", "count": 2, "amount": Decimal("72.00")},
            {"reason": "", "count": 1, "amount": Decimal("12.00")},
            {"reason": "Late delivery", "count": 1, "amount": Decimal("7.00")},
        ],
        "products": [
            {
                "product_id": report["products"][0]["product_id"],
                "name": "Lamp",
                "quantity": 1,
                "amount": Decimal("60.00"),
            },
            {
                "product_id": report["products"][1]["product_id"],
                "name": "Mug",
                "quantity": 2,
                "amount": Decimal("24.00"),
            },
        ],
    }


def test_the_refunds_report_dates_a_refund_in_the_store_time_zone(settings, mug):
    settings.TIME_ZONE = "America/New_York"  # UTC-5 in winter
    order = order_with_items([(mug, 2)], placed_at=at(2025, 2, 20, 12))
    refund(order, "10.00", on=at(2025, 3, 1, 4, 59))  # Feb 28, 23:59 local
    refund(order, "10.00", on=at(2025, 3, 1, 5, 0))  # Mar 1, 00:00 local

    assert selectors.refunds_report(period=MARCH)["count"] == 1
    assert selectors.refunds_report(period=FEBRUARY)["count"] == 1


def test_the_refunds_report_lists_the_ten_most_frequent_reasons(mug):
    order = order_with_items([(mug, 20)], placed_at=at(2025, 3, 3, 12))
    for number in range(11):
        refund(order, "1.00", on=at(2025, 3, 4), reason=f"reason {number:02}")
    refund(order, "1.00", on=at(2025, 3, 4), reason="reason 10")

    reasons = selectors.refunds_report(period=MARCH)["by_reason"]

    assert [r["reason"] for r in reasons] == ["reason 10"] + [f"reason {n:02}" for n in range(9)]


def test_the_refunds_report_keeps_deleted_products_under_their_sold_name(mug):
    order = order_with_items([(mug, 2)], placed_at=at(2025, 3, 3, 12))
    refund(order, "10.00", lines=[(order.items.get(), 1, "10.00")], on=at(2025, 3, 4))
    mug.product.delete()

    assert selectors.refunds_report(period=MARCH)["products"] == [
        {"product_id": None, "name": "Mug", "quantity": 1, "amount": Decimal("10.00")}
    ]


def many_refunds() -> None:
    for day in range(1, 11):
        variant = VariantFactory(product=ProductFactory(category=CategoryFactory()))
        order = order_with_items([(variant, 2), (VariantFactory(), 1)], placed_at=at(2025, 3, day))
        item = order.items.get(variant=variant)
        refund(order, "1.00", lines=[(item, 1, "1.00")], on=at(2025, 3, day, 1), reason=str(day))
        refund(order, "2.00", on=at(2025, 3, day, 2), source=Refund.Source.PROVIDER)


@pytest.mark.parametrize(
    ("report", "queries"),
    [
        (lambda: selectors.sales_summary(period=MARCH), 2),
        (lambda: selectors.top_products(period=MARCH), 2),
        (lambda: selectors.revenue_by_category(period=MARCH), 2),
        (lambda: selectors.refunds_report(period=MARCH), 3),
    ],
    ids=["summary", "top_products", "revenue_by_category", "refunds_report"],
)
def test_refunds_add_no_query_whatever_their_number(django_assert_num_queries, report, queries):
    many_refunds()

    with django_assert_num_queries(queries):
        report()


# The endpoint.


@pytest.fixture
def staff_client(api_client):
    api_client.force_authenticate(StaffFactory())
    return api_client


def test_the_refunds_endpoint_reports_amounts_as_strings(staff_client, worked_example):
    response = staff_client.get(
        reverse("analytics-refunds"), {"date_from": "2025-03-01", "date_to": "2025-03-31"}
    )

    assert response.status_code == 200
    data = response.json()
    assert {key: data[key] for key in ("date_from", "date_to", "currency", "count", "amount")} == {
        "date_from": "2025-03-01",
        "date_to": "2025-03-31",
        "currency": "USD",
        "count": 4,
        "amount": "91.00",
    }
    assert data["by_source"][0] == {"source": "staff", "count": 2, "amount": "67.00"}
    assert data["by_reason"][0] == {"reason": "Damaged", "count": 2, "amount": "72.00"}
    assert [(p["name"], p["quantity"], p["amount"]) for p in data["products"]] == [
        ("Lamp", 1, "60.00"),
        ("Mug", 2, "24.00"),
    ]


def test_the_summary_endpoint_reports_revenue_after_refunds(staff_client, worked_example):
    data = staff_client.get(
        reverse("analytics-summary"), {"date_from": "2025-03-01", "date_to": "2025-03-31"}
    ).json()

    assert (data["revenue"], data["refunded"], data["revenue_after_refunds"]) == (
        "137.00",
        "67.00",
        "70.00",
    )


def test_the_refunds_endpoint_runs_three_queries(staff_client, django_assert_num_queries):
    many_refunds()

    with django_assert_num_queries(3):
        response = staff_client.get(reverse("analytics-refunds"), {"date_from": "2025-03-01"})

    assert response.status_code == 200
