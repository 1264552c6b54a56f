"""The cached product detail under concurrent sales, on PostgreSQL, with real threads.

Readers fill the cache while buyers sell the stock. Whatever the interleaving, once the sales
are over the cached answer shows the stock the database holds.
"""

import pytest
from django.test import Client

from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import CartItem
from storefront.catalog.models import ProductVariant
from storefront.catalog.tests.factories import VariantFactory
from storefront.orders.services import place_order
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)

BUYERS = 8
READERS = 4
READS_EACH = 25


def test_cached_detail_shows_the_stock_left_after_concurrent_sales():
    variant = VariantFactory(stock_quantity=BUYERS + 2)
    url = f"/api/products/{variant.product_id}/"
    buyers = []
    for _ in range(BUYERS):
        customer = UserFactory()
        CartItem.objects.create(cart=customer.cart, variant=variant, quantity=1)
        buyers.append(customer)

    def buy(customer):
        return lambda: place_order(
            customer=customer, shipping_address="1 Main St", billing_address="1 Main St",
            phone_number="+1 555 0100",
        )  # fmt: skip

    def read():
        client = Client()
        return [client.get(url).json()["variants"][0]["stock_quantity"] for _ in range(READS_EACH)]

    outcomes = run_concurrently([buy(c) for c in buyers] + [read for _ in range(READERS)])

    assert [o.error for o in outcomes] == [None] * (BUYERS + READERS)
    seen = {stock for o in outcomes[BUYERS:] for stock in o.value}
    assert seen <= set(range(2, BUYERS + 3))
    left = ProductVariant.objects.get(pk=variant.pk).stock_quantity
    assert left == 2
    assert Client().get(url).json()["variants"][0]["stock_quantity"] == left
