"""The product's stored rating (rating_count, rating_sum, rating_average) equals what its
approved reviews say, after every kind of write, concurrent ones included (real threads on
PostgreSQL)."""

import pytest
from django.db import connection
from django.db.models import Count, Sum

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.catalog import services as catalog_services
from storefront.catalog.models import Product
from storefront.catalog.tests.factories import ProductFactory, VariantFactory
from storefront.reviews import services
from storefront.reviews.exceptions import InvalidReviewTransition
from storefront.reviews.models import Review
from storefront.reviews.tests.factories import ReviewFactory
from tests.concurrency import run_concurrently


def stored(product_id: int) -> tuple[int, int]:
    return tuple(Product.objects.values_list("rating_count", "rating_sum").get(pk=product_id))


def counted(product_id: int) -> tuple[int, int]:
    """What the approved reviews of the product say, counted."""
    totals = Review.objects.filter(product_id=product_id, status="approved").aggregate(
        n=Count("id"), s=Sum("rating")
    )
    return totals["n"], totals["s"] or 0


@pytest.mark.django_db
def test_every_write_keeps_the_rating_exact():
    product, other = ProductFactory(), ProductFactory()
    staff = StaffFactory()
    reviews = [ReviewFactory(product=product, rating=r, status="pending") for r in (1, 2, 3, 4, 5)]
    assert stored(product.pk) == (0, 0)

    for review in reviews[:4]:
        services.moderate_review(review=review, status="approved", actor=staff)
    assert stored(product.pk) == counted(product.pk) == (4, 10)

    services.moderate_review(review=reviews[0], status="rejected", actor=staff)
    services.update_review(review=reviews[1], changes={"rating": 5})  # Back to pending.
    services.delete_review(review=reviews[2])
    assert stored(product.pk) == counted(product.pk) == (1, 4)

    # Writes outside the services: a bulk update, a raw statement, a cascade.
    Review.objects.filter(product=product).update(status="approved")
    assert stored(product.pk) == counted(product.pk) == (4, 15)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE reviews_review SET product_id = %s WHERE id = %s", [other.pk, reviews[4].pk]
        )
    assert stored(product.pk) == counted(product.pk) == (3, 10)
    assert stored(other.pk) == counted(other.pk) == (1, 5)
    reviews[3].customer.delete()
    assert stored(product.pk) == counted(product.pk) == (2, 6)


@pytest.mark.django_db
def test_a_stale_save_of_the_product_keeps_the_rating():
    product = ProductFactory()
    stale = Product.objects.get(pk=product.pk)
    ReviewFactory(product=product, rating=5)

    stale.name = "Renamed"
    stale.save()
    catalog_services.update_product(product=stale, changes={"description": "New."})
    Product.objects.filter(pk=product.pk).update(rating_count=7, rating_sum=1)

    assert stored(product.pk) == (1, 5)
    assert Product.objects.get(pk=product.pk).name == "Renamed"


@pytest.mark.django_db
def test_a_new_product_starts_unrated_whatever_is_written():
    product = Product.objects.create(
        name="P",
        slug="p",
        category=ProductFactory().category,
        rating_count=3,
        rating_sum=12,
    )

    assert stored(product.pk) == (0, 0)
    assert Product.objects.get(pk=product.pk).rating_average is None


@pytest.mark.django_db
def test_a_variant_write_keeps_the_rating():
    variant = VariantFactory(stock_quantity=1)
    ReviewFactory(product=variant.product, rating=3)

    variant.stock_quantity = 0
    variant.save()  # The product's in_stock is recomputed by the catalog's trigger.

    assert stored(variant.product_id) == (1, 3)
    assert Product.objects.get(pk=variant.product_id).in_stock is False


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_of_one_products_reviews_all_count():
    product = ProductFactory()
    staff = StaffFactory()
    reviews = [
        ReviewFactory(product=product, rating=1 + n % 5, status="pending") for n in range(10)
    ]

    outcomes = run_concurrently(
        [
            lambda review=review: services.moderate_review(
                review=review, status="approved", actor=staff
            )
            for review in reviews
        ]
    )

    assert [outcome.error for outcome in outcomes] == [None] * 10
    assert stored(product.pk) == counted(product.pk) == (10, 30)
    assert Product.objects.get(pk=product.pk).rating_average == 3


@pytest.mark.django_db(transaction=True)
def test_one_review_approved_by_ten_staff_at_once_counts_once():
    review = ReviewFactory(rating=4, status="pending")
    staff = [StaffFactory() for _ in range(10)]

    outcomes = run_concurrently(
        [
            lambda actor=actor: services.moderate_review(
                review=review, status="approved", actor=actor
            )
            for actor in staff
        ]
    )

    errors = [outcome.error for outcome in outcomes if outcome.error is not None]
    assert len(errors) == 9
    assert all(isinstance(error, InvalidReviewTransition) for error in errors)
    assert stored(review.product_id) == (1, 4)


@pytest.mark.django_db(transaction=True)
def test_concurrent_edits_deletions_and_approvals_leave_the_rating_exact():
    product = ProductFactory()
    staff = StaffFactory()
    approved = [ReviewFactory(product=product, rating=5) for _ in range(4)]
    pending = [ReviewFactory(product=product, rating=2, status="pending") for _ in range(4)]

    calls = [
        lambda: services.update_review(review=approved[0], changes={"rating": 1}),
        lambda: services.update_review(review=approved[1], changes={"rating": 3}),
        lambda: services.delete_review(review=approved[2]),
        lambda: services.moderate_review(review=approved[3], status="rejected", actor=staff),
        *[
            lambda review=review: services.moderate_review(
                review=review, status="approved", actor=staff
            )
            for review in pending
        ],
        lambda: services.mark_helpful(review=approved[3], customer=UserFactory()),
    ]
    outcomes = run_concurrently(calls)

    assert [outcome.error for outcome in outcomes] == [None] * len(calls)
    assert stored(product.pk) == counted(product.pk)
