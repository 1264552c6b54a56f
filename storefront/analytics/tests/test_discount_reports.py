"""Revenue gross and net of tax with its parts, and the discount usage report, over orders
placed through checkout (the pricing pipeline) with member prices, a promotion, a voucher,
shipping and tax."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from storefront.accounts.tests.factories import UserFactory
from storefront.analytics import selectors
from storefront.carts.models import CartItem
from storefront.catalog.tests.factories import VariantFactory
from storefront.orders.services import cancel_order, place_order
from storefront.pricing.models import TaxRate
from storefront.pricing.tests.factories import (
    PromotionFactory,
    VoucherFactory,
    domestic_zone,
    membership_tiers,
)

pytestmark = pytest.mark.django_db

D = Decimal
CALIFORNIA = {
    "full_name": "Ada",
    "line1": "1 Main St",
    "city": "Los Angeles",
    "postal_code": "90001",
    "country": "US",
    "region": "CA",
}


def checkout(customer, *lines, voucher=None):
    for variant, quantity in lines:
        CartItem.objects.create(cart=customer.cart, variant=variant, quantity=quantity)
    order, _ = place_order(
        customer=customer,
        shipping_address=CALIFORNIA,
        billing_address=CALIFORNIA,
        phone_number="+1 555 0100",
        voucher_code=voucher,
    )
    return order


@pytest.fixture
def sales():
    """Three orders today: a gold member with the voucher, a guest-like bronze customer with
    the promotion only, and a cancelled one that must not count."""
    domestic_zone("US")
    membership_tiers()
    TaxRate.objects.create(country="US", region="CA", rate=D("0.10"), name="Sales tax")
    PromotionFactory(code="summer", name="Summer", value=D("20"))
    VoucherFactory(code="WELCOME10", name="Welcome", value=D("10"))
    variant = VariantFactory(price=D("20.00"), stock_quantity=100)
    gold = checkout(UserFactory(membership="gold"), (variant, 1), voucher="WELCOME10")
    bronze = checkout(UserFactory(), (variant, 2))
    cancelled = checkout(UserFactory(), (variant, 5), voucher="WELCOME10")
    cancel_order(order=cancelled, actor=None)
    return gold, bronze


def today() -> selectors.DateRange:
    day = timezone.localdate()
    return selectors.DateRange(day - dt.timedelta(days=1), day)


def test_revenue_is_reported_gross_and_net_with_its_parts(sales):
    gold, bronze = sales
    # Gold: 18.00, summer 3.60, voucher 1.44: 12.96 + shipping 4.99, tax 1.30 + 0.50.
    assert (gold.subtotal, gold.discount_total, gold.tax_total, gold.total) == (
        D("18.00"),
        D("5.04"),
        D("1.80"),
        D("19.75"),
    )
    # Bronze: 40.00, summer 8.00: 32.00 + 4.99, tax 3.20 + 0.50.
    assert bronze.total == D("40.69")

    summary = selectors.sales_summary(period=today())

    assert summary["order_count"] == 2
    assert summary["revenue"] == D("60.44")
    assert summary["tax_total"] == D("5.50")
    assert summary["net_revenue"] == D("54.94")
    assert (summary["subtotal"], summary["discount_total"], summary["shipping_total"]) == (
        D("58.00"),
        D("13.04"),
        D("9.98"),
    )
    parts = summary["subtotal"] - summary["discount_total"] + summary["shipping_total"]
    assert parts + summary["tax_total"] == summary["revenue"]


def test_product_revenue_is_what_the_lines_were_charged_after_discounts(sales):
    ranking = selectors.top_products(period=today())

    assert ranking["by_revenue"][0]["revenue"] == D("12.96") + D("32.00")


def test_the_discount_report_counts_uses_amounts_and_revenue_of_sold_orders(
    sales, django_assert_num_queries
):
    with django_assert_num_queries(1):
        report = selectors.discount_usage(period=today())

    assert report["promotions"] == [
        {
            "code": "summer",
            "name": "Summer",
            "uses": 2,
            "discount": D("11.60"),
            "revenue": D("60.44"),
        }
    ]
    assert report["vouchers"] == [
        {
            "code": "WELCOME10",
            "name": "Welcome",
            "uses": 1,
            "discount": D("1.44"),
            "revenue": D("19.75"),
        }
    ]
    assert report["membership"] == [
        {"code": "gold", "name": "Gold", "uses": 1, "discount": D("2.00"), "revenue": D("19.75")}
    ]


def test_the_discount_report_endpoint(staff_client, sales):
    day = timezone.localdate().isoformat()

    response = staff_client.get(reverse("analytics-discounts"), {"date_from": day, "date_to": day})

    assert response.status_code == 200
    body = response.json()
    assert body["vouchers"] == [
        {"code": "WELCOME10", "name": "Welcome", "uses": 1, "discount": "1.44", "revenue": "19.75"}
    ]
    assert body["currency"] == "USD"


def test_an_empty_period_reports_no_discounts():
    report = selectors.discount_usage(
        period=selectors.DateRange(dt.date(2020, 1, 1), dt.date(2020, 1, 2))
    )

    assert (report["promotions"], report["vouchers"], report["membership"]) == ([], [], [])
