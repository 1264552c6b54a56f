"""Structured addresses at checkout: an object, an address book id or text, kept on the order
as text and as a postal address (storefront.accounts.addresses)."""

import pytest
from django.core.checks import run_checks
from rest_framework.test import APIClient

from storefront.accounts import addresses
from storefront.accounts.tests.factories import AddressFactory
from storefront.carts.models import Cart, CartItem
from storefront.catalog.tests.factories import VariantFactory
from storefront.orders import services
from storefront.orders.models import Order

pytestmark = pytest.mark.django_db

ADA = {
    "full_name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "line2": "Flat 3",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "gb",
    "region": "Greater London",
    "phone": "+44 20 7946 0000",
}
ADA_STORED = {**ADA, "country": "GB"}
ADA_TEXT = (
    "Ada Lovelace\n12 St James's Square\nFlat 3\nSW1Y 4JH London\nGreater London\nUnited Kingdom"
)


def fill_cart(cart: Cart, quantity: int = 1):
    variant = VariantFactory(stock_quantity=10)
    CartItem.objects.create(cart=cart, variant=variant, quantity=quantity)
    return variant


def checkout(client: APIClient, **body):
    return client.post("/api/orders/", {"phone_number": "+1 555 0100", **body}, format="json")


def guest_checkout(cart: Cart, **body):
    return APIClient().post(
        f"/api/carts/{cart.token}/checkout/",
        {"email": "guest@example.com", "phone_number": "+1 555 0100", **body},
        format="json",
    )


def unchanged(cart: Cart, variant) -> bool:
    variant.refresh_from_db()
    return not Order.objects.exists() and cart.items.count() == 1 and variant.stock_quantity == 10


# --- What the order keeps ----------------------------------------------------------------------


def test_an_address_object_is_kept_as_given_and_rendered_as_text(customer_client, customer):
    fill_cart(customer.cart)

    response = checkout(customer_client, shipping_address=ADA)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["shipping_address_details"] == ADA_STORED
    assert body["shipping_address"] == ADA_TEXT
    # billing_address left out: the shipping address.
    assert body["billing_address_details"] == ADA_STORED
    assert body["billing_address"] == ADA_TEXT
    order = Order.objects.get()
    assert order.shipping_address_details == ADA_STORED
    assert customer_client.get(response["Location"]).json() == body


def test_optional_fields_left_out_are_kept_empty(customer_client, customer):
    fill_cart(customer.cart)
    minimal = {key: ADA[key] for key in ("full_name", "line1", "city", "postal_code", "country")}

    body = checkout(customer_client, shipping_address=minimal).json()

    assert body["shipping_address_details"] == {
        **minimal,
        "country": "GB",
        "line2": "",
        "region": "",
        "phone": "",
    }
    assert body["shipping_address"] == (
        "Ada Lovelace\n12 St James's Square\nSW1Y 4JH London\nUnited Kingdom"
    )


def test_an_address_book_id_is_kept_as_that_entry_is_at_checkout(customer_client, customer):
    fill_cart(customer.cart)
    entry = AddressFactory(customer=customer, line2="Unit 9", region="CA", country="US")

    body = checkout(customer_client, shipping_address=ADA, billing_address=entry.pk).json()
    entry.line1 = "changed later"
    entry.save()

    details = Order.objects.get().billing_address_details
    assert details == body["billing_address_details"]
    assert details["line1"] != "changed later"
    assert (details["line2"], details["region"], details["country"]) == ("Unit 9", "CA", "US")
    assert body["billing_address"] == entry.as_text().replace("changed later", details["line1"])
    assert body["shipping_address_details"] == ADA_STORED


@pytest.mark.parametrize("country", ["US", "FR"])
def test_a_text_address_takes_the_store_country(customer_client, customer, settings, country):
    settings.STORE_COUNTRY = country
    fill_cart(customer.cart)

    body = checkout(customer_client, shipping_address="1 Main St\nSpringfield").json()

    assert body["shipping_address"] == "1 Main St\nSpringfield"  # as clients read it today
    assert body["shipping_address_details"] == {
        **dict.fromkeys(addresses.FIELDS, ""),
        "line1": "1 Main St\nSpringfield",
        "country": country,
    }


def test_a_guest_checks_out_with_address_objects(customer):
    cart = Cart.objects.create()
    fill_cart(cart)
    billing = {**ADA, "line1": "1 Billing Rd", "line2": "", "region": ""}

    response = guest_checkout(cart, shipping_address=ADA, billing_address=billing)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["shipping_address_details"] == ADA_STORED
    assert body["billing_address_details"]["line1"] == "1 Billing Rd"
    opened = APIClient().get(f"/api/guest-orders/{body['access_token']}/").json()
    assert opened["shipping_address_details"] == ADA_STORED


def test_the_same_address_object_replays_and_another_is_a_reused_key(customer_client, customer):
    fill_cart(customer.cart)
    key = {"HTTP_IDEMPOTENCY_KEY": "once"}
    first = customer_client.post(
        "/api/orders/",
        {"phone_number": "+1 555 0100", "shipping_address": ADA},
        format="json",
        **key,
    )
    # The same address, its keys in another order and the country in another case.
    same = dict(reversed(list({**ADA, "country": "GB"}.items())))
    replay = customer_client.post(
        "/api/orders/",
        {"phone_number": "+1 555 0100", "shipping_address": same},
        format="json",
        **key,
    )
    other = customer_client.post(
        "/api/orders/",
        {"phone_number": "+1 555 0100", "shipping_address": {**ADA, "line2": "Flat 4"}},
        format="json",
        **key,
    )

    assert (first.status_code, replay.status_code, other.status_code) == (201, 200, 422)
    assert replay.json() == first.json()
    assert replay.content == first.content  # byte for byte: the keys in the same order
    assert Order.objects.count() == 1


@pytest.mark.parametrize("lines", [1, 8])
def test_an_address_object_costs_no_statement_and_an_id_one(
    customer_client, customer, lines, django_assert_num_queries
):
    for _ in range(lines):
        fill_cart(customer.cart)
    entry = AddressFactory(customer=customer)

    # The checkout's 8 with an Idempotency-Key (orders/tests/test_api.py), plus the one read
    # of the address book.
    with django_assert_num_queries(9):
        response = customer_client.post(
            "/api/orders/",
            {"phone_number": "+1 555 0100", "shipping_address": ADA, "billing_address": entry.pk},
            format="json",
            HTTP_IDEMPOTENCY_KEY="once",
        )

    assert response.status_code == 201


# --- Bad addresses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "field"),
    [
        ({**ADA, "country": "XX"}, "country"),
        ({**ADA, "country": "GBR"}, "country"),
        ({**ADA, "country": "United Kingdom"}, "country"),
        ({key: value for key, value in ADA.items() if key != "line1"}, "line1"),
        ({key: value for key, value in ADA.items() if key != "city"}, "city"),
        ({**ADA, "city": "  "}, "city"),
        ({key: value for key, value in ADA.items() if key != "postal_code"}, "postal_code"),
        ({key: value for key, value in ADA.items() if key != "full_name"}, "full_name"),
        ({**ADA, "phone": "call me"}, "phone"),
        ({**ADA, "line1": "x" * 256}, "line1"),
        ({**ADA, "region": ["CA"]}, "region"),
    ],
    ids=[
        "unknown-country",
        "alpha-3",
        "country-name",
        "no-line1",
        "no-city",
        "blank-city",
        "no-postal-code",
        "no-full-name",
        "bad-phone",
        "line1-too-long",
        "region-not-text",
    ],
)
@pytest.mark.parametrize("name", ["shipping_address", "billing_address"])
def test_a_bad_address_object_is_400_naming_the_field_and_changes_nothing(
    customer_client, customer, address, field, name
):
    variant = fill_cart(customer.cart)
    body = {"shipping_address": ADA, name: address}

    response = checkout(customer_client, **body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [name]
    assert list(error["fields"][name]) == [field]
    assert error["message"].startswith(f"{name}.{field}: ")
    assert unchanged(customer.cart, variant)


def test_another_customers_address_id_is_400_naming_the_field(customer_client, customer):
    variant = fill_cart(customer.cart)
    theirs = AddressFactory()

    response = checkout(customer_client, shipping_address=ADA, billing_address=theirs.pk)

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "billing_address": ["No address of yours has this id."]
    }
    assert unchanged(customer.cart, variant)


@pytest.mark.parametrize(
    ("address", "field"),
    [
        (7, "shipping_address"),
        ({**ADA, "country": "XX"}, "shipping_address"),
    ],
    ids=["an-id", "unknown-country"],
)
def test_a_guest_gets_400_for_an_id_or_a_bad_object_and_nothing_changes(address, field):
    cart = Cart.objects.create()
    variant = fill_cart(cart)
    AddressFactory(pk=7)

    response = guest_checkout(cart, shipping_address=address)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert unchanged(cart, variant)


# --- Rendering, anonymisation, settings ----------------------------------------------------------


def test_a_postal_address_renders_each_known_part_on_its_line():
    assert addresses.as_text(ADA_STORED) == ADA_TEXT
    assert addresses.as_text({**addresses.normalised(ADA), "full_name": ""}) == (
        ADA_TEXT.removeprefix("Ada Lovelace\n")
    )
    assert addresses.as_text(addresses.from_text("PO Box 1")) == "PO Box 1"


def test_scrubbing_an_anonymised_customers_orders_keeps_only_country_and_region(
    customer_client, customer
):
    fill_cart(customer.cart)
    checkout(customer_client, shipping_address=ADA)

    services.anonymise_customer(customer=customer, scrub_orders=True)

    order = Order.objects.get()
    assert order.shipping_address == services.REDACTED
    assert order.shipping_address_details == {
        **dict.fromkeys(addresses.FIELDS, ""),
        "line1": services.REDACTED,
        "country": "GB",
        "region": "Greater London",
    }
    assert order.billing_address_details == order.shipping_address_details


def test_an_unknown_store_country_fails_the_system_checks(settings):
    settings.STORE_COUNTRY = "XX"
    assert "storefront.E005" in [error.id for error in run_checks()]
    settings.STORE_COUNTRY = "GB"
    assert "storefront.E005" not in [error.id for error in run_checks()]
