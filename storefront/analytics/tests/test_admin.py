import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.catalog.tests.factories import ProductFactory, VariantFactory
from storefront.orders.tests.factories import order_with_items
from storefront.payments.models import Refund

pytestmark = pytest.mark.django_db

DASHBOARD = "admin:analytics_salesdashboard_changelist"


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory())
    return client


def sell(count: int) -> None:
    for _ in range(count):
        variant = VariantFactory(price=Decimal("10.00"), stock_quantity=2)
        order_with_items([(variant, 2)], placed_at=timezone.now() - dt.timedelta(hours=1))


def test_staff_see_the_figures_of_the_last_30_days(staff_client):
    lamp = VariantFactory(
        price=Decimal("15.00"), sku="LAMP-1", stock_quantity=1, product=ProductFactory(name="Lamp")
    )
    order_with_items([(lamp, 2)], placed_at=timezone.now() - dt.timedelta(days=2))
    order_with_items([(lamp, 1)], placed_at=timezone.now() - dt.timedelta(days=40))

    response = staff_client.get(reverse(DASHBOARD))

    assert response.status_code == 200
    assert response.context["summary"]["revenue"] == Decimal("30.00")
    assert response.context["summary"]["order_count"] == 1
    content = response.content.decode()
    assert '<dd id="figure-revenue">30.00 USD</dd>' in content
    assert "Lamp" in content  # top products
    assert "LAMP-1" in content  # low stock
    assert 'id="sales-chart-data"' in content
    assert "analytics/vendor/chart.js/chart.umd.min.js" in content


def test_staff_see_what_refunds_gave_back(staff_client):
    lamp = VariantFactory(price=Decimal("15.00"))
    order = order_with_items([(lamp, 2)], placed_at=timezone.now() - dt.timedelta(days=2))
    Refund.objects.create(
        order=order, payment=order.payment, amount=Decimal("4.50"), status="succeeded"
    )

    content = staff_client.get(reverse(DASHBOARD)).content.decode()

    assert '<dd id="figure-revenue">30.00 USD</dd>' in content
    assert '<dd id="figure-refunded">4.50 USD</dd>' in content
    assert '<dd id="figure-revenue-after-refunds">25.50 USD</dd>' in content


def test_the_period_and_interval_come_from_the_query_string(staff_client):
    response = staff_client.get(
        reverse(DASHBOARD),
        {"date_from": "2025-01-01", "date_to": "2025-03-31", "interval": "month"},
    )

    series = response.context["chart"]["series"]
    assert [point["period_start"] for point in series] == [
        dt.date(2025, 1, 1),
        dt.date(2025, 2, 1),
        dt.date(2025, 3, 1),
    ]


def test_bad_parameters_are_shown_and_the_default_period_used(staff_client):
    response = staff_client.get(reverse(DASHBOARD), {"date_from": "garbage", "interval": "year"})

    assert response.status_code == 200
    assert set(response.context["errors"]) == {"date_from", "interval"}
    assert response.context["interval"] == "day"
    assert len(response.context["chart"]["series"]) == 30


def test_customers_are_sent_to_the_admin_login(client):
    client.force_login(UserFactory())

    response = client.get(reverse(DASHBOARD))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_admin_index_links_to_the_dashboard(staff_client):
    response = staff_client.get(reverse("admin:index"))

    assert f'href="{reverse(DASHBOARD)}"' in response.content.decode()


def test_the_dashboard_has_no_add_change_or_delete_pages():
    with pytest.raises(NoReverseMatch):
        reverse("admin:analytics_salesdashboard_add")


def test_the_query_count_does_not_grow_with_the_orders(staff_client):
    sell(1)
    with CaptureQueriesContext(connection) as few:
        staff_client.get(reverse(DASHBOARD))
    sell(10)
    with CaptureQueriesContext(connection) as many:
        staff_client.get(reverse(DASHBOARD))

    assert len(many) == len(few)
