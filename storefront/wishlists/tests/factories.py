import factory

from storefront.catalog.tests.factories import ProductFactory
from storefront.wishlists.models import WishlistItem


class WishlistItemFactory(factory.django.DjangoModelFactory):
    """A fresh published product (no variant) on a customer's wishlist: pass `customer=`, or
    `cart=` (a guest cart) and `customer=None`; `variant=` for a variant item (its product is
    then the variant's)."""

    class Meta:
        model = WishlistItem

    customer = factory.SubFactory("storefront.accounts.tests.factories.UserFactory")
    cart = None
    variant = None
    product = factory.LazyAttribute(
        lambda item: item.variant.product if item.variant is not None else ProductFactory()
    )
