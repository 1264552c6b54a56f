import re
from decimal import Decimal

import pytest
from django.db import IntegrityError

from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import CartItem
from storefront.catalog.models import ProductVariant
from storefront.catalog.tests.factories import VariantFactory
from storefront.notifications.models import OutboxMessage
from storefront.orders import services
from storefront.orders.exceptions import EmptyCart, IdempotencyKeyReused, OrderTooLarge, OutOfStock
from storefront.orders.models import Order, OrderEvent
from storefront.orders.services import place_order
from storefront.orders.tests.factories import placed_order
from storefront.payments.models import Payment

pytestmark = pytest.mark.django_db

CHECKOUT = {
    "shipping_address": "1 Main St\n12345 Springfield",
    "billing_address": "PO Box 9\n12345 Springfield",
    "phone_number": "+1 555 0100",
}


def fill_cart(customer, *lines: tuple[ProductVariant, int]) -> None:
    for variant, quantity in lines:
        CartItem.objects.create(cart=customer.cart, variant=variant, quantity=quantity)


def stock(variant: ProductVariant) -> int:
    variant.refresh_from_db()
    return variant.stock_quantity


@pytest.fixture
def customer():
    return UserFactory()


def test_place_order_snapshots_lines_and_totals(customer):
    shirt = VariantFactory(price=Decimal("20.00"), product__name="Shirt", name="M", sku="SH-M")
    mug = VariantFactory(price=Decimal("7.50"))
    fill_cart(customer, (shirt, 2), (mug, 1))

    order, created = place_order(customer=customer, **CHECKOUT)

    assert created
    assert (order.status, order.payment_status) == ("pending", "pending")
    assert (order.total, order.currency) == (Decimal("47.50"), "USD")
    assert (order.shipping_address, order.billing_address) == (
        CHECKOUT["shipping_address"],
        CHECKOUT["billing_address"],
    )
    line = order.items.get(variant=shirt)
    assert (line.product_name, line.variant_name, line.sku) == ("Shirt", "M", "SH-M")
    assert (line.unit_price, line.quantity, line.line_total) == (
        Decimal("20.00"),
        2,
        Decimal("40.00"),
    )
    assert line.product == shirt.product


def test_place_order_sells_the_stock(customer):
    variant = VariantFactory(stock_quantity=5)
    fill_cart(customer, (variant, 3))
    place_order(customer=customer, **CHECKOUT)
    assert stock(variant) == 2


def test_place_order_empties_the_cart(customer):
    fill_cart(customer, (VariantFactory(), 1))
    place_order(customer=customer, **CHECKOUT)
    assert not customer.cart.items.exists()


def test_place_order_creates_a_pending_payment_of_the_chosen_method(customer):
    fill_cart(customer, (VariantFactory(price=Decimal("9.99")), 2))
    order, _ = place_order(customer=customer, payment_method=Payment.Method.CARD, **CHECKOUT)
    payment = Payment.objects.get(order=order)
    assert (payment.method, payment.status) == ("card", "pending")
    assert (payment.amount, payment.currency) == (Decimal("19.98"), "USD")


def test_place_order_records_the_placed_event(customer):
    fill_cart(customer, (VariantFactory(), 1))
    order, _ = place_order(customer=customer, **CHECKOUT)
    event = OrderEvent.objects.get(order=order)
    assert (event.actor, event.from_status, event.to_status) == (customer, "", "pending")


def test_place_order_stores_what_it_returns(customer):
    # The order's rows go in one statement of WITH queries: the instances handed back must
    # match the stored rows, primary keys included.
    shirt, mug = VariantFactory(price=Decimal("20.00")), VariantFactory(price=Decimal("7.50"))
    fill_cart(customer, (shirt, 2), (mug, 1))
    someone_elses = CartItem.objects.create(cart=UserFactory().cart, variant=shirt, quantity=1)

    order, _ = place_order(customer=customer, payment_method="card", **CHECKOUT)

    stored = Order.objects.get()
    assert (order.pk, order.number, order.total, order.created_at) == (
        stored.pk,
        stored.number,
        Decimal("47.50"),
        stored.created_at,
    )
    item_fields = ("pk", "order_id", "variant_id", "sku", "unit_price", "quantity", "line_total")
    assert [tuple(getattr(item, f) for f in item_fields) for item in order.items.all()] == list(
        stored.items.order_by("pk").values_list(*item_fields)
    )
    [event] = order.events.all()
    assert (event.pk, event.order_id, event.to_status) == (
        *stored.events.values_list("pk", "order_id").get(),
        "pending",
    )
    payment = Payment.objects.get()
    assert (order.payment.pk, order.payment.order_id) == (payment.pk, stored.pk)
    assert (payment.method, payment.amount, payment.currency) == ("card", Decimal("47.50"), "USD")
    assert list(CartItem.objects.all()) == [someone_elses]
    # Marked as saved, as Model.save() leaves them: a later save() updates the same rows.
    for instance in (order, *order.items.all(), event, order.payment):
        assert (instance._state.adding, instance._state.db) == (False, "default")


def test_order_numbers_are_human_friendly_and_unique():
    numbers = set()
    for _ in range(3):
        customer = UserFactory()
        fill_cart(customer, (VariantFactory(), 1))
        numbers.add(place_order(customer=customer, **CHECKOUT)[0].number)
    assert len(numbers) == 3
    assert all(re.fullmatch(r"SF-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}", n) for n in numbers)


def test_a_taken_order_number_places_the_order_again_under_a_new_one(customer, monkeypatch):
    """The collision rolls the first attempt back whole: stock is sold and the email queued
    once, and the cart is emptied, by the attempt that succeeds."""
    taken = placed_order().number
    numbers = iter([taken, "SF-00000-00001"])
    monkeypatch.setattr(services, "generate_order_number", lambda: next(numbers))
    variant = VariantFactory(stock_quantity=5)
    fill_cart(customer, (variant, 2))

    order, created = place_order(customer=customer, **CHECKOUT)

    assert created and order.number == "SF-00000-00001"
    assert Order.objects.filter(customer=customer).count() == 1
    assert stock(variant) == 3
    assert order.items.get().quantity == 2
    assert OrderEvent.objects.filter(order__customer=customer).count() == 1
    assert OutboxMessage.objects.filter(key__startswith="order_confirmation:").count() == 2
    assert not CartItem.objects.filter(cart__customer=customer).exists()


def test_order_numbers_taken_on_every_attempt_raise_and_change_nothing(customer, monkeypatch):
    taken = placed_order().number
    monkeypatch.setattr(services, "generate_order_number", lambda: taken)
    variant = VariantFactory(stock_quantity=5)
    fill_cart(customer, (variant, 2))

    with pytest.raises(IntegrityError):
        place_order(customer=customer, **CHECKOUT)

    assert not Order.objects.filter(customer=customer).exists()
    assert stock(variant) == 5
    assert CartItem.objects.get(cart__customer=customer).quantity == 2


def test_order_lines_keep_their_snapshot_when_the_catalog_changes(customer):
    variant = VariantFactory(price=Decimal("10.00"), product__name="Old name")
    fill_cart(customer, (variant, 1))
    order, _ = place_order(customer=customer, **CHECKOUT)
    variant.price = Decimal("99.00")
    variant.save()
    variant.product.name = "New name"
    variant.product.save()
    line = order.items.get()
    assert (line.product_name, line.unit_price) == ("Old name", Decimal("10.00"))


def test_empty_cart_cannot_be_checked_out(customer):
    with pytest.raises(EmptyCart):
        place_order(customer=customer, **CHECKOUT)
    assert not Order.objects.exists()


def test_a_customer_without_a_cart_yet_checks_out_an_empty_cart():
    # The admin and createsuperuser create users whose cart comes on first use.
    with pytest.raises(EmptyCart):
        place_order(customer=UserFactory(cart=None), **CHECKOUT)
    assert not Order.objects.exists()


def test_short_line_refuses_the_whole_order_and_changes_nothing(customer):
    plenty, scarce = VariantFactory(stock_quantity=10), VariantFactory(stock_quantity=1)
    fill_cart(customer, (plenty, 2), (scarce, 3))

    with pytest.raises(OutOfStock) as raised:
        place_order(customer=customer, **CHECKOUT)

    scarce_item = customer.cart.items.get(variant=scarce)
    assert raised.value.details == {
        "lines": [
            {
                "item_id": scarce_item.pk,
                "variant_id": scarce.pk,
                "sku": scarce.sku,
                "requested": 3,
                "available": 1,
            }
        ]
    }
    assert (stock(plenty), stock(scarce)) == (10, 1)
    assert customer.cart.items.count() == 2
    assert not Order.objects.exists()
    assert not Payment.objects.exists()


def test_unpublished_product_line_is_reported_with_nothing_available(customer):
    variant = VariantFactory(stock_quantity=10, product__is_published=False)
    fill_cart(customer, (variant, 1))
    with pytest.raises(OutOfStock) as raised:
        place_order(customer=customer, **CHECKOUT)
    assert raised.value.details["lines"][0]["available"] == 0
    assert stock(variant) == 10


def test_order_total_beyond_what_an_order_records_is_refused(customer):
    variant = VariantFactory(price=Decimal("9999999999.99"), stock_quantity=1000)
    fill_cart(customer, (variant, 1000))
    with pytest.raises(OrderTooLarge):
        place_order(customer=customer, **CHECKOUT)
    assert stock(variant) == 1000


def test_same_idempotency_key_and_inputs_return_the_first_order(customer):
    variant = VariantFactory(stock_quantity=5)
    fill_cart(customer, (variant, 2))
    first, created_first = place_order(customer=customer, idempotency_key="k-1", **CHECKOUT)
    fill_cart(customer, (variant, 1))  # The cart may have changed since; the key decides.

    again, created_again = place_order(customer=customer, idempotency_key="k-1", **CHECKOUT)

    assert (created_first, created_again) == (True, False)
    assert again == first
    assert Order.objects.count() == 1
    assert stock(variant) == 3
    assert customer.cart.items.count() == 1


def test_same_idempotency_key_returns_the_order_even_once_the_cart_is_empty(customer):
    fill_cart(customer, (VariantFactory(), 1))
    first, _ = place_order(customer=customer, idempotency_key="k-1", **CHECKOUT)
    again, created = place_order(customer=customer, idempotency_key="k-1", **CHECKOUT)
    assert (again, created) == (first, False)


def test_same_idempotency_key_with_other_inputs_is_refused(customer):
    fill_cart(customer, (VariantFactory(), 1))
    place_order(customer=customer, idempotency_key="k-1", **CHECKOUT)
    fill_cart(customer, (VariantFactory(), 1))
    with pytest.raises(IdempotencyKeyReused):
        place_order(
            customer=customer, idempotency_key="k-1", **{**CHECKOUT, "phone_number": "+1 2"}
        )
    assert Order.objects.count() == 1
    assert customer.cart.items.count() == 1


def test_idempotency_keys_belong_to_one_customer():
    first, second = UserFactory(), UserFactory()
    for customer in (first, second):
        fill_cart(customer, (VariantFactory(), 1))
        place_order(customer=customer, idempotency_key="same-key", **CHECKOUT)
    assert Order.objects.count() == 2


@pytest.mark.parametrize("lines", [1, 20])
def test_place_order_costs_the_same_queries_for_1_or_20_lines(
    customer, lines, django_assert_num_queries
):
    fill_cart(customer, *((VariantFactory(), 2) for _ in range(lines)))
    # The shipping and tax rates of the address (before the transaction), savepoint (the
    # test's transaction is open), lines with cart and variant locks,
    # idempotency lookup, stock update, one statement for the order, items, event, payment
    # and cart items delete, confirmation email to the outbox, release. (The stock left is
    # known from the locked read, and a sale resolves no low-stock alert: no query for either.)
    with django_assert_num_queries(8):
        order, _ = place_order(customer=customer, idempotency_key="k", **CHECKOUT)
    assert order.items.count() == lines


@pytest.mark.parametrize("lines", [1, 20])
def test_place_order_that_leaves_every_line_low_on_stock_costs_the_same_queries(
    customer, lines, django_assert_num_queries, settings
):
    settings.LOW_STOCK_THRESHOLD = 5
    fill_cart(customer, *((VariantFactory(stock_quantity=4), 2) for _ in range(lines)))
    # As above but without an idempotency key (no lookup), and with the low-stock alerts
    # inserted and read back and their emails queued.
    with django_assert_num_queries(10):
        order, _ = place_order(customer=customer, **CHECKOUT)
    assert order.items.count() == lines
