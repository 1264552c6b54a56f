"""A customer's cart at their member prices: each item's `unit_price` is the member price of its
`list_price` at the tier of the customer's membership (pricing.quotes.member_price), rounded
per unit; `line_total` that times the quantity, to the cent; `total` their sum. Guest carts
show list prices. The model's amounts (CartItem.line_total, Cart.total) stay list prices."""

from decimal import Decimal

import pytest
from rest_framework import serializers
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import UserFactory
from storefront.carts.api.serializers import CartSerializer
from storefront.carts.selectors import load_cart_contents
from storefront.carts.tests.factories import CartItemFactory, GuestCartFactory
from storefront.catalog.tests.factories import ProductImageFactory, VariantFactory
from storefront.pricing.models import MembershipTier
from storefront.pricing.quotes import line_total, member_price

pytestmark = pytest.mark.django_db

TIERS = {"bronze": Decimal("0"), "silver": Decimal("5"), "gold": Decimal("10")}


@pytest.fixture(autouse=True)
def tiers():
    """The tiers of migration pricing 0003, whatever a test that flushed the tables left."""
    for code, percentage in TIERS.items():
        MembershipTier.objects.update_or_create(
            code=code, defaults={"name": code.title(), "discount_percentage": percentage}
        )


def customer_client(membership: str) -> tuple[APIClient, object]:
    customer = UserFactory(membership=membership)
    client = APIClient()
    client.force_authenticate(customer)
    return client, customer


def fill(cart) -> list:
    """Three lines whose member prices round at a half: 0.05 x 3 (gold: 0.045 -> 0.05 a unit,
    so 0.15, not 0.14), 19.99 x 2 (silver: 18.9905 -> 18.99), 12.50 x 1."""
    return [
        CartItemFactory(cart=cart, variant=VariantFactory(price=Decimal(price)), quantity=n)
        for price, n in (("0.05", 3), ("19.99", 2), ("12.50", 1))
    ]


@pytest.mark.parametrize("membership", list(TIERS))
def test_a_customers_cart_shows_their_member_prices(membership):
    client, customer = customer_client(membership)
    items = fill(customer.cart)
    percentage = TIERS[membership]

    body = client.get("/api/cart/").json()

    expected = []
    for item in items:
        unit = member_price(item.variant.price, percentage)
        expected.append(
            (
                str(item.variant.price),
                str(unit),
                str(line_total(unit_price=unit, quantity=item.quantity)),
            )
        )
    shown = [(i["list_price"], i["unit_price"], i["line_total"]) for i in body["items"]]
    assert shown == expected
    assert body["total"] == str(sum(Decimal(total) for _, _, total in expected))


def test_gold_rounds_each_unit_then_the_line():
    client, customer = customer_client("gold")
    fill(customer.cart)

    body = client.get("/api/cart/").json()

    assert [(i["unit_price"], i["line_total"]) for i in body["items"]] == [
        ("0.05", "0.15"),
        ("17.99", "35.98"),
        ("11.25", "11.25"),
    ]
    assert body["total"] == "47.38"


def test_every_answer_with_the_cart_is_at_member_prices():
    client, _ = customer_client("gold")
    variant = VariantFactory(price=Decimal("20.00"))

    added = client.post("/api/cart/items/", {"variant_id": variant.pk, "quantity": 2}).json()
    item_id = added["items"][0]["id"]
    changed = client.patch(f"/api/cart/items/{item_id}/", {"quantity": 3}, format="json").json()

    assert (added["items"][0]["unit_price"], added["total"]) == ("18.00", "36.00")
    assert (changed["items"][0]["list_price"], changed["total"]) == ("20.00", "54.00")


def test_a_merged_cart_is_at_the_customers_prices():
    client, _ = customer_client("gold")
    guest_cart = GuestCartFactory()
    CartItemFactory(cart=guest_cart, variant=VariantFactory(price=Decimal("10.00")), quantity=2)

    body = client.post("/api/cart/merge/", {"token": str(guest_cart.token)}).json()

    assert (body["items"][0]["unit_price"], body["total"]) == ("9.00", "18.00")


def test_a_guest_cart_shows_list_prices_whoever_reads_it():
    guest_cart = GuestCartFactory()
    fill(guest_cart)
    gold, _ = customer_client("gold")

    for client in (APIClient(), gold):
        body = client.get(f"/api/carts/{guest_cart.token}/").json()

        assert [(i["list_price"], i["unit_price"]) for i in body["items"]] == [
            ("0.05", "0.05"),
            ("19.99", "19.99"),
            ("12.50", "12.50"),
        ]
        assert body["total"] == "52.63"


def test_a_tier_without_a_row_prices_at_list_prices():
    client, customer = customer_client("gold")
    fill(customer.cart)
    MembershipTier.objects.filter(code="gold").delete()

    assert client.get("/api/cart/").json()["total"] == "52.63"


def test_a_tier_change_shows_on_the_next_read():
    client, customer = customer_client("gold")
    CartItemFactory(cart=customer.cart, variant=VariantFactory(price=Decimal("19.99")))
    assert client.get("/api/cart/").json()["total"] == "17.99"

    MembershipTier.objects.filter(code="gold").update(discount_percentage=Decimal("20"))

    assert client.get("/api/cart/").json()["total"] == "15.99"


def test_the_models_amounts_stay_list_prices():
    _, customer = customer_client("gold")
    fill(customer.cart)

    cart = load_cart_contents(customer.cart, membership="gold")

    assert [item.line_total for item in cart.items.all()] == [
        Decimal("0.15"),
        Decimal("39.98"),
        Decimal("12.50"),
    ]
    assert cart.total() == Decimal("52.63")
    assert cart.member_total == Decimal("47.38")


# --- Query counts: the tier is read in the query of the items --------------------------------


@pytest.mark.parametrize("membership", list(TIERS))
@pytest.mark.parametrize("lines", [1, 10])
def test_a_members_cart_costs_what_it_did(membership, lines, django_assert_num_queries):
    client, customer = customer_client(membership)
    for _ in range(lines):
        item = CartItemFactory(cart=customer.cart)
        ProductImageFactory(product=item.variant.product)

    # The cart, then its items with variants, products, first images and the tier.
    with django_assert_num_queries(2):
        response = client.get("/api/cart/")

    assert len(response.json()["items"]) == lines


@pytest.mark.parametrize("already_in_cart", [False, True])
def test_a_members_add_costs_what_it_did(already_in_cart, django_assert_num_queries):
    client, customer = customer_client("gold")
    variant = VariantFactory()
    CartItemFactory(cart=customer.cart)
    if already_in_cart:
        CartItemFactory(cart=customer.cart, variant=variant)

    # The one-statement add, then the cart shown (with the tier).
    with django_assert_num_queries(2):
        response = client.post("/api/cart/items/", {"variant_id": variant.pk})

    assert response.status_code == 201


# --- The hand-built representation equals the declared fields ---------------------------------


@pytest.mark.parametrize("membership", [None, *TIERS])
def test_hand_built_cart_equals_the_declared_fields_at_member_prices(membership):
    cart = UserFactory(membership=membership or "bronze").cart
    fill(cart)
    serializer = CartSerializer()
    load_cart_contents(cart, membership=membership)

    fast = serializer.to_representation(cart)
    generic = serializers.ModelSerializer.to_representation(serializer, cart)

    assert fast == generic
    assert [list(item) for item in fast["items"]] == [list(item) for item in generic["items"]]


def test_the_cart_charges_what_the_quote_charges():
    client, customer = customer_client("gold")
    fill(customer.cart)

    cart = client.get("/api/cart/").json()
    quote = client.post(
        "/api/checkout/quote/", {"shipping_address": "1 Main St"}, format="json"
    ).json()

    assert [(i["list_price"], i["unit_price"], i["line_total"]) for i in cart["items"]] == [
        (line["list_price"], line["unit_price"], line["line_total"]) for line in quote["lines"]
    ]
    assert cart["total"] == quote["subtotal"]
