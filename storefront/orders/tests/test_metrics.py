"""storefront_checkouts_total{outcome}: counted by the checkout and payment endpoints."""

import pytest
from prometheus_client import REGISTRY

from storefront.carts.models import CartItem
from storefront.catalog.tests.factories import VariantFactory
from storefront.orders.metrics import OUTCOMES
from storefront.orders.tests.test_api import CHECKOUT

pytestmark = pytest.mark.django_db


def checkouts() -> dict[str, float]:
    return {
        outcome: REGISTRY.get_sample_value("storefront_checkouts_total", {"outcome": outcome})
        for outcome in OUTCOMES
    }


def counted_since(before: dict[str, float]) -> dict[str, float]:
    return {outcome: value - before[outcome] for outcome, value in checkouts().items()}


def fill_cart(customer, *, stock: int = 5, quantity: int = 1) -> None:
    variant = VariantFactory(stock_quantity=stock)
    CartItem.objects.create(cart=customer.cart, variant=variant, quantity=quantity)


def test_every_outcome_is_exposed_before_it_happens():
    assert all(value is not None for value in checkouts().values())


def test_a_placed_order_is_counted_once_however_often_it_is_replayed(customer_client, customer):
    fill_cart(customer)
    before = checkouts()

    for _ in range(2):
        response = customer_client.post(
            "/api/orders/", CHECKOUT, headers={"Idempotency-Key": "k-1"}
        )
        assert response.status_code in (200, 201)

    assert counted_since(before) == {"placed": 1, "out_of_stock": 0, "declined": 0}


def test_a_checkout_short_of_stock_is_counted_as_out_of_stock(customer_client, customer):
    fill_cart(customer, stock=1, quantity=2)
    before = checkouts()

    assert customer_client.post("/api/orders/", CHECKOUT).status_code == 409

    assert counted_since(before) == {"placed": 0, "out_of_stock": 1, "declined": 0}


def test_a_declined_card_payment_is_counted_as_declined(customer_client, customer):
    fill_cart(customer)
    order = customer_client.post("/api/orders/", {**CHECKOUT, "payment_method": "card"}).json()
    before = checkouts()

    response = customer_client.post(f"/api/orders/{order['id']}/pay/", {"token": "tok_declined"})

    assert response.status_code == 402
    assert counted_since(before) == {"placed": 0, "out_of_stock": 0, "declined": 1}
