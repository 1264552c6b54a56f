"""The customer's own data: export (right of access), deletion (right to erasure), and the
checkout rule for unverified emails."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken

from storefront.accounts.models import Address, User
from storefront.accounts.tests.factories import DEFAULT_PASSWORD
from storefront.accounts.tests.helpers import assert_error
from storefront.accounts.tests.test_api_token import ME_URL, client_with, log_in
from storefront.carts.models import CartItem
from storefront.catalog.tests.factories import VariantFactory
from storefront.orders.models import Order
from storefront.orders.tests.factories import placed_order
from tests.helpers import CHECKOUT

pytestmark = pytest.mark.django_db

EXPORT_URL = "/api/me/export/"


def signed_in(user) -> object:
    return client_with(AuthToken.objects.create(user)[1])


def address_of(customer, **fields) -> Address:
    return Address.objects.create(
        customer=customer,
        line1="1 Main St",
        city="Springfield",
        postal_code="12345",
        country="US",
        **fields,
    )


# --- Export ------------------------------------------------------------------------------


def test_the_export_holds_profile_addresses_cart_and_orders(customer, other_customer):
    address_of(customer, full_name="Ann Example")
    order = placed_order(customer=customer, variants=[VariantFactory(sku="MUG-1")], quantity=2)
    placed_order(customer=other_customer)
    in_cart = VariantFactory(sku="CAP-1")
    CartItem.objects.create(cart=customer.cart, variant=in_cart, quantity=3)

    response = signed_in(customer).get(EXPORT_URL)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"exported_at", "profile", "addresses", "cart", "orders"}
    assert body["profile"]["email"] == customer.email
    assert [a["full_name"] for a in body["addresses"]] == ["Ann Example"]
    assert body["cart"] == [{"variant_id": in_cart.pk, "sku": "CAP-1", "quantity": 3}]
    [exported] = body["orders"]
    assert exported["number"] == order.number
    assert [(item["sku"], item["quantity"]) for item in exported["items"]] == [("MUG-1", 2)]
    assert exported["payment"]["amount"] == str(order.total)
    assert [event["to_status"] for event in exported["events"]] == ["pending"]


def test_the_export_costs_the_same_queries_for_one_order_or_many(customer):
    client = signed_in(customer)
    placed_order(customer=customer)
    with CaptureQueriesContext(connection) as one:
        client.get(EXPORT_URL)
    for _ in range(4):
        placed_order(customer=customer, variants=[VariantFactory(), VariantFactory()])
    with CaptureQueriesContext(connection) as five:
        response = client.get(EXPORT_URL)

    assert len(response.json()["orders"]) == 5
    assert len(five) == len(one)


def test_the_export_needs_a_login(api_client):
    assert api_client.get(EXPORT_URL).status_code == 401


def test_a_staff_export_holds_only_their_own_orders(staff, customer):
    placed_order(customer=customer)
    assert signed_in(staff).get(EXPORT_URL).json()["orders"] == []


# --- Deletion ----------------------------------------------------------------------------


def test_deleting_my_account_anonymises_it_keeps_orders_and_revokes_tokens(customer, api_client):
    address_of(customer)
    order = placed_order(customer=customer)
    client = signed_in(customer)
    other = signed_in(customer)
    email = customer.email

    response = client.delete(ME_URL, {"password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 204, response.content
    assert client.get(ME_URL).status_code == 401
    assert other.get(ME_URL).status_code == 401
    user = User.objects.get(pk=customer.pk)
    assert (user.is_active, user.email.endswith("@anonymised.invalid")) == (False, True)
    assert not user.addresses.exists()
    assert Order.objects.get(pk=order.pk).customer_id == customer.pk
    assert log_in(api_client, email).status_code == 400


def test_a_wrong_password_deletes_nothing(customer):
    client = signed_in(customer)

    response = client.delete(ME_URL, {"password": "not-it"}, format="json")

    assert_error(response, 400, "invalid", field="password")
    assert User.objects.get(pk=customer.pk).is_active
    assert client.get(ME_URL).status_code == 200


def test_deleting_needs_the_password(customer):
    assert_error(signed_in(customer).delete(ME_URL), 400, "invalid", field="password")
    assert User.objects.get(pk=customer.pk).is_active


# --- Checkout and verified emails ---------------------------------------------------------


def test_unverified_customers_may_check_out_by_default(customer):
    CartItem.objects.create(cart=customer.cart, variant=VariantFactory(), quantity=1)
    assert signed_in(customer).post("/api/orders/", CHECKOUT, format="json").status_code == 201


def test_a_shop_can_require_a_verified_email_to_check_out(customer, settings):
    settings.CHECKOUT_REQUIRES_VERIFIED_EMAIL = True
    variant = VariantFactory(stock_quantity=5)
    CartItem.objects.create(cart=customer.cart, variant=variant, quantity=1)
    client = signed_in(customer)

    assert_error(client.post("/api/orders/", CHECKOUT, format="json"), 403, "email_not_verified")
    assert not Order.objects.exists()
    variant.refresh_from_db()
    assert variant.stock_quantity == 5

    User.objects.filter(pk=customer.pk).update(email_verified=True)
    assert client.post("/api/orders/", CHECKOUT, format="json").status_code == 201
