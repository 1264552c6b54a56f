"""Cart updates racing on PostgreSQL with real threads: no lost update, no duplicate item."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import UserFactory
from storefront.carts.api.serializers import CartSerializer
from storefront.carts.exceptions import CartLinesLimitExceeded
from storefront.carts.models import MAX_CART_LINES, Cart, CartItem
from storefront.carts.selectors import load_cart_contents
from storefront.carts.services import add_to_cart, merge_carts
from storefront.carts.tests.factories import CartItemFactory, GuestCartFactory
from storefront.catalog.models import ProductVariant
from storefront.catalog.tests.factories import ProductFactory, VariantFactory
from tests.concurrency import TIMEOUT_SECONDS, run_concurrently, wait_until_blocked_by

pytestmark = pytest.mark.django_db(transaction=True)


def add(cart: Cart, variant_id: int, quantity: int):
    def call():
        return add_to_cart(cart=cart, variant_id=variant_id, quantity=quantity)

    return call


def test_concurrent_adds_of_a_new_variant_add_up_in_one_item():
    cart = GuestCartFactory()
    variant = VariantFactory()

    outcomes = run_concurrently([add(cart, variant.pk, 2) for _ in range(8)])

    assert [outcome.error for outcome in outcomes] == [None] * 8
    assert list(CartItem.objects.filter(cart=cart).values_list("quantity", flat=True)) == [16]


def test_concurrent_merges_of_one_guest_cart_move_its_items_once():
    customer = UserFactory()
    guest_item = CartItemFactory(quantity=3)
    token = guest_item.cart.token

    outcomes = run_concurrently([lambda: merge_carts(customer=customer, guest_token=token)] * 2)

    assert sum(outcome.error is None for outcome in outcomes) == 1
    assert customer.cart.items.get().quantity == 3


def test_concurrent_adds_to_a_cart_one_item_short_of_the_cap_keep_it_readable():
    # Each add reads the cart as its statement started, so several may pass the lines cap
    # together (docs/checkout.md); none is lost, and the cart still reads and checks out.
    cart = GuestCartFactory()
    product = ProductFactory()
    full = VariantFactory.create_batch(MAX_CART_LINES - 1, product=product)
    CartItem.objects.bulk_create(CartItem(cart=cart, variant=v, quantity=1) for v in full)
    new = VariantFactory.create_batch(6, product=product)

    outcomes = run_concurrently([add(cart, variant.pk, 1) for variant in new])

    added = [outcome for outcome in outcomes if outcome.error is None]
    assert added
    assert all(isinstance(o.error, CartLinesLimitExceeded) for o in outcomes if o not in added)
    lines = CartItem.objects.filter(cart=cart).count()
    assert lines == MAX_CART_LINES - 1 + len(added) <= MAX_CART_LINES - 1 + len(new)
    data = CartSerializer(load_cart_contents(Cart.objects.get(pk=cart.pk))).data
    assert len(data["items"]) == lines


def test_an_add_racing_the_deletion_of_its_variant_is_refused_not_a_server_error():
    # The add's INSERT reads the variant before the deletion commits; its foreign-key check
    # at the end of the statement then finds the variant gone.
    customer = UserFactory()
    variant = VariantFactory(stock_quantity=5)
    client = APIClient()
    client.force_authenticate(customer)
    client.raise_request_exception = False
    deleting, deleted = threading.Event(), threading.Event()
    pids: list[int] = []

    def delete_variant() -> None:
        try:
            with transaction.atomic():
                ProductVariant.objects.filter(pk=variant.pk).delete()
                pids.append(connection.connection.info.backend_pid)
                deleting.set()
                assert deleted.wait(TIMEOUT_SECONDS)
        finally:
            deleting.set()
            connection.close()

    def add() -> int:
        assert deleting.wait(TIMEOUT_SECONDS)
        try:
            response = client.post(
                "/api/cart/items/", {"variant_id": variant.pk, "quantity": 1}, format="json"
            )
            return response.status_code, response.json()
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        deletion, adding = pool.submit(delete_variant), pool.submit(add)
        assert deleting.wait(TIMEOUT_SECONDS) and pids
        try:
            wait_until_blocked_by(pids[0])
        finally:
            deleted.set()
        deletion.result(TIMEOUT_SECONDS)
        status, body = adding.result(TIMEOUT_SECONDS)

    assert status == 400, body
    assert "variant_id" in body["error"]["fields"]
    assert not CartItem.objects.filter(cart__customer=customer).exists()
