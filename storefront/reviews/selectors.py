"""Review reads the API depends on: the product a review belongs to, a product's approved
reviews, one review as the caller may see or change it, and whether a purchase is verified.

Each costs one query; lists select the author (the `author` name) in it.
"""

from storefront.catalog import selectors as catalog
from storefront.catalog.exceptions import ProductNotFound
from storefront.catalog.models import Product
from storefront.core.models import is_valid_id
from storefront.orders.models import Order, OrderItem
from storefront.reviews.exceptions import ReviewNotFound
from storefront.reviews.models import Review


def reviewed_product(*, user, product_id: int) -> Product:
    """The product `product_id` if `user` may see it (published, or any for staff: catalog
    selectors.product_detail); raise ProductNotFound (404) otherwise."""
    if not is_valid_id(product_id):
        raise ProductNotFound()
    return catalog.product_detail(user=user, product_id=product_id)


def reviewable_product(*, product_id: int) -> Product:
    """The product `product_id` if customers may review it (published: on sale, for staff
    too); raise ProductNotFound (404) otherwise."""
    product = (
        Product.objects.published().filter(pk=product_id).first()
        if is_valid_id(product_id)
        else None
    )
    if product is None:
        raise ProductNotFound()
    return product


def approved_reviews(*, product: Product):
    """The approved reviews of `product`, newest first, with their authors (one query)."""
    return (
        Review.objects.filter(product=product, status=Review.Status.APPROVED)
        .select_related("customer")
        .order_by("-created_at", "-id")
    )


def visible_review(*, user, product: Product, review_id: int) -> Review:
    """Review `review_id` of `product` as `user` may see it: an approved one for anyone,
    the user's own in any status, any for staff; raise ReviewNotFound (404) otherwise."""
    review = _review(product, review_id)
    own = user.is_authenticated and review.customer_id == user.pk
    if (
        review.status != Review.Status.APPROVED
        and not own
        and not catalog.can_see_unpublished(user)
    ):
        raise ReviewNotFound()
    return review


def own_review(*, user, product: Product, review_id: int) -> Review:
    """Review `review_id` of `product` if `user` wrote it; raise ReviewNotFound (404) for
    another customer's (as for another customer's order), or none."""
    review = _review(product, review_id)
    if review.customer_id != user.pk:
        raise ReviewNotFound()
    return review


def any_review(*, product: Product, review_id: int) -> Review:
    """Review `review_id` of `product` whatever its status or author (staff); raise
    ReviewNotFound (404) if there is none."""
    return _review(product, review_id)


def _review(product: Product, review_id: int) -> Review:
    review = (
        Review.objects.select_related("customer").filter(product=product, pk=review_id).first()
        if is_valid_id(review_id)
        else None
    )
    if review is None:
        raise ReviewNotFound()
    return review


def has_delivered_purchase(*, customer, product_id: int) -> bool:
    """Whether `customer` has a delivered order holding a variant of product `product_id`:
    a verified purchase (one query)."""
    return OrderItem.objects.filter(
        order__customer=customer, order__status=Order.Status.DELIVERED, product_id=product_id
    ).exists()
