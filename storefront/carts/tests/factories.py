import factory

from storefront.carts.models import Cart, CartItem
from storefront.catalog.tests.factories import VariantFactory


class GuestCartFactory(factory.django.DjangoModelFactory):
    """A guest cart (no customer). A customer's cart comes with the customer: `user.cart`."""

    class Meta:
        model = Cart

    customer = None


class CartItemFactory(factory.django.DjangoModelFactory):
    """One unit of a fresh in-stock variant, in a fresh guest cart unless `cart=` is given."""

    class Meta:
        model = CartItem

    cart = factory.SubFactory(GuestCartFactory)
    variant = factory.SubFactory(VariantFactory)
    quantity = 1
