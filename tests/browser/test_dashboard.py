"""The staff sales dashboard in a real browser: figures, a drawn chart, top products, low
stock."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from storefront.accounts.tests.factories import StaffFactory
from storefront.catalog.tests.factories import ProductFactory, VariantFactory
from storefront.orders.tests.factories import order_with_items

from .helpers import log_in_to_admin

pytestmark = pytest.mark.django_db(transaction=True)

# Non-transparent pixels of the chart's canvas (alpha channel of RGBA data).
PAINTED_PIXELS = """(canvas) => {
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) painted += 1; }
  return painted;
}"""
CHART_DATA = """(canvas) => {
  const chart = Chart.getChart(canvas);
  return chart.data.datasets.map((dataset) => dataset.data);
}"""


def test_staff_see_figures_chart_top_products_and_low_stock(page):
    staff = StaffFactory(email="manager@example.com")
    teapot = VariantFactory(
        price=Decimal("25.00"), sku="TEA-1", stock_quantity=2, product=ProductFactory(name="Teapot")
    )
    cup = VariantFactory(
        price=Decimal("5.00"), stock_quantity=50, product=ProductFactory(name="Cup")
    )
    # Early today and three days ago (local time), whatever the time the test runs.
    today = timezone.localtime().replace(hour=0, minute=0, second=1, microsecond=0)
    order_with_items([(teapot, 2), (cup, 4)], placed_at=today)  # 70.00
    order_with_items([(cup, 2)], placed_at=today - dt.timedelta(days=3))  # 10.00

    log_in_to_admin(page, staff.email)
    page.click("text=Sales dashboard")

    assert page.inner_text("#figure-revenue") == "80.00 USD"
    assert page.inner_text("#figure-orders") == "2"
    assert page.inner_text("#figure-average") == "40.00 USD"
    assert page.inner_text("#figure-items") == "8"
    assert page.inner_text("#top-products tbody tr:first-child td:first-child") == "Teapot"
    assert "TEA-1" in page.inner_text("#low-stock")

    canvas = page.wait_for_selector("#sales-chart[data-chart-ready=true]")
    revenue, orders = canvas.evaluate(CHART_DATA)
    assert len(revenue) == 30
    assert revenue[-1] == 70 and revenue[-4] == 10 and sum(revenue) == 80
    assert orders[-1] == 1 and sum(orders) == 2
    assert canvas.evaluate(PAINTED_PIXELS) > 1000


# What the chart would show: the tooltip of the last bar, and the revenue axis's ticks.
CHART_TEXT = """(canvas) => {
  const chart = Chart.getChart(canvas);
  const last = chart.data.labels.length - 1;
  chart.tooltip.setActiveElements(
    [{ datasetIndex: 0, index: last }, { datasetIndex: 1, index: last }], { x: 0, y: 0 }
  );
  chart.update();
  return {
    tooltip: chart.tooltip.body.flatMap((item) => item.lines),
    ticks: chart.scales.revenue.ticks.map((tick) => tick.label),
  };
}"""


def test_the_chart_shows_amounts_with_two_decimals(page):
    staff = StaffFactory(email="manager@example.com")
    today = timezone.localtime().replace(hour=0, minute=0, second=1, microsecond=0)
    order_with_items([(VariantFactory(price=Decimal("12.50")), 1)], placed_at=today)

    log_in_to_admin(page, staff.email)
    page.goto("/admin/analytics/salesdashboard/")
    canvas = page.wait_for_selector("#sales-chart[data-chart-ready=true]")
    shown = canvas.evaluate(CHART_TEXT)

    assert shown["tooltip"] == ["Revenue (USD): 12.50", "Orders: 1"]
    assert shown["ticks"][0] == "0.00"
    assert all(re.fullmatch(r"\d+\.\d\d", tick) for tick in shown["ticks"])


def test_changing_the_period_and_interval_redraws_the_dashboard(page):
    staff = StaffFactory(email="manager@example.com")
    variant = VariantFactory(price=Decimal("10.00"))
    order_with_items([(variant, 1)], placed_at=dt.datetime(2025, 2, 10, 12, tzinfo=dt.UTC))

    log_in_to_admin(page, staff.email)
    page.goto("/admin/analytics/salesdashboard/")
    page.fill("#date_from", "2025-01-01")
    page.fill("#date_to", "2025-03-31")
    page.select_option("#interval", "month")
    page.click("#dashboard-period input[type=submit]")
    page.wait_for_url("**interval=month**")

    assert page.inner_text("#figure-revenue") == "10.00 USD"
    canvas = page.wait_for_selector("#sales-chart[data-chart-ready=true]")
    revenue, _orders = canvas.evaluate(CHART_DATA)
    assert revenue == [0, 10, 0]
