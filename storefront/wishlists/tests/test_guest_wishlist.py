"""A guest's wishlist, on their guest cart's token (/api/carts/{token}/wishlist/), and its
merge into the customer's at login (POST /api/cart/merge/ after POST /api/auth/token/)."""

import uuid
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from storefront.carts.models import MAX_CART_LINES, Cart, CartItem
from storefront.carts.tests.factories import CartItemFactory, GuestCartFactory
from storefront.catalog.tests.factories import ProductFactory, VariantFactory
from storefront.wishlists.models import MAX_WISHLIST_ITEMS, WishlistItem
from storefront.wishlists.tests.factories import WishlistItemFactory
from tests.helpers import logged_in

pytestmark = pytest.mark.django_db


def guest_items(cart) -> list[tuple]:
    return list(WishlistItem.objects.filter(cart=cart).values_list("product_id", "variant_id"))


def customer_items(customer) -> set[tuple]:
    return set(
        WishlistItem.objects.filter(customer=customer).values_list("product_id", "variant_id")
    )


# --- The guest's wishlist -----------------------------------------------------------------


def test_a_guest_adds_reads_and_removes_items_with_the_cart_token():
    client = APIClient()
    token = client.post("/api/carts/").json()["token"]
    variant = VariantFactory(price=Decimal("19.99"))
    base = f"/api/carts/{token}/wishlist/"

    added = client.post(
        f"{base}items/", {"product_id": variant.product_id, "variant_id": variant.pk}, "json"
    )
    again = client.post(
        f"{base}items/", {"product_id": variant.product_id, "variant_id": variant.pk}, "json"
    )
    body = client.get(base).json()

    assert (added.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == added.json()["id"]
    assert body["token"] == token
    assert body["count"] == 1
    # A guest sees list prices, whatever their tier would be.
    assert body["items"][0]["price"] == "19.99"

    assert client.delete(f"{base}items/{added.json()['id']}/").status_code == 204
    assert client.get(base).json()["items"] == []


def test_an_unknown_token_is_404():
    token = uuid.uuid4()
    client = APIClient()
    assert client.get(f"/api/carts/{token}/wishlist/").status_code == 404
    response = client.post(f"/api/carts/{token}/wishlist/items/", {"product_id": 1})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Cart not found."


def test_a_customers_cart_token_does_not_open_their_wishlist():
    customer = UserFactory()
    WishlistItemFactory(customer=customer)
    response = APIClient().get(f"/api/carts/{customer.cart.token}/wishlist/")
    assert response.status_code == 404


def test_a_guest_cannot_remove_another_guests_item():
    item = WishlistItemFactory(customer=None, cart=GuestCartFactory())
    other = GuestCartFactory()
    response = APIClient().delete(f"/api/carts/{other.token}/wishlist/items/{item.pk}/")
    assert response.status_code == 404
    assert WishlistItem.objects.filter(pk=item.pk).exists()


def test_a_guest_cannot_add_an_unpublished_product():
    guest_cart = GuestCartFactory()
    product = ProductFactory(is_published=False)
    response = APIClient().post(
        f"/api/carts/{guest_cart.token}/wishlist/items/", {"product_id": product.pk}
    )
    assert response.status_code == 404
    assert guest_items(guest_cart) == []


@pytest.mark.parametrize("items", [1, 10])
def test_a_guest_wishlist_costs_a_fixed_number_of_queries(items, django_assert_num_queries):
    guest_cart = GuestCartFactory()
    for _ in range(items):
        WishlistItemFactory(customer=None, cart=guest_cart, variant=VariantFactory())
    # The guest cart by its token, then the items.
    with django_assert_num_queries(2):
        response = APIClient().get(f"/api/carts/{guest_cart.token}/wishlist/")
    assert response.json()["count"] == items


def test_the_guest_wishlist_is_deleted_with_its_guest_cart():
    guest_cart = GuestCartFactory()
    item = WishlistItemFactory(customer=None, cart=guest_cart)
    guest_cart.delete()
    assert not WishlistItem.objects.filter(pk=item.pk).exists()


# --- Merged at login ----------------------------------------------------------------------


def login_and_merge(customer, token: str):
    """What a storefront client does at login: a token, then the guest cart merged."""
    client = logged_in(customer.email, DEFAULT_PASSWORD)
    return client, client.post("/api/cart/merge/", {"token": token}, format="json")


def test_the_guests_wishlist_moves_to_the_customers_at_login():
    guest = APIClient()
    token = guest.post("/api/carts/").json()["token"]
    variant, product = VariantFactory(), VariantFactory().product
    guest.post(f"/api/carts/{token}/wishlist/items/", {"product_id": product.pk})
    guest.post(
        f"/api/carts/{token}/wishlist/items/",
        {"product_id": variant.product_id, "variant_id": variant.pk},
        format="json",
    )
    customer = UserFactory()

    client, response = login_and_merge(customer, token)

    assert response.status_code == 200
    body = client.get("/api/me/wishlist/").json()
    assert [(i["product"]["id"], i["variant"] and i["variant"]["id"]) for i in body["items"]] == [
        (variant.product_id, variant.pk),
        (product.pk, None),
    ]
    assert not Cart.objects.filter(token=token).exists()
    assert guest.get(f"/api/carts/{token}/wishlist/").status_code == 404


def test_items_the_customer_already_has_collapse_into_one():
    customer = UserFactory()
    guest_cart = GuestCartFactory()
    variant, product = VariantFactory(), ProductFactory()
    kept_variant = WishlistItemFactory(customer=customer, variant=variant)
    kept_product = WishlistItemFactory(customer=customer, product=product)
    for target in ({"variant": variant}, {"product": product}, {"product": variant.product}):
        WishlistItemFactory(customer=None, cart=guest_cart, **target)

    _, response = login_and_merge(customer, str(guest_cart.token))

    assert response.status_code == 200
    assert customer_items(customer) == {
        (variant.product_id, variant.pk),
        (product.pk, None),
        (variant.product_id, None),
    }
    # The customer's own copies stay, with their ids and dates.
    assert WishlistItem.objects.filter(pk__in=[kept_variant.pk, kept_product.pk]).count() == 2


def test_merging_fills_the_customers_wishlist_up_to_the_cap_with_the_newest():
    customer = UserFactory()
    WishlistItem.objects.bulk_create(
        WishlistItem(customer=customer, product=ProductFactory())
        for _ in range(MAX_WISHLIST_ITEMS - 2)
    )
    guest_cart = GuestCartFactory()
    older, newer, newest = (WishlistItemFactory(customer=None, cart=guest_cart) for _ in range(3))

    _, response = login_and_merge(customer, str(guest_cart.token))

    assert response.status_code == 200
    assert WishlistItem.objects.filter(customer=customer).count() == MAX_WISHLIST_ITEMS
    moved = set(WishlistItem.objects.filter(customer=customer).values_list("pk", flat=True))
    assert {newer.pk, newest.pk} <= moved
    assert not WishlistItem.objects.filter(pk=older.pk).exists()


def test_a_merge_the_cart_refuses_moves_no_wishlist_item_either():
    customer = UserFactory()
    for _ in range(MAX_CART_LINES):
        CartItemFactory(cart=customer.cart)
    guest_cart = GuestCartFactory()
    CartItemFactory(cart=guest_cart)
    WishlistItemFactory(customer=None, cart=guest_cart)

    _, response = login_and_merge(customer, str(guest_cart.token))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "cart_lines_limit_exceeded"
    assert len(guest_items(guest_cart)) == 1
    assert customer_items(customer) == set()


@pytest.mark.parametrize("items", [1, 10])
def test_merging_the_wishlist_costs_a_fixed_number_of_queries(
    customer_client, customer, items, django_assert_num_queries
):
    guest_cart = GuestCartFactory()
    for _ in range(items):
        WishlistItemFactory(customer=None, cart=guest_cart)
        WishlistItemFactory(customer=customer)
    WishlistItemFactory(
        customer=None, cart=guest_cart, product=customer.wishlist_items.first().product
    )
    # carts.services.merge_carts of a guest cart without cart items, in a savepoint (the
    # customer's cart, the guest cart locked, its items, the contents before and after; the
    # guest cart deleted with its cart items and what is left of its wishlist: 3), the
    # wishlist's merge in a savepoint (the duplicates deleted, the customer's count, the
    # move: 5), then the cart shown.
    with django_assert_num_queries(16):
        response = customer_client.post(
            "/api/cart/merge/", {"token": str(guest_cart.token)}, format="json"
        )
    assert response.status_code == 200
    assert WishlistItem.objects.filter(customer=customer).count() == 2 * items
    assert not CartItem.objects.filter(cart=guest_cart).exists()
