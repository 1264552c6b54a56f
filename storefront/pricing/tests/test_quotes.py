"""The pricing pipeline: quotes, shipping, and checkout charging exactly the quote."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from storefront.carts.models import Cart, CartItem
from storefront.catalog.tests.factories import VariantFactory
from storefront.orders.models import Order
from storefront.pricing import quotes
from storefront.pricing.models import ShippingMethod, ShippingZone, ShippingZoneCountry
from storefront.pricing.tests.factories import domestic_zone, rest_of_world_zone

pytestmark = pytest.mark.django_db

US = {
    "full_name": "Ada Lovelace",
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "62701",
    "country": "US",
}
FR = {**US, "city": "Paris", "postal_code": "75001", "country": "FR"}
JP = {**US, "city": "Tokyo", "postal_code": "100-0001", "country": "JP"}


@pytest.fixture
def zones():
    """Domestic (US, CA) and the rest of the world (tests/factories.py); Europe (FR) with
    only an inactive method."""
    domestic_zone("US", "CA")
    rest_of_world_zone()
    europe = ShippingZone.objects.create(name="Europe")
    ShippingZoneCountry.objects.create(zone=europe, country="FR")
    ShippingMethod.objects.create(
        zone=europe, code="eu-paused", name="Paused", price=Decimal("1.00"), is_active=False
    )


def fill(cart: Cart, *prices_and_quantities: tuple[str, int]):
    variants = []
    for price, quantity in prices_and_quantities:
        variant = VariantFactory(price=Decimal(price), stock_quantity=10)
        CartItem.objects.create(cart=cart, variant=variant, quantity=quantity)
        variants.append(variant)
    return variants


def quote(client: APIClient, **body):
    return client.post("/api/checkout/quote/", body, format="json")


def checkout(client: APIClient, **body):
    return client.post("/api/orders/", {"phone_number": "+1 555 0100", **body}, format="json")


# --- Rounding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "rounded"),
    [("0.005", "0.01"), ("0.0049", "0.00"), ("2.675", "2.68"), ("-0.005", "-0.01"), ("7", "7.00")],
)
def test_money_rounds_half_up_to_the_cent(amount, rounded):
    assert quotes.money(Decimal(amount)) == Decimal(rounded)
    assert str(quotes.money(Decimal(amount))) == rounded


# --- Quotes ------------------------------------------------------------------------------------


def test_without_zones_a_quote_charges_no_shipping(customer_client, customer):
    fill(customer.cart, ("19.99", 2), ("5.00", 1))

    response = quote(customer_client, shipping_address=US)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["subtotal"], body["total"], body["tax_total"]) == ("44.98", "44.98", "0.00")
    assert body["shipping"] is None and body["shipping_methods"] == []
    assert body["currency"] == "USD" and body["prices_include_tax"] is False
    assert [line["line_total"] for line in body["lines"]] == ["39.98", "5.00"]
    assert body["lines"][0]["list_price"] == body["lines"][0]["unit_price"] == "19.99"
    assert body["applied"] == []


def test_a_quote_offers_the_zones_methods_and_charges_the_cheapest(
    customer_client, customer, zones
):
    fill(customer.cart, ("10.00", 2))

    body = quote(customer_client, shipping_address=US).json()

    assert body["shipping_methods"] == [
        {"code": "standard", "name": "Standard", "price": "4.99", "min_days": 3, "max_days": 5},
        {"code": "express", "name": "Express", "price": "14.99", "min_days": 1, "max_days": 2},
    ]
    assert body["shipping"]["code"] == "standard"
    assert (body["subtotal"], body["total"]) == ("20.00", "24.99")


def test_the_method_asked_for_is_charged(customer_client, customer, zones):
    fill(customer.cart, ("10.00", 2))

    body = quote(customer_client, shipping_address=US, shipping_method="express").json()

    assert body["shipping"]["code"] == "express"
    assert body["total"] == "34.99"


@pytest.mark.parametrize(("quantity", "price"), [(4, "4.99"), (5, "0.00"), (6, "0.00")])
def test_shipping_is_free_from_the_threshold_on(customer_client, customer, zones, quantity, price):
    fill(customer.cart, ("10.00", quantity))  # 40.00, 50.00 (the threshold), 60.00

    body = quote(customer_client, shipping_address=US).json()

    assert body["shipping"]["price"] == price
    assert Decimal(body["total"]) == Decimal(body["subtotal"]) + Decimal(price)
    # Express has no threshold.
    assert body["shipping_methods"][1]["price"] == "14.99"


def test_an_unlisted_country_ships_with_the_rest_of_the_world(customer_client, customer, zones):
    fill(customer.cart, ("10.00", 1))

    body = quote(customer_client, shipping_address=JP).json()

    assert [offer["code"] for offer in body["shipping_methods"]] == ["international"]
    assert body["total"] == "34.99"


def test_a_text_address_ships_within_the_store_country(customer_client, customer, zones):
    fill(customer.cart, ("10.00", 1))

    body = quote(customer_client, shipping_address="1 Main St\nSpringfield").json()

    assert body["shipping"]["code"] == "standard"  # STORE_COUNTRY is US


def test_a_listed_country_without_active_methods_gets_none(customer_client, customer, zones):
    fill(customer.cart, ("10.00", 1))

    body = quote(customer_client, shipping_address=FR).json()

    # Not the rest of the world's: France is listed, in a zone that ships nothing now.
    assert body["shipping"] is None and body["shipping_methods"] == []
    assert body["total"] == "10.00"


@pytest.mark.parametrize(
    ("address", "method"), [(US, "international"), (JP, "express"), (US, "nope"), (FR, "eu-paused")]
)
def test_a_method_not_offered_is_400(customer_client, customer, zones, address, method):
    fill(customer.cart, ("10.00", 1))

    response = quote(customer_client, shipping_address=address, shipping_method=method)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "shipping_method_unavailable"
    assert error["details"]["shipping_method"] == method
    assert error["details"]["country"] == address["country"]


def test_a_quote_reads_three_statements_whatever_the_lines(
    customer_client, customer, zones, django_assert_num_queries
):
    fill(customer.cart, *(("1.00", 1) for _ in range(6)))
    entry = customer.addresses.create(
        line1="1 Main St", city="Springfield", postal_code="62701", country="US"
    )

    # The address book entry, the cart lines, the shipping and tax rates.
    with django_assert_num_queries(3):
        response = quote(customer_client, shipping_address=entry.pk)

    assert response.status_code == 200
    assert len(response.json()["lines"]) == 6


def test_a_guest_quote_uses_the_guest_cart(zones):
    cart = Cart.objects.create()
    fill(cart, ("30.00", 2))
    client = APIClient()

    response = client.post(
        f"/api/carts/{cart.token}/quote/", {"shipping_address": US}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["shipping"]["price"] == "0.00"
    assert response.json()["total"] == "60.00"
    unknown = client.post(
        "/api/carts/00000000-0000-0000-0000-000000000000/quote/",
        {"shipping_address": US},
        format="json",
    )
    assert unknown.status_code == 404
    by_id = client.post(f"/api/carts/{cart.token}/quote/", {"shipping_address": 1}, format="json")
    assert by_id.status_code == 400


def test_a_quote_needs_an_address(customer_client, customer):
    response = quote(customer_client)
    assert response.status_code == 400
    assert "shipping_address" in response.json()["error"]["fields"]


def test_quotes_answer_401_to_anonymous():
    assert APIClient().post("/api/checkout/quote/", {"shipping_address": US}).status_code == 401


# --- Checkout charges the quote ------------------------------------------------------------


def test_checkout_charges_and_keeps_the_quote(customer_client, customer, zones):
    fill(customer.cart, ("10.00", 2))
    quoted = quote(customer_client, shipping_address=US, shipping_method="express").json()

    response = checkout(
        customer_client,
        shipping_address=US,
        shipping_method="express",
        expected_total=quoted["total"],
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["subtotal"], body["shipping_total"], body["total"]) == ("20.00", "14.99", "34.99")
    assert (body["discount_total"], body["tax_total"]) == ("0.00", "0.00")
    assert body["shipping_method"] == {"code": "express", "name": "Express"}
    [item] = body["items"]
    assert (item["list_price"], item["unit_price"], item["line_total"]) == (
        "10.00",
        "10.00",
        "20.00",
    )
    assert (item["discount_total"], item["tax_rate"], item["tax_total"]) == (
        "0.00",
        "0.0000",
        "0.00",
    )
    order = Order.objects.get()
    assert order.total == Decimal("34.99") and order.shipping_method_code == "express"
    assert order.payment.amount == Decimal("34.99")


def test_checkout_without_a_method_charges_the_cheapest(customer_client, customer, zones):
    fill(customer.cart, ("10.00", 1))

    body = checkout(customer_client, shipping_address=JP).json()

    assert body["shipping_method"] == {"code": "international", "name": "International"}
    assert body["total"] == "34.99"


def test_checkout_without_zones_charges_the_lines_as_before(customer_client, customer):
    fill(customer.cart, ("10.00", 1))

    body = checkout(customer_client, shipping_address=US).json()

    assert (body["total"], body["shipping_total"], body["shipping_method"]) == (
        "10.00",
        "0.00",
        None,
    )


def assert_nothing_changed(cart: Cart, variants) -> None:
    assert not Order.objects.exists()
    assert cart.items.count() == len(variants)
    for variant in variants:
        variant.refresh_from_db()
        assert variant.stock_quantity == 10


def test_a_price_changed_since_the_quote_is_409_with_the_new_quote(
    customer_client, customer, zones
):
    [variant] = fill(customer.cart, ("10.00", 2))
    quoted = quote(customer_client, shipping_address=US).json()
    variant.price = Decimal("12.50")
    variant.save()

    response = checkout(customer_client, shipping_address=US, expected_total=quoted["total"])

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "price_changed"
    assert error["details"]["expected_total"] == "24.99"
    assert error["details"]["quote"]["total"] == "29.99"
    assert error["details"]["quote"] == quote(customer_client, shipping_address=US).json()
    assert_nothing_changed(customer.cart, [variant])


@pytest.mark.parametrize(
    ("address", "method"), [(FR, None), (US, "international"), (US, "nope"), (FR, "eu-paused")]
)
def test_checkout_that_cannot_ship_is_400_and_changes_nothing(
    customer_client, customer, zones, address, method
):
    variants = fill(customer.cart, ("10.00", 1))
    body = {"shipping_address": address}
    if method:
        body["shipping_method"] = method

    response = checkout(customer_client, **body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "shipping_method_unavailable"
    assert_nothing_changed(customer.cart, variants)


@pytest.mark.parametrize(
    "bad",
    [
        {"expected_total": "-1.00"},
        {"expected_total": "1.234"},
        {"expected_total": "x"},
        {"shipping_method": "not a slug"},
        {"shipping_method": "s" * 65},
    ],
)
def test_bad_pricing_input_is_400_and_changes_nothing(customer_client, customer, zones, bad):
    variants = fill(customer.cart, ("10.00", 1))

    response = checkout(customer_client, shipping_address=US, **bad)

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == set(bad)
    assert_nothing_changed(customer.cart, variants)


def test_a_guest_checks_out_with_a_shipping_method_at_the_quoted_total(zones):
    cart = Cart.objects.create()
    fill(cart, ("10.00", 1))
    client = APIClient()
    quoted = client.post(
        f"/api/carts/{cart.token}/quote/",
        {"shipping_address": US, "shipping_method": "express"},
        format="json",
    ).json()

    response = client.post(
        f"/api/carts/{cart.token}/checkout/",
        {
            "email": "guest@example.com",
            "phone_number": "+1 555 0100",
            "shipping_address": US,
            "shipping_method": "express",
            "expected_total": quoted["total"],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["total"] == quoted["total"] == "24.99"


def test_the_replay_of_a_checkout_with_a_method_returns_the_order(customer_client, customer, zones):
    fill(customer.cart, ("10.00", 1))
    body = {"phone_number": "+1 555 0100", "shipping_address": US, "shipping_method": "express"}

    first = customer_client.post("/api/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    replay = customer_client.post("/api/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    other = customer_client.post(
        "/api/orders/",
        {**body, "shipping_method": "standard"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
    )

    assert (first.status_code, replay.status_code, other.status_code) == (201, 200, 422)
    assert Order.objects.count() == 1
