import datetime as dt
from decimal import Decimal

import pytest

from storefront.analytics import selectors
from storefront.analytics.selectors import DateRange
from storefront.catalog.tests.factories import CategoryFactory, ProductFactory, VariantFactory
from storefront.orders.models import Order
from storefront.orders.tests.factories import OrderFactory, order_with_items

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def at(*args) -> dt.datetime:
    """An aware UTC datetime."""
    return dt.datetime(*args, tzinfo=UTC)


def variant(price: str, **kwargs):
    return VariantFactory(price=Decimal(price), **kwargs)


MARCH_1 = DateRange(dt.date(2025, 3, 1), dt.date(2025, 3, 1))


def test_summary_adds_up_orders_and_units_of_the_period():
    cheap, dear = variant("5.00"), variant("20.00")
    order_with_items([(cheap, 2), (dear, 1)], placed_at=at(2025, 3, 1, 9))  # 30.00, 3 units
    order_with_items([(dear, 2)], placed_at=at(2025, 3, 1, 18))  # 40.00, 2 units

    summary = selectors.sales_summary(period=MARCH_1)

    assert summary == {
        "currency": "USD",
        "revenue": Decimal("70.00"),
        "net_revenue": Decimal("70.00"),
        "subtotal": Decimal("70.00"),
        "discount_total": Decimal("0.00"),
        "shipping_total": Decimal("0.00"),
        "tax_total": Decimal("0.00"),
        "refunded": Decimal("0.00"),
        "revenue_after_refunds": Decimal("70.00"),
        "order_count": 2,
        "average_order_value": Decimal("35.00"),
        "items_sold": 5,
    }


def test_summary_excludes_cancelled_and_foreign_currency_orders():
    item = variant("10.00")
    order_with_items([(item, 1)], placed_at=at(2025, 3, 1, 9))
    order_with_items([(item, 5)], placed_at=at(2025, 3, 1, 9), status=Order.Status.CANCELLED)
    order_with_items([(item, 9)], placed_at=at(2025, 3, 1, 9), currency="EUR")

    summary = selectors.sales_summary(period=MARCH_1)

    assert (summary["revenue"], summary["order_count"], summary["items_sold"]) == (
        Decimal("10.00"),
        1,
        1,
    )


def test_a_refunded_payment_alone_does_not_remove_an_order_from_the_sales():
    # Its refunds (Refund rows, test_refunds.py) say what was given back, not its status.
    item = variant("10.00")
    order_with_items(
        [(item, 7)],
        placed_at=at(2025, 3, 1, 9),
        status=Order.Status.DELIVERED,
        payment_status=Order.PaymentStatus.REFUNDED,
    )

    summary = selectors.sales_summary(period=MARCH_1)

    assert (summary["revenue"], summary["order_count"], summary["items_sold"]) == (
        Decimal("70.00"),
        1,
        7,
    )


def test_summary_excludes_orders_outside_the_period():
    item = variant("10.00")
    order_with_items([(item, 1)], placed_at=at(2025, 2, 28, 23, 59, 59))
    order_with_items([(item, 2)], placed_at=at(2025, 3, 1, 0, 0, 0))
    order_with_items([(item, 4)], placed_at=at(2025, 3, 2, 0, 0, 0))

    assert selectors.sales_summary(period=MARCH_1)["items_sold"] == 2


def test_summary_of_a_period_without_orders_is_zero():
    summary = selectors.sales_summary(period=MARCH_1)

    assert summary["revenue"] == Decimal("0.00")
    assert summary["order_count"] == 0
    assert summary["average_order_value"] == Decimal("0.00")
    assert summary["items_sold"] == 0


def test_average_order_value_is_rounded_half_up_to_the_cent():
    for total in ("10.00", "10.00", "10.05"):  # 30.05 / 3 = 10.01666...
        OrderFactory(total=Decimal(total), placed_at=at(2025, 3, 1, 12))

    assert selectors.sales_summary(period=MARCH_1)["average_order_value"] == Decimal("10.02")


def test_summary_counts_an_order_on_its_local_date(settings):
    settings.TIME_ZONE = "America/New_York"  # UTC-5 in winter
    item = variant("10.00")
    order_with_items([(item, 1)], placed_at=at(2025, 3, 1, 4, 30))  # Feb 28, 23:30 local
    order_with_items([(item, 2)], placed_at=at(2025, 3, 1, 5, 30))  # Mar 1, 00:30 local
    order_with_items([(item, 4)], placed_at=at(2025, 3, 2, 4, 59))  # Mar 1, 23:59 local

    assert selectors.sales_summary(period=MARCH_1)["items_sold"] == 6


def test_summary_runs_two_queries_whatever_the_number_of_orders(django_assert_num_queries):
    item = variant("10.00")
    for _ in range(5):
        order_with_items([(item, 1), (variant("3.00"), 2)], placed_at=at(2025, 3, 1, 12))

    with django_assert_num_queries(2):
        selectors.sales_summary(period=MARCH_1)


def test_daily_series_fills_days_without_orders_with_zeros():
    item = variant("10.00")
    order_with_items([(item, 1)], placed_at=at(2025, 3, 1, 12))
    order_with_items([(item, 3)], placed_at=at(2025, 3, 3, 12))
    order_with_items([(item, 1)], placed_at=at(2025, 3, 3, 13))

    series = selectors.sales_series(
        period=DateRange(dt.date(2025, 3, 1), dt.date(2025, 3, 4)), interval="day"
    )

    assert series == [
        {"period_start": dt.date(2025, 3, 1), "orders": 1, "items": 1, "revenue": Decimal("10.00")},
        {"period_start": dt.date(2025, 3, 2), "orders": 0, "items": 0, "revenue": Decimal("0.00")},
        {"period_start": dt.date(2025, 3, 3), "orders": 2, "items": 4, "revenue": Decimal("40.00")},
        {"period_start": dt.date(2025, 3, 4), "orders": 0, "items": 0, "revenue": Decimal("0.00")},
    ]


def test_weekly_series_buckets_start_on_monday():
    item = variant("10.00")
    order_with_items([(item, 1)], placed_at=at(2025, 3, 2, 12))  # Sunday, week of Feb 24
    order_with_items([(item, 2)], placed_at=at(2025, 3, 3, 12))  # Monday, week of Mar 3
    order_with_items([(item, 4)], placed_at=at(2025, 3, 9, 12))  # Sunday, week of Mar 3

    series = selectors.sales_series(
        period=DateRange(dt.date(2025, 3, 1), dt.date(2025, 3, 12)), interval="week"
    )

    assert [(p["period_start"], p["items"]) for p in series] == [
        (dt.date(2025, 2, 24), 1),
        (dt.date(2025, 3, 3), 6),
        (dt.date(2025, 3, 10), 0),
    ]


def test_monthly_series_puts_an_order_in_the_month_of_its_local_date(settings):
    settings.TIME_ZONE = "Asia/Tokyo"  # UTC+9
    item = variant("10.00")
    order_with_items([(item, 1)], placed_at=at(2025, 1, 31, 14, 59))  # Jan 31, 23:59 local
    order_with_items([(item, 2)], placed_at=at(2025, 1, 31, 15, 0))  # Feb 1, 00:00 local
    order_with_items([(item, 4)], placed_at=at(2025, 3, 31, 15, 0))  # Apr 1 local: outside

    series = selectors.sales_series(
        period=DateRange(dt.date(2025, 1, 1), dt.date(2025, 3, 31)), interval="month"
    )

    assert [(p["period_start"], p["orders"], p["items"], p["revenue"]) for p in series] == [
        (dt.date(2025, 1, 1), 1, 1, Decimal("10.00")),
        (dt.date(2025, 2, 1), 1, 2, Decimal("20.00")),
        (dt.date(2025, 3, 1), 0, 0, Decimal("0.00")),
    ]


def test_same_orders_fall_in_other_months_in_utc(settings):
    settings.TIME_ZONE = "UTC"
    item = variant("10.00")
    order_with_items([(item, 1)], placed_at=at(2025, 1, 31, 14, 59))
    order_with_items([(item, 2)], placed_at=at(2025, 1, 31, 15, 0))

    series = selectors.sales_series(
        period=DateRange(dt.date(2025, 1, 1), dt.date(2025, 2, 28)), interval="month"
    )

    assert [p["items"] for p in series] == [3, 0]


def test_series_runs_two_queries_whatever_the_number_of_orders(django_assert_num_queries):
    item = variant("10.00")
    for day in range(1, 8):
        order_with_items([(item, day)], placed_at=at(2025, 3, day, 12))

    with django_assert_num_queries(2):
        selectors.sales_series(
            period=DateRange(dt.date(2025, 3, 1), dt.date(2025, 3, 31)), interval="day"
        )


def test_period_starts_of_months_cross_the_year_end():
    starts = selectors.period_starts(
        period=DateRange(dt.date(2024, 11, 15), dt.date(2025, 2, 1)), interval="month"
    )

    assert starts == [
        dt.date(2024, 11, 1),
        dt.date(2024, 12, 1),
        dt.date(2025, 1, 1),
        dt.date(2025, 2, 1),
    ]


def test_top_products_rank_by_quantity_and_by_revenue_separately():
    many_cheap = variant("1.00", product=ProductFactory(name="Socks"))
    few_dear = variant("100.00", product=ProductFactory(name="Coat"))
    middle = variant("10.00", product=ProductFactory(name="Hat"))
    order_with_items([(many_cheap, 10), (few_dear, 1)], placed_at=at(2025, 3, 1, 12))
    order_with_items([(middle, 3), (many_cheap, 5)], placed_at=at(2025, 3, 1, 13))

    ranking = selectors.top_products(period=MARCH_1, limit=2)

    assert [(p["name"], p["quantity"], p["revenue"]) for p in ranking["by_quantity"]] == [
        ("Socks", 15, Decimal("15.00")),
        ("Hat", 3, Decimal("30.00")),
    ]
    assert [(p["name"], p["quantity"], p["revenue"]) for p in ranking["by_revenue"]] == [
        ("Coat", 1, Decimal("100.00")),
        ("Hat", 3, Decimal("30.00")),
    ]


def test_top_products_add_up_the_variants_of_a_product():
    product = ProductFactory(name="Shirt")
    small, large = variant("10.00", product=product), variant("12.00", product=product)
    order_with_items([(small, 1), (large, 2)], placed_at=at(2025, 3, 1, 12))

    ranking = selectors.top_products(period=MARCH_1)

    assert ranking["by_quantity"] == [
        {
            "product_id": product.pk,
            "name": "Shirt",
            "quantity": 3,
            "revenue": Decimal("34.00"),
            "refunded": Decimal("0.00"),
            "revenue_after_refunds": Decimal("34.00"),
        }
    ]


def test_top_products_keep_deleted_products_apart_by_their_sold_name():
    gone_a = variant("5.00", product=ProductFactory(name="Old A"))
    gone_b = variant("7.00", product=ProductFactory(name="Old B"))
    order_with_items([(gone_a, 1), (gone_b, 2)], placed_at=at(2025, 3, 1, 12))
    gone_a.product.delete()
    gone_b.product.delete()

    ranking = selectors.top_products(period=MARCH_1)

    assert [(p["product_id"], p["name"], p["quantity"]) for p in ranking["by_quantity"]] == [
        (None, "Old B", 2),
        (None, "Old A", 1),
    ]


def test_top_products_run_two_queries(django_assert_num_queries):
    for _ in range(4):
        order_with_items([(variant("2.00"), 2)], placed_at=at(2025, 3, 1, 12))

    with django_assert_num_queries(2):
        selectors.top_products(period=MARCH_1, limit=3)


def test_revenue_by_category_rolls_descendants_up_to_their_root():
    clothes = CategoryFactory(name="Clothes")
    shirts = CategoryFactory(name="Shirts", parent=clothes)
    polos = CategoryFactory(name="Polos", parent=shirts)
    books = CategoryFactory(name="Books")
    order_with_items(
        [
            (variant("10.00", product=ProductFactory(category=clothes)), 1),
            (variant("20.00", product=ProductFactory(category=shirts)), 2),
            (variant("5.00", product=ProductFactory(category=polos)), 3),
            (variant("8.00", product=ProductFactory(category=books)), 1),
        ],
        placed_at=at(2025, 3, 1, 12),
    )

    rows = selectors.revenue_by_category(period=MARCH_1)

    assert rows == [
        {
            "category_id": clothes.pk,
            "name": "Clothes",
            "slug": clothes.slug,
            "revenue": Decimal("65.00"),
            "refunded": Decimal("0.00"),
            "revenue_after_refunds": Decimal("65.00"),
            "quantity": 6,
        },
        {
            "category_id": books.pk,
            "name": "Books",
            "slug": books.slug,
            "revenue": Decimal("8.00"),
            "refunded": Decimal("0.00"),
            "revenue_after_refunds": Decimal("8.00"),
            "quantity": 1,
        },
    ]


def test_revenue_by_category_puts_deleted_products_in_an_entry_without_category():
    kept = variant("10.00")
    gone = variant("4.00")
    order_with_items([(kept, 1), (gone, 1)], placed_at=at(2025, 3, 1, 12))
    gone.product.delete()

    rows = selectors.revenue_by_category(period=MARCH_1)

    assert [(r["category_id"], r["revenue"]) for r in rows] == [
        (kept.product.category_id, Decimal("10.00")),
        (None, Decimal("4.00")),
    ]


def test_revenue_by_category_runs_two_queries(django_assert_num_queries):
    root = CategoryFactory()
    for _ in range(3):
        child = CategoryFactory(parent=root)
        order_with_items(
            [(variant("3.00", product=ProductFactory(category=child)), 1)],
            placed_at=at(2025, 3, 1, 12),
        )

    with django_assert_num_queries(2):
        selectors.revenue_by_category(period=MARCH_1)


def test_low_stock_variants_are_those_below_the_threshold_lowest_first(settings):
    settings.LOW_STOCK_THRESHOLD = 5
    VariantFactory(sku="AT-5", stock_quantity=5)
    VariantFactory(sku="AT-4", stock_quantity=4)
    VariantFactory(sku="AT-0", stock_quantity=0)

    assert [v.sku for v in selectors.low_stock_variants()] == ["AT-0", "AT-4"]
