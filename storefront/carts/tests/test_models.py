import importlib

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import IntegrityError, connection
from rest_framework.test import APIClient

from storefront.accounts.models import User
from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import MAX_CART_ITEM_QUANTITY, Cart
from storefront.carts.services import get_or_create_customer_cart
from storefront.carts.tests.factories import CartItemFactory

pytestmark = pytest.mark.django_db


def test_users_created_outside_registration_get_their_cart_on_first_use():
    customer = User.objects.create_user("shopper@example.com", "pw-123456789")
    staff = User.objects.create_superuser("boss@example.com", "pw-123456789")
    assert not Cart.objects.filter(customer__in=[customer, staff]).exists()

    first, staffs, again = (
        get_or_create_customer_cart(customer=user) for user in (customer, staff, customer)
    )

    assert (first.customer, staffs.customer, again) == (customer, staff, first)
    assert Cart.objects.filter(customer__in=[customer, staff]).count() == 2


def test_the_cart_endpoint_gives_a_createsuperuser_user_a_cart():
    call_command("createsuperuser", "--noinput", email="root@example.com", verbosity=0)
    root = User.objects.get(email="root@example.com")
    client = APIClient()
    client.force_authenticate(root)

    response = client.get("/api/cart/")

    assert response.status_code == 200
    assert response.json()["id"] == Cart.objects.get(customer=root).pk


def test_saving_an_existing_customer_keeps_their_one_cart():
    customer = UserFactory()
    cart = customer.cart
    customer.first_name = "Renamed"
    customer.save()
    assert list(Cart.objects.filter(customer=customer)) == [cart]


def test_deleting_a_customer_deletes_their_cart_and_its_items():
    item = CartItemFactory(cart=UserFactory().cart)
    item.cart.customer.delete()
    assert not Cart.objects.filter(pk=item.cart_id).exists()


def test_database_refuses_a_quantity_above_the_maximum():
    item = CartItemFactory()
    item.quantity = MAX_CART_ITEM_QUANTITY + 1
    with pytest.raises(IntegrityError):
        item.save()


def test_migration_gives_a_cart_to_customers_created_without_one():
    customer = UserFactory()
    Cart.objects.filter(customer=customer).delete()
    migration = importlib.import_module(
        "storefront.carts.migrations.0002_create_missing_customer_carts"
    )
    with connection.schema_editor() as schema_editor:
        migration.create_missing_customer_carts(apps, schema_editor)
    assert Cart.objects.filter(customer=customer).count() == 1
