"""Wishlist writes racing on PostgreSQL with real threads: one item per product or variant,
one move per item."""

import pytest

from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import CartItem
from storefront.catalog.tests.factories import VariantFactory
from storefront.wishlists.models import WishlistItem
from storefront.wishlists.services import add_to_wishlist, move_to_cart
from storefront.wishlists.tests.factories import WishlistItemFactory
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_adds_of_one_variant_make_one_item():
    customer = UserFactory()
    variant = VariantFactory()

    outcomes = run_concurrently(
        [
            lambda: add_to_wishlist(
                customer=customer, product_id=variant.product_id, variant_id=variant.pk
            )
        ]
        * 6
    )

    assert [outcome.error for outcome in outcomes] == [None] * 6
    (item_id,) = WishlistItem.objects.filter(customer=customer).values_list("pk", flat=True)
    assert {outcome.value[0].pk for outcome in outcomes} == {item_id}
    assert sum(outcome.value[1] for outcome in outcomes) == 1


def test_concurrent_moves_of_one_item_add_it_to_the_cart_once():
    customer = UserFactory()
    item = WishlistItemFactory(customer=customer, variant=VariantFactory())

    outcomes = run_concurrently([lambda: move_to_cart(customer=customer, item_id=item.pk)] * 2)

    assert sum(outcome.error is None for outcome in outcomes) == 1
    assert CartItem.objects.get(cart=customer.cart).quantity == 1
    assert not WishlistItem.objects.filter(pk=item.pk).exists()
