"""The order items export (storefront/orders/exports.py) and GET /api/orders/export/."""

import csv
import datetime as dt
import io
import uuid
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse
from django.urls import resolve, reverse

from storefront.catalog.tests.factories import VariantFactory
from storefront.catalog.tests.helpers import assert_error
from storefront.orders import exports
from storefront.orders.models import Order
from storefront.orders.tests.factories import OrderFactory, order_with_items
from storefront.payments.models import Refund

pytestmark = pytest.mark.django_db

URL = "/api/orders/export/"


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def export(**dates) -> list[dict[str, str]]:
    dates = {"date_from": None, "date_to": None, **dates}
    return rows("".join(exports.iter_order_items_csv(**dates)))


def refund(order: Order, amount: str, status: str = Refund.Status.SUCCEEDED) -> Refund:
    return Refund.objects.create(
        order=order, payment=order.payment, amount=Decimal(amount), status=status
    )


def streamed(response) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


@pytest.fixture
def shirt_and_mug_order() -> Order:
    """SF-2001 of ada@example.com, placed 2026-01-10 09:30 UTC: 2 x SHIRT-M at 12.50 and
    1 x MUG at 8.00; subtotal 33.00, discount 3.00, shipping 4.90, tax 6.98, total 41.88;
    refunds of 5.00 and 2.50 succeeded, 10.00 failed and 1.00 pending."""
    shirt = VariantFactory(sku="SHIRT-M", name="M", price=Decimal("12.50"), product__name="Shirt")
    mug = VariantFactory(sku="MUG", name="", price=Decimal("8.00"), product__name="Mug")
    order = order_with_items(
        [(shirt, 2), (mug, 1)],
        placed_at=at(2026, 1, 10, 9, 30),
        number="SF-2001",
        customer__email="ada@example.com",
        status=Order.Status.SHIPPED,
    )
    Order.objects.filter(pk=order.pk).update(
        discount_total=Decimal("3.00"),
        shipping_total=Decimal("4.90"),
        tax_total=Decimal("6.98"),
        total=Decimal("41.88"),
    )
    refund(order, "5.00")
    refund(order, "2.50")
    refund(order, "10.00", Refund.Status.FAILED)
    refund(order, "1.00", Refund.Status.PENDING)
    return order


def test_the_header_names_the_columns():
    text = "".join(exports.iter_order_items_csv(date_from=None, date_to=None))

    assert text == ",".join(exports.COLUMNS) + "\r\n"


def test_one_row_per_order_item_with_the_orders_amounts_repeated(shirt_and_mug_order):
    order_amounts = {
        "order_number": "SF-2001",
        "placed_at": "2026-01-10T09:30:00+00:00",
        "status": "shipped",
        "customer_email": "ada@example.com",
        "currency": "USD",
        "order_subtotal": "33.00",
        "order_discount": "3.00",
        "order_shipping": "4.90",
        "order_tax": "6.98",
        "order_total": "41.88",
        "order_refunded": "7.50",
    }

    assert export() == [
        {
            **order_amounts,
            "sku": "SHIRT-M",
            "product_name": "Shirt",
            "variant_name": "M",
            "quantity": "2",
            "unit_price": "12.50",
            "line_total": "25.00",
        },
        {
            **order_amounts,
            "sku": "MUG",
            "product_name": "Mug",
            "variant_name": "",
            "quantity": "1",
            "unit_price": "8.00",
            "line_total": "8.00",
        },
    ]


def test_an_order_without_refunds_has_refunded_zero():
    order_with_items([(VariantFactory(), 1)])

    (row,) = export()

    assert row["order_refunded"] == "0.00"


def test_the_email_is_the_checkouts_else_the_accounts_and_a_guests_own():
    order_with_items([(VariantFactory(), 1)], email="", customer__email="account@example.com")
    guest = OrderFactory(customer=None, email="guest@example.com", guest_cart_token=uuid.uuid4())
    guest.items.create(
        product_name="Cap", sku="CAP", list_price=1, unit_price=1, quantity=1, line_total=1
    )

    assert [row["customer_email"] for row in export()] == [
        "account@example.com",
        "guest@example.com",
    ]


def test_orders_come_oldest_first_and_those_without_items_are_left_out():
    variant = VariantFactory()
    newer = order_with_items([(variant, 1)], placed_at=at(2026, 1, 12))
    older = order_with_items([(variant, 1)], placed_at=at(2026, 1, 11))
    OrderFactory(placed_at=at(2026, 1, 11, 12))

    assert [row["order_number"] for row in export()] == [older.number, newer.number]


def test_placed_at_is_written_in_the_stores_time_zone(settings, shirt_and_mug_order):
    settings.TIME_ZONE = "Asia/Tokyo"

    assert export()[0]["placed_at"] == "2026-01-10T18:30:00+09:00"


def test_dates_are_inclusive_at_the_day_edges_in_the_stores_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"  # UTC-5 in winter
    variant = VariantFactory()
    placed = {
        "before": at(2026, 1, 10, 4, 59, 59),  # Jan 9, 23:59:59 in New York
        "first": at(2026, 1, 10, 5),  # Jan 10, 00:00
        "last": at(2026, 1, 12, 4, 59, 59),  # Jan 11, 23:59:59
        "after": at(2026, 1, 12, 5),  # Jan 12, 00:00
    }
    numbers = {
        name: order_with_items([(variant, 1)], placed_at=when).number
        for name, when in placed.items()
    }

    found = export(date_from=dt.date(2026, 1, 10), date_to=dt.date(2026, 1, 11))

    assert [row["order_number"] for row in found] == [numbers["first"], numbers["last"]]
    assert found[0]["placed_at"] == "2026-01-10T00:00:00-05:00"
    after = export(date_from=dt.date(2026, 1, 11))
    assert [row["order_number"] for row in after] == [numbers["last"], numbers["after"]]
    until = export(date_to=dt.date(2026, 1, 9))
    assert [row["order_number"] for row in until] == [numbers["before"]]


def test_orders_placed_at_the_same_instant_are_paged_without_loss_or_repeat():
    variant = VariantFactory()
    instant = at(2026, 1, 10, 12)
    numbers = [order_with_items([(variant, 1)], placed_at=instant).number for _ in range(7)]

    text = "".join(exports.iter_order_items_csv(date_from=None, date_to=None, page_size=3))

    assert [row["order_number"] for row in rows(text)] == numbers


# --- Queries ------------------------------------------------------------------------------


def make_orders(count: int) -> None:
    for day in range(count):
        order = order_with_items(
            [(VariantFactory(), 1), (VariantFactory(), 2)], placed_at=at(2026, 1, 1 + day % 28)
        )
        refund(order, "1.00")


@pytest.mark.parametrize("count", [3, 30])
def test_one_page_costs_two_queries_whatever_it_holds(django_assert_num_queries, count):
    make_orders(count)

    with django_assert_num_queries(2):
        found = export()

    assert len(found) == 2 * count


def test_each_page_costs_two_queries(django_assert_num_queries):
    make_orders(25)

    # Pages of 10, 10 and 5 orders: the short last page ends the export.
    with django_assert_num_queries(3 * 2):
        text = "".join(exports.iter_order_items_csv(date_from=None, date_to=None, page_size=10))

    assert len(rows(text)) == 50


def test_the_api_costs_the_exports_queries(staff_client, django_assert_num_queries):
    make_orders(30)

    with django_assert_num_queries(2):
        text = streamed(staff_client.get(URL, {"format": "csv"}))

    assert len(rows(text)) == 60


# --- The API ------------------------------------------------------------------------------


def test_the_path_is_not_taken_for_an_order_id():
    assert resolve(URL).url_name == "order-export"
    assert reverse("order-export") == URL


def test_staff_download_the_items_of_a_period_as_an_attachment(
    staff_client, settings, time_machine, shirt_and_mug_order
):
    settings.TIME_ZONE = "Asia/Tokyo"
    time_machine.move_to("2026-03-01T20:00:00Z", tick=False)  # March 2 in Tokyo

    response = staff_client.get(
        URL, {"format": "csv", "date_from": "2026-01-10", "date_to": "2026-01-10"}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="orders-20260302.csv"'
    assert [row["sku"] for row in rows(streamed(response))] == ["SHIRT-M", "MUG"]


def test_the_api_filters_by_the_dates_given(staff_client, shirt_and_mug_order):
    response = staff_client.get(URL, {"date_from": "2026-01-11"})

    assert rows(streamed(response)) == []


def test_the_format_defaults_to_csv_and_empty_parameters_read_as_absent(
    staff_client, shirt_and_mug_order
):
    response = staff_client.get(URL, {"format": "", "date_from": "", "date_to": ""})

    assert response.status_code == 200
    assert len(rows(streamed(response))) == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2026-02-30"}, "date_from"),
        ({"date_to": "yesterday"}, "date_to"),
        ({"date_from": "2026-01-11", "date_to": "2026-01-10"}, "date_from"),
        ({"date_from": "0001-01-01"}, "date_from"),
        ({"date_to": "9999-12-31"}, "date_to"),
        ({"format": "json"}, "format"),
        ({"format": "xlsx"}, "format"),
        ({"placed_after": "2026-01-01"}, "placed_after"),
    ],
)
def test_bad_parameters_are_a_400_in_the_error_shape(staff_client, params, field):
    response = staff_client.get(URL, params)

    error = assert_error(response, 400, "invalid")
    assert list(error["fields"]) == [field]


def test_anonymous_callers_get_401(api_client):
    assert_error(api_client.get(URL), 401, "not_authenticated")


def test_customers_get_403(customer_client):
    assert_error(customer_client.get(URL, {"format": "csv"}), 403, "permission_denied")
