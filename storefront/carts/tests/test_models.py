import importlib

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import IntegrityError, connection

from storefront.accounts.models import User
from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import MAX_CART_ITEM_QUANTITY, Cart
from storefront.carts.tests.factories import CartItemFactory

pytestmark = pytest.mark.django_db


def test_a_new_customer_gets_a_cart():
    customer = UserFactory()
    assert Cart.objects.get(customer=customer).items.count() == 0


def test_create_user_and_create_superuser_each_create_one_cart():
    customer = User.objects.create_user("shopper@example.com", "pw-123456789")
    staff = User.objects.create_superuser("boss@example.com", "pw-123456789")
    assert Cart.objects.filter(customer__in=[customer, staff]).count() == 2


def test_createsuperuser_command_creates_a_cart():
    call_command("createsuperuser", "--noinput", email="root@example.com", verbosity=0)
    assert Cart.objects.filter(customer__email="root@example.com").exists()


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
