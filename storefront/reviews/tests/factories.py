"""Reviews as rows. Prefer services.create_review in tests of workflows; ReviewFactory
builds rows directly (the product's rating follows either way: the triggers keep it)."""

import factory

from storefront.accounts.tests.factories import UserFactory
from storefront.catalog.tests.factories import ProductFactory
from storefront.orders.models import Order
from storefront.orders.tests.factories import OrderItemFactory
from storefront.reviews.models import Review


class ReviewFactory(factory.django.DjangoModelFactory):
    """An approved 4-star review by a new customer of a new published product."""

    class Meta:
        model = Review

    product = factory.SubFactory(ProductFactory)
    customer = factory.SubFactory(UserFactory)
    rating = 4
    title = factory.Sequence(lambda n: f"Review {n}")
    body = "Does what it says."
    status = Review.Status.APPROVED


def delivered_purchase(*, customer, product) -> Order:
    """A delivered order of `customer` holding a variant of `product` (a verified purchase)."""
    item = OrderItemFactory(
        order__customer=customer,
        order__status=Order.Status.DELIVERED,
        variant__product=product,
    )
    return item.order
