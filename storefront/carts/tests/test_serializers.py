"""The cart representation is built by hand for speed; it must say exactly what its declared
fields (and so the OpenAPI schema) say."""

import pytest
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from storefront.accounts.tests.factories import UserFactory
from storefront.carts.api.serializers import CartSerializer, GuestCartSerializer
from storefront.carts.selectors import load_cart_contents
from storefront.carts.tests.factories import CartItemFactory, GuestCartFactory
from storefront.catalog.tests.factories import ProductFactory, ProductImageFactory, VariantFactory

pytestmark = pytest.mark.django_db


def _assert_same(serializer, cart) -> None:
    fast = serializer.to_representation(cart)
    generic = serializers.ModelSerializer.to_representation(serializer, cart)
    assert fast == generic
    assert list(fast) == list(generic)
    for fast_item, generic_item in zip(fast["items"], generic["items"], strict=True):
        assert list(fast_item) == list(generic_item)


def _fill(cart) -> None:
    """A line with images, one without, one short of stock and one of an unpublished product."""
    with_images = ProductFactory()
    ProductImageFactory.create_batch(2, product=with_images)
    CartItemFactory(cart=cart, variant=VariantFactory(product=with_images), quantity=3)
    CartItemFactory(cart=cart, variant=VariantFactory(price="0.10"))
    CartItemFactory(cart=cart, variant=VariantFactory(stock_quantity=1), quantity=2)
    CartItemFactory(cart=cart, variant=VariantFactory(product__is_published=False))


@pytest.mark.parametrize("with_request", [True, False])
def test_hand_built_customer_cart_equals_the_declared_fields(with_request):
    cart = UserFactory().cart
    _fill(cart)
    context = {"request": Request(APIRequestFactory().get("/api/cart/"))} if with_request else {}

    _assert_same(CartSerializer(context=context), load_cart_contents(cart))


def test_hand_built_guest_cart_equals_the_declared_fields():
    cart = GuestCartFactory()
    _fill(cart)
    context = {"request": Request(APIRequestFactory().get("/api/carts/x/"))}
    data = GuestCartSerializer(load_cart_contents(cart), context=context).data

    _assert_same(GuestCartSerializer(context=context), cart)
    assert data["token"] == str(cart.token)


def test_hand_built_empty_cart_equals_the_declared_fields():
    cart = load_cart_contents(GuestCartFactory())

    _assert_same(GuestCartSerializer(), cart)
    assert GuestCartSerializer(cart).data["total"] == "0.00"
