import csv
import datetime as dt
import io
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.catalog.tests.factories import CategoryFactory, ProductFactory, VariantFactory
from storefront.orders.tests.factories import order_with_items

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "analytics-summary",
    "analytics-top-products",
    "analytics-sales",
    "analytics-sales-csv",
    "analytics-revenue-by-category",
    "analytics-discounts",
    "analytics-refunds",
]


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture
def staff_client(api_client):
    api_client.force_authenticate(StaffFactory())
    return api_client


@pytest.fixture
def march_sales():
    """Two sold orders on 2025-03-01 and 2025-03-03 (UTC), and a cancelled one."""
    socks = VariantFactory(price=Decimal("2.50"), product=ProductFactory(name="Socks"))
    coat = VariantFactory(price=Decimal("80.00"), product=ProductFactory(name="Coat"))
    order_with_items([(socks, 4), (coat, 1)], placed_at=at(2025, 3, 1, 10))  # 90.00
    order_with_items([(socks, 2)], placed_at=at(2025, 3, 3, 10))  # 5.00
    order_with_items([(coat, 3)], placed_at=at(2025, 3, 2, 10), status="cancelled")


@pytest.mark.parametrize("name", ENDPOINTS)
def test_anonymous_callers_get_401(api_client, name):
    response = api_client.get(reverse(name))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("name", ENDPOINTS)
def test_customers_get_403(api_client, name):
    api_client.force_authenticate(UserFactory())

    response = api_client.get(reverse(name))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("name", ENDPOINTS)
def test_staff_get_200_with_default_parameters(staff_client, name):
    assert staff_client.get(reverse(name)).status_code == 200


def test_summary_reports_figures_as_strings_in_the_store_currency(staff_client, march_sales):
    response = staff_client.get(
        reverse("analytics-summary"), {"date_from": "2025-03-01", "date_to": "2025-03-31"}
    )

    assert response.json() == {
        "date_from": "2025-03-01",
        "date_to": "2025-03-31",
        "currency": "USD",
        "revenue": "95.00",
        "net_revenue": "95.00",
        "subtotal": "95.00",
        "discount_total": "0.00",
        "shipping_total": "0.00",
        "tax_total": "0.00",
        "refunded": "0.00",
        "revenue_after_refunds": "95.00",
        "order_count": 2,
        "average_order_value": "47.50",
        "items_sold": 7,
    }


def test_guest_orders_count_like_any_other(staff_client):
    mug = VariantFactory(price=Decimal("12.00"))
    order_with_items([(mug, 1)], placed_at=at(2025, 4, 1, 10))
    order_with_items(
        [(mug, 2)],
        placed_at=at(2025, 4, 2, 10),
        customer=None,
        guest_cart_token=uuid.uuid4(),
        email="guest@example.com",
    )

    response = staff_client.get(
        reverse("analytics-summary"), {"date_from": "2025-04-01", "date_to": "2025-04-30"}
    )

    assert (response.json()["order_count"], response.json()["revenue"]) == (2, "36.00")


def test_summary_defaults_to_the_last_30_days(staff_client):
    data = staff_client.get(reverse("analytics-summary")).json()

    period = dt.date.fromisoformat(data["date_to"]) - dt.date.fromisoformat(data["date_from"])
    assert period == dt.timedelta(days=29)


def test_top_products_rank_and_limit(staff_client, march_sales):
    response = staff_client.get(
        reverse("analytics-top-products"),
        {"date_from": "2025-03-01", "date_to": "2025-03-31", "limit": 1},
    )

    data = response.json()
    assert [(p["name"], p["quantity"], p["revenue"]) for p in data["by_quantity"]] == [
        ("Socks", 6, "15.00")
    ]
    assert [(p["name"], p["quantity"], p["revenue"]) for p in data["by_revenue"]] == [
        ("Coat", 1, "80.00")
    ]


def test_sales_series_by_day_includes_empty_days(staff_client, march_sales):
    response = staff_client.get(
        reverse("analytics-sales"),
        {"date_from": "2025-03-01", "date_to": "2025-03-04", "interval": "day"},
    )

    data = response.json()
    assert data["interval"] == "day"
    assert [
        (p["period_start"], p["orders"], p["items"], p["revenue"]) for p in data["results"]
    ] == [
        ("2025-03-01", 1, 5, "90.00"),
        ("2025-03-02", 0, 0, "0.00"),
        ("2025-03-03", 1, 2, "5.00"),
        ("2025-03-04", 0, 0, "0.00"),
    ]


def test_sales_csv_has_the_same_series(staff_client, march_sales):
    response = staff_client.get(
        reverse("analytics-sales-csv"),
        {"date_from": "2025-03-01", "date_to": "2025-03-03", "interval": "day"},
    )

    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["period_start", "orders", "items", "revenue", "currency"],
        ["2025-03-01", "1", "5", "90.00", "USD"],
        ["2025-03-02", "0", "0", "0.00", "USD"],
        ["2025-03-03", "1", "2", "5.00", "USD"],
    ]


def test_revenue_by_category_rolls_up_to_top_level_categories(staff_client):
    garden = CategoryFactory(name="Garden")
    tools = CategoryFactory(name="Tools", parent=garden)
    spade = VariantFactory(price=Decimal("30.00"), product=ProductFactory(category=tools))
    pot = VariantFactory(price=Decimal("5.00"), product=ProductFactory(category=garden))
    order_with_items([(spade, 1), (pot, 2)], placed_at=at(2025, 3, 1, 10))

    response = staff_client.get(
        reverse("analytics-revenue-by-category"),
        {"date_from": "2025-03-01", "date_to": "2025-03-01"},
    )

    assert response.json()["results"] == [
        {
            "category_id": garden.pk,
            "name": "Garden",
            "slug": garden.slug,
            "revenue": "40.00",
            "refunded": "0.00",
            "revenue_after_refunds": "40.00",
            "quantity": 3,
        }
    ]


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("analytics-summary", {"date_from": "garbage"}, "date_from"),
        ("analytics-summary", {"date_to": "2025-02-30"}, "date_to"),
        ("analytics-summary", {"date_from": "2025-03-02", "date_to": "2025-03-01"}, "date_from"),
        ("analytics-summary", {"date_from": "0001-01-01"}, "date_from"),
        ("analytics-summary", {"date_to": "9999-12-31"}, "date_to"),
        ("analytics-sales", {"interval": "year"}, "interval"),
        ("analytics-sales-csv", {"interval": "year"}, "interval"),
        ("analytics-sales", {"date_from": "1970-01-01", "date_to": "2025-01-01"}, "interval"),
        ("analytics-top-products", {"limit": "-1"}, "limit"),
        ("analytics-top-products", {"limit": "0"}, "limit"),
        ("analytics-top-products", {"limit": "1000"}, "limit"),
        ("analytics-top-products", {"limit": "ten"}, "limit"),
        ("analytics-revenue-by-category", {"date_from": "03/01/2025"}, "date_from"),
        ("analytics-refunds", {"date_to": "2025-13-01"}, "date_to"),
        ("analytics-refunds", {"date_from": "2025-03-02", "date_to": "2025-03-01"}, "date_from"),
        ("analytics-refunds", {"limit": "5"}, "limit"),
    ],
)
def test_bad_parameters_answer_400_in_the_error_shape(staff_client, name, params, field):
    response = staff_client.get(reverse(name), params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert error["message"].startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("name", "queries"),
    [
        ("analytics-summary", 2),
        ("analytics-top-products", 2),
        ("analytics-sales", 2),
        ("analytics-sales-csv", 2),
        ("analytics-revenue-by-category", 2),
        ("analytics-refunds", 3),
    ],
)
def test_each_endpoint_runs_a_fixed_number_of_queries(
    staff_client, django_assert_num_queries, name, queries
):
    for day in range(1, 11):
        variant = VariantFactory(product=ProductFactory(category=CategoryFactory()))
        order_with_items([(variant, day), (VariantFactory(), 1)], placed_at=at(2025, 3, day, 9))
    params = {"date_from": "2025-03-01", "date_to": "2025-03-31"}

    with django_assert_num_queries(queries):
        response = staff_client.get(reverse(name), params)

    assert response.status_code == 200
