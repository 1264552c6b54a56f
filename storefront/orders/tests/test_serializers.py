"""The order representations are built by hand for speed; they must say exactly what their
declared fields (and so the OpenAPI schema) say."""

import pytest
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory, force_authenticate

from storefront.accounts.tests.factories import UserFactory
from storefront.catalog.tests.factories import VariantFactory
from storefront.orders import selectors, services
from storefront.orders.api.serializers import OrderDetailSerializer, OrderSerializer
from storefront.orders.tests.factories import OrderFactory, placed_order
from storefront.payments.models import Payment

pytestmark = pytest.mark.django_db


def _context(user) -> dict:
    if user is None:
        return {}
    django_request = APIRequestFactory().get("/api/orders/")
    force_authenticate(django_request, user=user)
    request = Request(django_request)
    request.user = user
    return {"request": request}


def _assert_same(serializer, instance) -> None:
    fast = serializer.to_representation(instance)
    generic = serializers.ModelSerializer.to_representation(serializer, instance)
    assert fast == generic
    assert list(fast) == list(generic)


@pytest.mark.parametrize("viewer", ["customer", "staff", None])
def test_hand_built_order_detail_equals_the_declared_fields(viewer):
    """Two lines, a refunded card payment and events by the customer, staff and the system."""
    order = placed_order(
        variants=[VariantFactory(), VariantFactory()], quantity=2, payment_method="card"
    )
    staff = UserFactory(is_staff=True)
    services.pay_order(order=order, token="tok_success")
    services.cancel_order(order=order, actor=staff, note="Out of paper.")
    user = {"customer": order.customer, "staff": staff, None: None}[viewer]
    order = selectors.order_detail(user=staff, order_id=order.pk)
    assert order.payment.status == Payment.Status.REFUNDED
    assert {event.actor_id for event in order.events.all()} == {order.customer_id, staff.pk, None}

    _assert_same(OrderDetailSerializer(context=_context(user)), order)


def test_hand_built_order_without_payment_equals_the_declared_fields():
    order = OrderFactory(payment=None)
    order = selectors.order_detail(user=UserFactory(is_staff=True), order_id=order.pk)

    _assert_same(OrderDetailSerializer(context={}), order)
    _assert_same(OrderSerializer(), order)
    assert OrderSerializer(order).data["payment"] is None


def test_hand_built_order_list_item_equals_the_declared_fields():
    order = placed_order(variants=[VariantFactory()])
    [order] = selectors.order_list(user=order.customer)

    _assert_same(OrderSerializer(context=_context(order.customer)), order)
