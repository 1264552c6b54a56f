"""Moderation in the admin: the approve and reject actions go through the service."""

import pytest
from django.urls import reverse

from storefront.catalog.models import Product
from storefront.reviews.models import Review
from storefront.reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:reviews_review_changelist")


@pytest.fixture
def admin_client(client, staff):
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    return client


def test_approve_and_reject_actions_moderate_the_selected_reviews(admin_client):
    pending = ReviewFactory(status="pending", rating=2)
    approved = ReviewFactory(product=pending.product, rating=5)

    response = admin_client.post(
        CHANGELIST, {"action": "approve", "_selected_action": [pending.pk, approved.pk]}
    )

    assert response.status_code == 302
    assert Review.objects.get(pk=pending.pk).status == "approved"
    product = Product.objects.get(pk=pending.product_id)
    assert (product.rating_count, product.rating_sum) == (2, 7)

    admin_client.post(CHANGELIST, {"action": "reject", "_selected_action": [approved.pk]})

    assert Review.objects.get(pk=approved.pk).status == "rejected"
    product.refresh_from_db()
    assert (product.rating_count, product.rating_sum) == (1, 2)


def test_the_admin_lists_and_shows_reviews(admin_client):
    review = ReviewFactory()

    assert admin_client.get(CHANGELIST, {"status__exact": "approved"}).status_code == 200
    change = reverse("admin:reviews_review_change", args=[review.pk])
    assert admin_client.get(change).status_code == 200


def test_deleting_in_the_admin_takes_the_review_out_of_the_rating(admin_client):
    review = ReviewFactory(rating=3)

    admin_client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [review.pk], "post": "yes"},
    )

    assert not Review.objects.filter(pk=review.pk).exists()
    assert Product.objects.get(pk=review.product_id).rating_count == 0
