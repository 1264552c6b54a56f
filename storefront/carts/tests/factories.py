import factory

from storefront.carts.models import Cart, CartItem
from storefront.catalog.tests.factories import VariantFactory


class GuestCartFactory(factory.django.DjangoModelFactory):
    """A guest cart (no customer). UserFactory gives each customer theirs: `user.cart`."""

    class Meta:
        model = Cart

    customer = None


class CustomerCartFactory(factory.django.DjangoModelFactory):
    """The empty cart of a customer (UserFactory makes one with every user)."""

    class Meta:
        model = Cart

    customer = factory.SubFactory("storefront.accounts.tests.factories.UserFactory", cart=None)


class CartItemFactory(factory.django.DjangoModelFactory):
    """One unit of a fresh in-stock variant, in a fresh guest cart unless `cart=` is given."""

    class Meta:
        model = CartItem

    cart = factory.SubFactory(GuestCartFactory)
    variant = factory.SubFactory(VariantFactory)
    quantity = 1
