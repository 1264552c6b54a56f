"""Taxes in quotes and orders: a sales-tax store (net prices) and a VAT store (gross prices),
to the cent; the worked examples E to G of docs/pricing.md."""

from decimal import Decimal

import pytest
from django.core.checks import run_checks

from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import CartItem
from storefront.catalog.tests.factories import ProductFactory, VariantFactory
from storefront.orders.models import Order
from storefront.pricing import quotes
from storefront.pricing.models import (
    ShippingMethod,
    ShippingZone,
    ShippingZoneCountry,
    TaxClass,
    TaxRate,
)
from storefront.pricing.tests.factories import domestic_zone

pytestmark = pytest.mark.django_db

CALIFORNIA = {
    "full_name": "Ada Lovelace",
    "line1": "1 Market St",
    "city": "San Francisco",
    "postal_code": "94105",
    "region": "ca",
    "country": "US",
}


def line(cart, price: str, quantity: int = 1, tax_class: str = TaxClass.STANDARD) -> CartItem:
    product = ProductFactory(tax_class=tax_class)
    variant = VariantFactory(product=product, price=Decimal(price), stock_quantity=50)
    return CartItem.objects.create(cart=cart, variant=variant, quantity=quantity)


def lines_of(cart) -> list[CartItem]:
    return list(cart.items.select_related("variant__product").order_by("id"))


def quote_for(cart, *, country: str, region: str = "", method: str | None = None):
    rates = quotes.quote_context(country=country, region=region)
    return quotes.build_quote(lines=lines_of(cart), context=rates, shipping_method=method)


@pytest.fixture
def sales_tax_store(settings):
    """A US store, net prices: California's 7.25 % on the standard class, nothing elsewhere
    in the US; shipping as tests/factories.domestic_zone."""
    settings.PRICES_INCLUDE_TAX = False
    domestic_zone("US")
    TaxRate.objects.create(country="US", region="CA", rate=Decimal("0.0725"), name="Sales tax")


@pytest.fixture
def vat_store(settings):
    """A French store, gross prices: VAT 20 % standard, 5.5 % reduced, 0 % zero; France
    ships at a flat 6.00."""
    settings.PRICES_INCLUDE_TAX = True
    settings.STORE_COUNTRY = "FR"
    zone = ShippingZone.objects.create(name="France")
    ShippingZoneCountry.objects.create(zone=zone, country="FR")
    ShippingMethod.objects.create(zone=zone, code="colissimo", name="Colissimo", price="6.00")
    for tax_class, rate in (("standard", "0.2000"), ("reduced", "0.0550"), ("zero", "0")):
        TaxRate.objects.create(country="FR", tax_class=tax_class, rate=Decimal(rate), name="VAT")


def test_e_sales_tax_on_top_of_net_prices(sales_tax_store):
    cart = UserFactory().cart
    line(cart, "19.99", 2)
    line(cart, "5.00", 1)

    quote = quote_for(cart, country="US", region="ca")  # regions compare ignoring case

    # 39.98 x 0.0725 = 2.89855 -> 2.90; 5.00 x 0.0725 = 0.3625 -> 0.36; shipping 4.99 x
    # 0.0725 = 0.361775 -> 0.36.
    assert [entry.tax_total for entry in quote.lines] == [Decimal("2.90"), Decimal("0.36")]
    assert [entry.tax_rate for entry in quote.lines] == [Decimal("0.0725")] * 2
    assert quote.tax_total == Decimal("3.62")
    assert quote.total == Decimal("44.98") + Decimal("4.99") + Decimal("3.62") == Decimal("53.59")
    # Outside California: no rate, no tax.
    assert quote_for(cart, country="US", region="NY").tax_total == Decimal("0.00")


def test_f_tax_is_rounded_per_line_not_on_the_sum(sales_tax_store, settings):
    settings.SHIPPING_TAX_CLASS = "zero"  # shipping untaxed, as in California
    cart = UserFactory().cart
    for _ in range(3):
        line(cart, "0.10")

    quote = quote_for(cart, country="US", region="CA")

    # Each line: 0.10 x 0.0725 = 0.00725 -> 0.01. The sum 0.30 x 0.0725 = 0.02175 would
    # round to 0.02: the quote charges 0.03, the sum of what each line shows.
    assert [entry.tax_total for entry in quote.lines] == [Decimal("0.01")] * 3
    assert quote.tax_total == Decimal("0.03")
    assert quote.total == Decimal("0.30") + Decimal("4.99") + Decimal("0.03")


def test_g_vat_within_gross_prices(vat_store):
    cart = UserFactory().cart
    line(cart, "10.55", 1, TaxClass.REDUCED)  # a book
    line(cart, "24.00", 1, TaxClass.STANDARD)  # a shirt
    line(cart, "3.00", 1, TaxClass.ZERO)

    quote = quote_for(cart, country="FR")

    # 10.55 x 0.055 / 1.055 = 0.55; 24.00 x 0.2 / 1.2 = 4.00; 0; shipping 6.00 x 0.2 / 1.2
    # = 1.00. Gross prices: the total is what the prices say, the tax only shown.
    assert [entry.tax_total for entry in quote.lines] == [
        Decimal("0.55"),
        Decimal("4.00"),
        Decimal("0.00"),
    ]
    assert quote.tax_total == Decimal("5.55")
    assert quote.total == Decimal("37.55") + Decimal("6.00") == Decimal("43.55")
    assert quote.prices_include_tax is True


def test_many_lines_whose_rounding_differs_from_the_sum(vat_store):
    cart = UserFactory().cart
    for _ in range(7):
        line(cart, "0.99")

    quote = quote_for(cart, country="FR")

    # Each: 0.99 x 0.2 / 1.2 = 0.165 -> 0.17 (half-up); seven: 1.19 (the sum 6.93 / 6 =
    # 1.155 would round to 1.16).
    assert quote.tax_total == Decimal("1.19") + Decimal("1.00")


def test_the_order_keeps_each_lines_tax_and_the_total_tax(
    sales_tax_store, customer_client, customer
):
    line(customer.cart, "19.99", 2)
    line(customer.cart, "5.00", 1, TaxClass.ZERO)
    body = {"phone_number": "+1 555 0100", "shipping_address": CALIFORNIA}
    quoted = customer_client.post("/api/checkout/quote/", body, format="json").json()

    placed = customer_client.post(
        "/api/orders/", {**body, "expected_total": quoted["total"]}, format="json"
    )

    assert placed.status_code == 201, placed.content
    order = Order.objects.get()
    assert (order.tax_total, order.total) == (Decimal("3.26"), Decimal("53.23"))
    assert [(item.tax_rate, item.tax_total) for item in order.items.order_by("unit_price")] == [
        (Decimal("0.0000"), Decimal("0.00")),
        (Decimal("0.0725"), Decimal("2.90")),
    ]
    assert placed.json()["tax_total"] == quoted["tax_total"] == "3.26"
    assert [entry["tax_rate"] for entry in quoted["lines"]] == ["0.0725", "0.0000"]


def test_a_rate_change_after_the_quote_is_a_price_change(
    sales_tax_store, customer_client, customer
):
    line(customer.cart, "100.00", 1)
    body = {"phone_number": "+1 555 0100", "shipping_address": CALIFORNIA}
    quoted = customer_client.post("/api/checkout/quote/", body, format="json").json()
    TaxRate.objects.filter(region="CA").update(rate=Decimal("0.0800"))

    response = customer_client.post(
        "/api/orders/", {**body, "expected_total": quoted["total"]}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["details"]["quote"]["tax_total"] == "8.00"
    assert not Order.objects.exists()


def test_a_region_rate_replaces_the_country_rate_of_its_class(settings):
    TaxRate.objects.create(country="CA", rate=Decimal("0.0500"), name="GST")
    TaxRate.objects.create(country="CA", region="ON", rate=Decimal("0.1300"), name="HST")
    TaxRate.objects.create(country="CA", tax_class="reduced", rate=Decimal("0.0200"))

    ontario = quotes.quote_context(country="CA", region="On")
    alberta = quotes.quote_context(country="CA", region="AB")

    assert ontario.tax_rates == {"standard": Decimal("0.1300"), "reduced": Decimal("0.0200")}
    assert alberta.tax_rates == {"standard": Decimal("0.0500"), "reduced": Decimal("0.0200")}
    assert quotes.quote_context(country="GB").tax_rates == {}


def test_the_quote_context_takes_one_query(sales_tax_store, django_assert_num_queries):
    with django_assert_num_queries(1):
        rates = quotes.quote_context(country="US", region="CA")
    assert [method.code for method in rates.methods] == ["standard", "express"]
    assert rates.tax_rates == {"standard": Decimal("0.0725")}


def test_an_unknown_shipping_tax_class_fails_the_system_checks(settings):
    settings.SHIPPING_TAX_CLASS = "luxury"
    assert "storefront.E006" in [error.id for error in run_checks()]
