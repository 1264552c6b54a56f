"""Checkouts racing for the same stock, on PostgreSQL, with real threads.

Whatever the interleaving: no overselling (units sold + units left = the starting stock),
no deadlock, and one cart never becomes two orders.
"""

import pytest
from django.db.models import Sum

from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import Cart, CartItem
from storefront.catalog.models import ProductVariant
from storefront.catalog.tests.factories import VariantFactory
from storefront.orders.exceptions import EmptyCart, OutOfStock
from storefront.orders.models import Order, OrderItem
from storefront.orders.services import place_guest_order, place_order
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)


def buyer_with(*lines: tuple[ProductVariant, int]):
    customer = UserFactory()
    for variant, quantity in lines:
        CartItem.objects.create(cart=customer.cart, variant=variant, quantity=quantity)
    return customer


def checkout_of(customer, idempotency_key: str | None = None):
    def checkout():
        return place_order(
            customer=customer,
            shipping_address="1 Main St",
            billing_address="1 Main St",
            phone_number="+1 555 0100",
            idempotency_key=idempotency_key,
        )

    return checkout


def units_sold(variant: ProductVariant) -> int:
    return OrderItem.objects.filter(variant=variant).aggregate(n=Sum("quantity"))["n"] or 0


def stock_left(variant: ProductVariant) -> int:
    variant.refresh_from_db()
    return variant.stock_quantity


def errors_of(outcomes) -> list[BaseException]:
    return [outcome.error for outcome in outcomes if outcome.error is not None]


def test_last_unit_is_sold_once_to_ten_concurrent_buyers():
    variant = VariantFactory(stock_quantity=1)
    buyers = [buyer_with((variant, 1)) for _ in range(10)]

    outcomes = run_concurrently([checkout_of(buyer) for buyer in buyers])

    assert Order.objects.count() == 1
    assert all(isinstance(error, OutOfStock) for error in errors_of(outcomes))
    assert len(errors_of(outcomes)) == 9
    assert (units_sold(variant), stock_left(variant)) == (1, 0)


def test_five_units_go_to_exactly_five_of_twenty_concurrent_buyers():
    variant = VariantFactory(stock_quantity=5)
    buyers = [buyer_with((variant, 1)) for _ in range(20)]

    outcomes = run_concurrently([checkout_of(buyer) for buyer in buyers])

    assert Order.objects.count() == 5
    assert all(isinstance(error, OutOfStock) for error in errors_of(outcomes))
    assert (units_sold(variant), stock_left(variant)) == (5, 0)


def test_buyers_taking_two_variants_in_opposite_cart_order_do_not_deadlock():
    first, second = VariantFactory(stock_quantity=100), VariantFactory(stock_quantity=100)
    buyers = [
        buyer_with((first, 1), (second, 1)) if n % 2 else buyer_with((second, 1), (first, 1))
        for n in range(20)
    ]

    outcomes = run_concurrently([checkout_of(buyer) for buyer in buyers])

    assert errors_of(outcomes) == []
    assert Order.objects.count() == 20
    for variant in (first, second):
        assert units_sold(variant) + stock_left(variant) == 100
        assert stock_left(variant) == 80


def test_mixed_quantities_never_oversell():
    variant = VariantFactory(stock_quantity=7)
    buyers = [buyer_with((variant, quantity)) for quantity in (1, 2, 3, 4, 1, 2, 3, 4)]

    run_concurrently([checkout_of(buyer) for buyer in buyers])

    assert units_sold(variant) + stock_left(variant) == 7
    assert stock_left(variant) >= 0


def test_one_cart_checked_out_twice_at_once_becomes_one_order():
    variant = VariantFactory(stock_quantity=10)
    buyer = buyer_with((variant, 2))

    outcomes = run_concurrently([checkout_of(buyer), checkout_of(buyer)])

    assert Order.objects.count() == 1
    assert [type(error) for error in errors_of(outcomes)] == [EmptyCart]
    assert (units_sold(variant), stock_left(variant)) == (2, 8)


def test_one_idempotency_key_sent_twice_at_once_returns_one_order_to_both():
    variant = VariantFactory(stock_quantity=10)
    buyer = buyer_with((variant, 2))

    outcomes = run_concurrently([checkout_of(buyer, "retry-1"), checkout_of(buyer, "retry-1")])

    assert errors_of(outcomes) == []
    orders = {outcome.value[0].pk for outcome in outcomes}
    created = sorted(outcome.value[1] for outcome in outcomes)
    assert (len(orders), created) == (1, [False, True])
    assert (units_sold(variant), stock_left(variant)) == (2, 8)


# --- Guests ------------------------------------------------------------------------------


def guest_cart_with(*lines: tuple[ProductVariant, int]) -> Cart:
    cart = Cart.objects.create()
    for variant, quantity in lines:
        CartItem.objects.create(cart=cart, variant=variant, quantity=quantity)
    return cart


def guest_checkout_of(cart: Cart, idempotency_key: str | None = None):
    def checkout():
        return place_guest_order(
            cart=cart,
            email=f"guest-{cart.pk}@example.com",
            shipping_address="1 Main St",
            billing_address="1 Main St",
            phone_number="+1 555 0100",
            idempotency_key=idempotency_key,
        )

    return checkout


def test_five_units_go_to_exactly_five_of_twenty_concurrent_guests():
    variant = VariantFactory(stock_quantity=5)
    carts = [guest_cart_with((variant, 1)) for _ in range(20)]

    outcomes = run_concurrently([guest_checkout_of(cart) for cart in carts])

    assert Order.objects.guest().count() == 5
    assert all(isinstance(error, OutOfStock) for error in errors_of(outcomes))
    assert len(errors_of(outcomes)) == 15
    assert (units_sold(variant), stock_left(variant)) == (5, 0)


def test_guests_and_customers_racing_for_the_same_units_never_oversell():
    variant = VariantFactory(stock_quantity=5)
    calls = [guest_checkout_of(guest_cart_with((variant, 1))) for _ in range(6)]
    calls += [checkout_of(buyer_with((variant, 1))) for _ in range(6)]

    run_concurrently(calls)

    assert Order.objects.count() == 5
    assert (units_sold(variant), stock_left(variant)) == (5, 0)


def test_one_guest_cart_checked_out_twice_at_once_becomes_one_order():
    variant = VariantFactory(stock_quantity=10)
    cart = guest_cart_with((variant, 2))

    outcomes = run_concurrently([guest_checkout_of(cart), guest_checkout_of(cart)])

    assert Order.objects.count() == 1
    assert [type(error) for error in errors_of(outcomes)] == [EmptyCart]
    assert (units_sold(variant), stock_left(variant)) == (2, 8)


def test_one_guest_idempotency_key_sent_twice_at_once_returns_one_order_to_both():
    variant = VariantFactory(stock_quantity=10)
    cart = guest_cart_with((variant, 2))

    outcomes = run_concurrently(
        [guest_checkout_of(cart, "retry-1"), guest_checkout_of(cart, "retry-1")]
    )

    assert errors_of(outcomes) == []
    orders = {outcome.value[0].pk for outcome in outcomes}
    created = sorted(outcome.value[1] for outcome in outcomes)
    assert (len(orders), created) == (1, [False, True])
    assert (units_sold(variant), stock_left(variant)) == (2, 8)
