"""POST .../wishlist/items/{id}/move-to-cart/: the cart's own add (its caps, the purchasable
rule), the stock covering the cart item, and the item leaving the wishlist, all or nothing."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import MAX_CART_LINES, CartItem
from storefront.carts.tests.factories import CartItemFactory, GuestCartFactory
from storefront.catalog.models import Product
from storefront.catalog.tests.factories import ProductFactory, VariantFactory
from storefront.wishlists.models import WishlistItem
from storefront.wishlists.tests.factories import WishlistItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(customer_client) -> APIClient:
    return customer_client


def move(client, item, body=None, *, prefix="/api/me"):
    return client.post(
        f"{prefix}/wishlist/items/{item.pk}/move-to-cart/", body or {}, format="json"
    )


def cart_lines(cart) -> dict[int, int]:
    return dict(CartItem.objects.filter(cart=cart).values_list("variant_id", "quantity"))


def test_moving_a_variant_adds_it_to_the_cart_and_removes_it_from_the_wishlist():
    gold = UserFactory(membership="gold")
    variant = VariantFactory(price=Decimal("19.99"))
    item = WishlistItemFactory(customer=gold, variant=variant)
    client = APIClient()
    client.force_authenticate(gold)

    response = move(client, item, {"quantity": 2})

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == gold.cart.pk
    (line,) = body["items"]
    assert (line["variant"]["id"], line["quantity"]) == (variant.pk, 2)
    assert (line["list_price"], line["unit_price"], line["line_total"]) == (
        "19.99",
        "17.99",
        "35.98",
    )
    assert cart_lines(gold.cart) == {variant.pk: 2}
    assert not WishlistItem.objects.filter(pk=item.pk).exists()


def test_moving_adds_to_the_cart_item_of_the_same_variant(client, customer):
    variant = VariantFactory(stock_quantity=5)
    CartItemFactory(cart=customer.cart, variant=variant, quantity=2)
    item = WishlistItemFactory(customer=customer, variant=variant)
    assert move(client, item).status_code == 200
    assert cart_lines(customer.cart) == {variant.pk: 3}


def test_moving_a_product_item_takes_the_variant_named(client, customer):
    product = ProductFactory()
    VariantFactory(product=product)
    chosen = VariantFactory(product=product)
    item = WishlistItemFactory(customer=customer, product=product)

    response = move(client, item, {"variant_id": chosen.pk})

    assert response.status_code == 200
    assert cart_lines(customer.cart) == {chosen.pk: 1}
    assert not WishlistItem.objects.filter(pk=item.pk).exists()


def test_moving_a_variant_item_may_name_another_variant_of_its_product(client, customer):
    kept = VariantFactory()
    other = VariantFactory(product=kept.product)
    item = WishlistItemFactory(customer=customer, variant=kept)
    assert move(client, item, {"variant_id": other.pk}).status_code == 200
    assert cart_lines(customer.cart) == {other.pk: 1}


def test_moving_costs_a_fixed_number_of_queries(client, customer, django_assert_num_queries):
    for _ in range(3):
        CartItemFactory(cart=customer.cart)
        WishlistItemFactory(customer=customer)
    item = WishlistItemFactory(customer=customer, variant=VariantFactory())
    # SAVEPOINT, the item locked, the cart's one-statement add, the cart item with its
    # stock, the item deleted, RELEASE, then the cart shown.
    with django_assert_num_queries(7):
        response = move(client, item)
    assert response.status_code == 200


# --- Refusals: nothing moves --------------------------------------------------------------


def assert_nothing_moved(customer, item, cart_before):
    assert WishlistItem.objects.filter(pk=item.pk, customer=customer).exists()
    assert cart_lines(customer.cart) == cart_before


def test_an_out_of_stock_variant_is_409_and_nothing_moves(client, customer):
    variant = VariantFactory(stock_quantity=0)
    item = WishlistItemFactory(customer=customer, variant=variant)

    response = move(client, item)

    assert response.status_code == 409
    assert response.json()["error"] == {
        "status": 409,
        "code": "out_of_stock",
        "message": "Only 0 unit(s) in stock; the cart item would hold 1.",
        "details": {"variant_id": variant.pk, "requested": 1, "available": 0},
    }
    assert_nothing_moved(customer, item, {})


def test_stock_short_of_the_cart_items_whole_quantity_is_409(client, customer):
    variant = VariantFactory(stock_quantity=3)
    CartItemFactory(cart=customer.cart, variant=variant, quantity=2)
    item = WishlistItemFactory(customer=customer, variant=variant)

    response = move(client, item, {"quantity": 2})

    assert response.status_code == 409
    assert response.json()["error"]["details"] == {
        "variant_id": variant.pk,
        "requested": 4,
        "available": 3,
    }
    assert_nothing_moved(customer, item, {variant.pk: 2})


def test_an_item_whose_product_was_unpublished_is_400_and_nothing_moves(client, customer):
    variant = VariantFactory()
    item = WishlistItemFactory(customer=customer, variant=variant)
    Product.objects.filter(pk=variant.product_id).update(is_published=False)

    response = move(client, item)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "variant_unavailable"
    assert_nothing_moved(customer, item, {})


def test_a_product_item_without_a_variant_id_is_400(client, customer):
    item = WishlistItemFactory(customer=customer, product=VariantFactory().product)
    response = move(client, item)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "variant_required"
    assert_nothing_moved(customer, item, {})


def test_a_variant_of_another_product_is_404(client, customer):
    item = WishlistItemFactory(customer=customer, product=VariantFactory().product)
    response = move(client, item, {"variant_id": VariantFactory().pk})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "No such variant of this product."
    assert_nothing_moved(customer, item, {})


def test_a_full_cart_is_400_and_nothing_moves(client, customer):
    for _ in range(MAX_CART_LINES):
        CartItemFactory(cart=customer.cart)
    before = cart_lines(customer.cart)
    item = WishlistItemFactory(customer=customer, variant=VariantFactory())

    response = move(client, item)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "cart_lines_limit_exceeded"
    assert_nothing_moved(customer, item, before)


@pytest.mark.parametrize("body", [{"quantity": 0}, {"quantity": 1001}, {"variant_id": "x"}])
def test_a_malformed_body_is_400_invalid(client, customer, body):
    item = WishlistItemFactory(customer=customer, variant=VariantFactory())
    response = move(client, item, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert_nothing_moved(customer, item, {})


def test_moving_another_customers_item_is_404(client, customer):
    other = UserFactory()
    item = WishlistItemFactory(customer=other, variant=VariantFactory())
    response = move(client, item)
    assert response.status_code == 404
    assert_nothing_moved(other, item, {})
    assert cart_lines(customer.cart) == {}


# --- A guest's ----------------------------------------------------------------------------


def test_a_guest_moves_an_item_into_their_guest_cart():
    guest_cart = GuestCartFactory()
    variant = VariantFactory(price=Decimal("19.99"))
    item = WishlistItemFactory(customer=None, cart=guest_cart, variant=variant)

    response = move(APIClient(), item, prefix=f"/api/carts/{guest_cart.token}")

    assert response.status_code == 200
    body = response.json()
    assert body["token"] == str(guest_cart.token)
    assert [(i["variant"]["id"], i["unit_price"]) for i in body["items"]] == [(variant.pk, "19.99")]
    assert not WishlistItem.objects.filter(pk=item.pk).exists()


def test_a_guest_cannot_move_another_guests_item():
    item = WishlistItemFactory(customer=None, cart=GuestCartFactory(), variant=VariantFactory())
    other_cart = GuestCartFactory()
    response = move(APIClient(), item, prefix=f"/api/carts/{other_cart.token}")
    assert response.status_code == 404
    assert WishlistItem.objects.filter(pk=item.pk).exists()
    assert cart_lines(other_cart) == {}
