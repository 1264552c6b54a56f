import io
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from storefront.accounts.tests.factories import UserFactory
from storefront.carts import services
from storefront.carts.exceptions import (
    CartItemNotFound,
    CartLinesLimitExceeded,
    CartNotFound,
    CartTotalLimitExceeded,
    InvalidQuantity,
    QuantityLimitExceeded,
    VariantUnavailable,
)
from storefront.carts.models import MAX_CART_ITEM_QUANTITY, MAX_CART_LINES, Cart, CartItem
from storefront.carts.selectors import load_cart_contents
from storefront.carts.tests.factories import CartItemFactory, GuestCartFactory
from storefront.catalog.models import ProductVariant
from storefront.catalog.tests.factories import ProductFactory, VariantFactory
from storefront.orders.models import MAX_ORDER_TOTAL

pytestmark = pytest.mark.django_db


def test_add_to_cart_creates_an_item():
    cart = GuestCartFactory()
    variant = VariantFactory()
    item = services.add_to_cart(cart=cart, variant_id=variant.pk, quantity=3)
    assert (item.cart, item.variant, item.quantity) == (cart, variant, 3)


def test_adding_the_same_variant_again_adds_up_the_quantity():
    cart = GuestCartFactory()
    variant = VariantFactory()
    services.add_to_cart(cart=cart, variant_id=variant.pk, quantity=2)
    item = services.add_to_cart(cart=cart, variant_id=variant.pk, quantity=5)
    assert item.quantity == 7
    assert cart.items.count() == 1


def test_adding_past_the_maximum_is_refused_and_changes_nothing():
    item = CartItemFactory(quantity=MAX_CART_ITEM_QUANTITY - 1)
    with pytest.raises(QuantityLimitExceeded) as raised:
        services.add_to_cart(cart=item.cart, variant_id=item.variant_id, quantity=2)
    assert raised.value.details["in_cart"] == MAX_CART_ITEM_QUANTITY - 1
    item.refresh_from_db()
    assert item.quantity == MAX_CART_ITEM_QUANTITY - 1


def test_adding_up_to_exactly_the_maximum_is_allowed():
    item = CartItemFactory(quantity=MAX_CART_ITEM_QUANTITY - 1)
    updated = services.add_to_cart(cart=item.cart, variant_id=item.variant_id, quantity=1)
    assert updated.quantity == MAX_CART_ITEM_QUANTITY


def test_a_variant_of_an_unpublished_product_cannot_be_added():
    variant = VariantFactory(product__is_published=False)
    cart = GuestCartFactory()
    with pytest.raises(VariantUnavailable):
        services.add_to_cart(cart=cart, variant_id=variant.pk)
    assert not cart.items.exists()


@pytest.mark.parametrize("quantity", [0, -1, MAX_CART_ITEM_QUANTITY + 1, True, 1.5, "2"])
def test_add_to_cart_refuses_quantities_that_are_not_1_to_the_maximum(quantity):
    cart = GuestCartFactory()
    with pytest.raises(InvalidQuantity):
        services.add_to_cart(cart=cart, variant_id=VariantFactory().pk, quantity=quantity)
    assert not cart.items.exists()


# --- the one-statement add, by customer or guest token ------------------------------------


def test_add_to_cart_adds_to_the_customers_cart_and_returns_it():
    customer = UserFactory()
    variant = VariantFactory()
    item = services.add_to_cart(variant_id=variant.pk, quantity=2, customer=customer)
    again = services.add_to_cart(variant_id=variant.pk, quantity=3, customer=customer)
    assert item.cart.pk == again.cart.pk == customer.cart.pk
    assert (again.pk, again.quantity) == (item.pk, 5)
    assert item.cart.customer_id == customer.pk
    assert dict(customer.cart.items.values_list("variant_id", "quantity")) == {variant.pk: 5}


def test_add_to_cart_adds_to_the_guest_cart_of_the_token():
    guest_cart = GuestCartFactory()
    variant = VariantFactory()
    item = services.add_to_cart(variant_id=variant.pk, quantity=1, token=guest_cart.token)
    cart = item.cart
    assert (cart.pk, cart.token, cart.customer_id) == (guest_cart.pk, guest_cart.token, None)
    assert list(guest_cart.items.values_list("variant_id", "quantity")) == [(variant.pk, 1)]


def test_add_to_cart_gives_a_customer_without_a_cart_row_a_cart():
    customer = UserFactory()
    Cart.objects.filter(customer=customer).delete()
    variant = VariantFactory()
    item = services.add_to_cart(variant_id=variant.pk, quantity=2, customer=customer)
    assert item.cart.pk == Cart.objects.get(customer=customer).pk
    assert item.quantity == 2


def test_a_refused_add_says_why_and_changes_nothing():
    customer = UserFactory()
    guest_cart = GuestCartFactory()
    published = VariantFactory()
    unpublished = VariantFactory(product__is_published=False)
    full = CartItemFactory(cart=guest_cart, quantity=MAX_CART_ITEM_QUANTITY)
    refused = [
        ({"variant_id": unpublished.pk, "token": guest_cart.token}, VariantUnavailable),
        (
            {"variant_id": published.pk + unpublished.pk + 1, "token": guest_cart.token},
            VariantUnavailable,
        ),
        ({"variant_id": 2**63, "token": guest_cart.token}, VariantUnavailable),
        ({"variant_id": full.variant_id, "token": guest_cart.token}, QuantityLimitExceeded),
        ({"variant_id": published.pk, "token": uuid.uuid4()}, CartNotFound),
        # A customer's cart is never a guest cart, even to the holder of its token.
        ({"variant_id": published.pk, "token": customer.cart.token}, CartNotFound),
    ]
    for kwargs, error in refused:
        with pytest.raises(error):
            services.add_to_cart(quantity=1, **kwargs)
    assert list(CartItem.objects.values_list("variant_id", "quantity")) == [
        (full.variant_id, MAX_CART_ITEM_QUANTITY)
    ]


def test_add_to_cart_refuses_bad_quantities_and_unclear_carts():
    customer = UserFactory()
    variant = VariantFactory()
    with pytest.raises(InvalidQuantity):
        services.add_to_cart(variant_id=variant.pk, quantity=0, customer=customer)
    with pytest.raises(TypeError):
        services.add_to_cart(variant_id=variant.pk, quantity=1)
    with pytest.raises(TypeError):
        services.add_to_cart(
            variant_id=variant.pk, quantity=1, customer=customer, token=customer.cart.token
        )
    assert not CartItem.objects.exists()


def test_update_cart_item_sets_the_quantity():
    item = CartItemFactory(quantity=1)
    services.update_cart_item(cart=item.cart, item_id=item.pk, quantity=4)
    item.refresh_from_db()
    assert item.quantity == 4


def test_update_cart_item_of_another_cart_is_not_found_and_changes_nothing():
    item = CartItemFactory(quantity=1)
    with pytest.raises(CartItemNotFound):
        services.update_cart_item(cart=GuestCartFactory(), item_id=item.pk, quantity=4)
    item.refresh_from_db()
    assert item.quantity == 1


def test_remove_cart_item_deletes_it():
    item = CartItemFactory()
    services.remove_cart_item(cart=item.cart, item_id=item.pk)
    assert not CartItem.objects.filter(pk=item.pk).exists()


def test_remove_cart_item_of_another_cart_is_not_found_and_keeps_it():
    item = CartItemFactory()
    with pytest.raises(CartItemNotFound):
        services.remove_cart_item(cart=GuestCartFactory(), item_id=item.pk)
    assert CartItem.objects.filter(pk=item.pk).exists()


def test_get_guest_cart_does_not_open_a_customer_cart_by_its_token():
    customer_cart = UserFactory().cart
    with pytest.raises(CartNotFound):
        services.get_guest_cart(token=customer_cart.token)


def test_merge_moves_guest_items_and_adds_up_quantities():
    customer = UserFactory()
    shared, guest_only = VariantFactory(), VariantFactory()
    CartItemFactory(cart=customer.cart, variant=shared, quantity=2)
    guest_cart = GuestCartFactory()
    CartItemFactory(cart=guest_cart, variant=shared, quantity=3)
    CartItemFactory(cart=guest_cart, variant=guest_only, quantity=1)

    services.merge_carts(customer=customer, guest_token=guest_cart.token)

    quantities = dict(customer.cart.items.values_list("variant_id", "quantity"))
    assert quantities == {shared.pk: 5, guest_only.pk: 1}


def test_merge_caps_quantities_at_the_maximum():
    customer = UserFactory()
    variant = VariantFactory()
    CartItemFactory(cart=customer.cart, variant=variant, quantity=MAX_CART_ITEM_QUANTITY - 1)
    guest_cart = GuestCartFactory()
    CartItemFactory(cart=guest_cart, variant=variant, quantity=5)

    services.merge_carts(customer=customer, guest_token=guest_cart.token)

    assert customer.cart.items.get().quantity == MAX_CART_ITEM_QUANTITY


def test_merge_deletes_the_guest_cart():
    guest_cart = CartItemFactory().cart
    services.merge_carts(customer=UserFactory(), guest_token=guest_cart.token)
    assert not Cart.objects.filter(pk=guest_cart.pk).exists()


def test_merge_with_an_unknown_token_is_not_found():
    with pytest.raises(CartNotFound):
        services.merge_carts(customer=UserFactory(), guest_token=uuid.uuid4())


def test_merge_refuses_another_customers_cart_token_and_leaves_it_alone():
    other = CartItemFactory(cart=UserFactory().cart)
    with pytest.raises(CartNotFound):
        services.merge_carts(customer=UserFactory(), guest_token=other.cart.token)
    assert CartItem.objects.filter(pk=other.pk).exists()


def test_delete_stale_guest_carts_keeps_recent_and_customer_carts():
    long_ago = timezone.now() - timedelta(days=40)
    stale, recent = GuestCartFactory(), GuestCartFactory()
    customer_cart = UserFactory().cart
    Cart.objects.filter(pk__in=[stale.pk, customer_cart.pk]).update(updated_at=long_ago)

    deleted = services.delete_stale_guest_carts(updated_before=timezone.now() - timedelta(days=30))

    assert deleted == 1
    assert set(Cart.objects.values_list("pk", flat=True)) >= {recent.pk, customer_cart.pk}
    assert not Cart.objects.filter(pk=stale.pk).exists()


def test_delete_stale_guest_carts_keeps_a_cart_whose_items_changed_recently():
    cart = CartItemFactory().cart
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now() - timedelta(days=40))
    services.delete_stale_guest_carts(updated_before=timezone.now() - timedelta(days=30))
    assert Cart.objects.filter(pk=cart.pk).exists()


def test_delete_stale_guest_carts_command_reports_what_it_deleted():
    stale = GuestCartFactory()
    Cart.objects.filter(pk=stale.pk).update(updated_at=timezone.now() - timedelta(days=9))
    out = io.StringIO()
    call_command("delete_stale_guest_carts", "--days", "7", stdout=out)
    assert "Deleted 1 guest cart(s)" in out.getvalue()
    assert not Cart.objects.filter(pk=stale.pk).exists()


# --- Caps: items per cart, and a total an order can record ---------------------------------

# The largest price a variant can have: 100 units make 999,999,999,999.00, within the cap.
DEAR = Decimal("9999999999.99")


def full_cart(cart: Cart, lines: int = MAX_CART_LINES) -> list[ProductVariant]:
    """Fill `cart` with `lines` items of one unit each (one product, cheap variants)."""
    variants = VariantFactory.create_batch(lines, product=ProductFactory())
    CartItem.objects.bulk_create(CartItem(cart=cart, variant=v, quantity=1) for v in variants)
    return variants


def test_a_new_item_past_the_lines_cap_is_refused_and_changes_nothing():
    cart = GuestCartFactory()
    full_cart(cart)
    with pytest.raises(CartLinesLimitExceeded) as raised:
        services.add_to_cart(cart=cart, variant_id=VariantFactory().pk, quantity=1)
    assert raised.value.details == {"max_lines": MAX_CART_LINES, "lines": MAX_CART_LINES + 1}
    assert cart.items.count() == MAX_CART_LINES


def test_a_full_cart_still_takes_more_units_of_its_items():
    cart = GuestCartFactory()
    variants = full_cart(cart)
    item = services.add_to_cart(cart=cart, variant_id=variants[-1].pk, quantity=4)
    assert item.quantity == 5
    assert cart.items.count() == MAX_CART_LINES


def test_an_add_past_the_total_cap_is_refused_with_its_amounts():
    cart = GuestCartFactory()
    variant = VariantFactory(price=DEAR)
    services.add_to_cart(cart=cart, variant_id=variant.pk, quantity=100)

    with pytest.raises(CartTotalLimitExceeded) as raised:
        services.add_to_cart(cart=cart, variant_id=variant.pk, quantity=1)

    assert raised.value.details == {
        "max_total": "999999999999.99",
        "total": "999999999999.00",
        "new_total": "1009999999998.99",
        "currency": "USD",
    }
    assert raised.value.message == (
        "A cart's total is at most 999,999,999,999.99 USD; this would make it 1,009,999,999,998.99."
    )
    assert list(cart.items.values_list("quantity", flat=True)) == [100]


def test_a_cart_may_hold_exactly_the_largest_order_total_and_not_a_cent_more():
    cart = GuestCartFactory()
    services.add_to_cart(
        cart=cart, variant_id=VariantFactory(price=Decimal("999999999.99")).pk, quantity=1000
    )
    services.add_to_cart(cart=cart, variant_id=VariantFactory(price=Decimal("9.99")).pk, quantity=1)
    assert load_cart_contents(GuestCartFactory.build(pk=cart.pk)).total() == MAX_ORDER_TOTAL
    with pytest.raises(CartTotalLimitExceeded):
        services.add_to_cart(
            cart=cart, variant_id=VariantFactory(price=Decimal("0.01")).pk, quantity=1
        )
    # A free variant adds nothing to the total.
    services.add_to_cart(cart=cart, variant_id=VariantFactory(price=Decimal("0.00")).pk, quantity=1)
    assert cart.items.count() == 3


def test_adds_by_customer_or_token_past_a_cap_are_refused_and_change_nothing():
    customer = UserFactory()
    full_cart(customer.cart)
    dear_cart = GuestCartFactory()
    dear = VariantFactory(price=DEAR)
    CartItemFactory(cart=dear_cart, variant=dear, quantity=100)

    new = VariantFactory(price=Decimal("0.99"))
    with pytest.raises(CartLinesLimitExceeded):
        services.add_to_cart(variant_id=new.pk, quantity=1, customer=customer)
    with pytest.raises(CartTotalLimitExceeded):
        services.add_to_cart(variant_id=dear.pk, quantity=1, token=dear_cart.token)
    assert services.add_to_cart(variant_id=new.pk, quantity=1, token=dear_cart.token).quantity == 1

    assert customer.cart.items.count() == MAX_CART_LINES
    assert dict(dear_cart.items.values_list("variant_id", "quantity")) == {dear.pk: 100, new.pk: 1}


def test_raising_a_quantity_past_the_total_cap_is_refused_and_changes_nothing():
    item = CartItemFactory(variant=VariantFactory(price=DEAR), quantity=100)
    with pytest.raises(CartTotalLimitExceeded) as raised:
        services.update_cart_item(cart=item.cart, item_id=item.pk, quantity=101)
    assert raised.value.details["new_total"] == "1009999999998.99"
    item.refresh_from_db()
    assert item.quantity == 100


def test_a_cart_pushed_past_the_total_cap_by_a_price_rise_can_still_be_lowered_and_emptied():
    item = CartItemFactory(variant=VariantFactory(price=Decimal("5000000000.00")), quantity=100)
    other = CartItemFactory(cart=item.cart, quantity=1)
    ProductVariant.objects.filter(pk=item.variant_id).update(price=DEAR)

    with pytest.raises(CartTotalLimitExceeded):
        services.update_cart_item(cart=item.cart, item_id=other.pk, quantity=2)
    with pytest.raises(CartTotalLimitExceeded):
        services.add_to_cart(cart=item.cart, variant_id=other.variant_id, quantity=1)
    services.update_cart_item(cart=item.cart, item_id=item.pk, quantity=99)
    # Setting the quantity it has is no raise either.
    services.update_cart_item(cart=item.cart, item_id=item.pk, quantity=99)
    services.remove_cart_item(cart=item.cart, item_id=other.pk)

    assert dict(item.cart.items.values_list("id", "quantity")) == {item.pk: 99}


def test_a_merge_past_the_lines_cap_is_refused_and_moves_nothing():
    customer = UserFactory()
    full_cart(customer.cart, MAX_CART_LINES - 1)
    guest_cart = GuestCartFactory()
    full_cart(guest_cart, 2)

    with pytest.raises(CartLinesLimitExceeded) as raised:
        services.merge_carts(customer=customer, guest_token=guest_cart.token)

    assert raised.value.details == {"max_lines": MAX_CART_LINES, "lines": MAX_CART_LINES + 1}
    assert customer.cart.items.count() == MAX_CART_LINES - 1
    assert guest_cart.items.count() == 2


def test_a_merge_past_the_total_cap_is_refused_and_keeps_the_guest_cart():
    customer = UserFactory()
    dear = VariantFactory(price=DEAR)
    CartItemFactory(cart=customer.cart, variant=dear, quantity=60)
    guest_cart = GuestCartFactory()
    CartItemFactory(cart=guest_cart, variant=dear, quantity=50)

    with pytest.raises(CartTotalLimitExceeded) as raised:
        services.merge_carts(customer=customer, guest_token=guest_cart.token)

    assert raised.value.details["new_total"] == f"{DEAR * 110:.2f}"
    assert customer.cart.items.get().quantity == 60
    assert Cart.objects.filter(pk=guest_cart.pk).exists()


def test_a_merge_up_to_the_caps_goes_through():
    customer = UserFactory()
    full_cart(customer.cart, MAX_CART_LINES - 1)
    guest_cart = GuestCartFactory()
    full_cart(guest_cart, 1)
    services.merge_carts(customer=customer, guest_token=guest_cart.token)
    assert customer.cart.items.count() == MAX_CART_LINES
