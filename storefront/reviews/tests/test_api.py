"""The reviews API: writing, moderating, editing and deleting a review, with the product's
rating following each step; the list's order and filters; every bad input refused with
nothing changed."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.catalog.documents import product_documents
from storefront.catalog.models import Product
from storefront.catalog.tests.factories import ProductFactory
from storefront.reviews.models import Review, ReviewVote
from storefront.reviews.tests.factories import ReviewFactory, delivered_purchase

pytestmark = pytest.mark.django_db


def reviews_url(product_id: int) -> str:
    return f"/api/products/{product_id}/reviews/"


def review_url(product_id: int, review_id: int, action: str = "") -> str:
    return f"/api/products/{product_id}/reviews/{review_id}/" + (f"{action}/" if action else "")


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def rating_of(product: Product) -> tuple[int, int, Decimal | None]:
    """(count, sum, average) as stored on the product row."""
    product.refresh_from_db()
    return product.rating_count, product.rating_sum, product.rating_average


def product_rating(product_id: int) -> dict:
    """The product's `rating` as the list and detail build it (uncached: a test's writes
    never commit, so the cache is not invalidated but in test_..._in_a_cached_product)."""
    [document] = product_documents([product_id], request=None, published_only=False)
    return document["rating"]


def cached_rating(product_id: int) -> dict:
    return APIClient().get(f"/api/products/{product_id}/").json()["rating"]


def state() -> tuple:
    """Everything a refused request must leave as it was."""
    return (
        sorted(Review.objects.values_list("id", "rating", "title", "body", "status")),
        sorted(Product.objects.values_list("id", "rating_count", "rating_sum")),
        ReviewVote.objects.count(),
    )


@pytest.fixture
def product():
    return ProductFactory()


@pytest.fixture
def staff_client():
    return client_of(StaffFactory())


# --- Lifecycle ----------------------------------------------------------------------------


def test_a_verified_purchase_is_approved_at_once_and_counted(customer, customer_client, product):
    delivered_purchase(customer=customer, product=product)

    response = customer_client.post(
        reviews_url(product.pk), {"rating": 5, "title": "Great", "body": "Fits well."}
    )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "approved"
    assert body["verified_purchase"] is True
    assert body["author"] == f"{customer.first_name} {customer.last_name[0]}."
    assert response["Location"] == f"http://testserver{review_url(product.pk, body['id'])}"
    assert product_rating(product.pk) == {"average": "5.00", "count": 1}
    assert [r["id"] for r in APIClient().get(reviews_url(product.pk)).json()["results"]] == [
        body["id"]
    ]


def test_a_review_without_a_delivered_order_waits_for_staff(customer, customer_client, product):
    # An order not delivered yet is no verified purchase.
    order = delivered_purchase(customer=customer, product=product)
    order.status = "shipped"
    order.save(update_fields=["status"])

    body = customer_client.post(reviews_url(product.pk), {"rating": 2}).json()

    assert (body["status"], body["verified_purchase"]) == ("pending", False)
    assert product_rating(product.pk) == {"average": None, "count": 0}
    assert APIClient().get(reviews_url(product.pk)).json()["results"] == []
    # Its author (and staff) can read it; others cannot.
    assert customer_client.get(review_url(product.pk, body["id"])).status_code == 200
    assert APIClient().get(review_url(product.pk, body["id"])).status_code == 404


def test_staff_approve_and_reject_through_the_api(customer_client, staff_client, product):
    review_id = customer_client.post(reviews_url(product.pk), {"rating": 3}).json()["id"]
    moderate = review_url(product.pk, review_id, "moderate")

    approved = staff_client.post(moderate, {"status": "approved", "note": "Fine."})
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert product_rating(product.pk) == {"average": "3.00", "count": 1}

    assert staff_client.post(moderate, {"status": "rejected"}).json()["status"] == "rejected"
    assert product_rating(product.pk) == {"average": None, "count": 0}
    assert APIClient().get(reviews_url(product.pk)).json()["count"] == 0

    assert staff_client.post(moderate, {"status": "approved"}).status_code == 200
    review = Review.objects.get(pk=review_id)
    assert review.moderated_by.is_staff
    assert review.moderation_note == ""
    assert product_rating(product.pk) == {"average": "3.00", "count": 1}


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [("approved", "approved"), ("rejected", "rejected"), ("pending", "pending")],
)
def test_moderating_to_a_status_the_table_refuses_changes_nothing(
    staff_client, from_status, to_status
):
    review = ReviewFactory(status=from_status)
    before = state()

    response = staff_client.post(
        review_url(review.product_id, review.pk, "moderate"), {"status": to_status}
    )

    assert response.status_code == (409 if to_status != "pending" else 400)
    code = response.json()["error"]["code"]
    assert code == ("invalid_status_transition" if to_status != "pending" else "invalid")
    assert state() == before


def test_customers_cannot_moderate(customer_client):
    review = ReviewFactory(status="pending")
    before = state()

    response = customer_client.post(
        review_url(review.product_id, review.pk, "moderate"), {"status": "approved"}
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert state() == before


@pytest.mark.parametrize(
    ("policy", "verified", "status"),
    [
        ("verified", True, "approved"),
        ("verified", False, "pending"),
        ("all", False, "approved"),
        ("none", True, "pending"),
    ],
)
def test_auto_approval_follows_the_setting(
    settings, customer, customer_client, product, policy, verified, status
):
    settings.REVIEWS_AUTO_APPROVE = policy
    if verified:
        delivered_purchase(customer=customer, product=product)

    body = customer_client.post(reviews_url(product.pk), {"rating": 4}).json()

    assert body["status"] == status
    assert product_rating(product.pk)["count"] == (1 if status == "approved" else 0)


def test_an_edit_of_an_approved_review_is_moderated_again(settings, customer, product):
    settings.REVIEWS_AUTO_APPROVE = "none"
    review = ReviewFactory(product=product, customer=customer, rating=5)
    ReviewFactory(product=product, rating=3)
    assert product_rating(product.pk) == {"average": "4.00", "count": 2}

    response = client_of(customer).patch(review_url(product.pk, review.pk), {"rating": 1})

    assert response.status_code == 200
    assert (response.json()["rating"], response.json()["status"]) == (1, "pending")
    assert product_rating(product.pk) == {"average": "3.00", "count": 1}


def test_an_edit_of_a_verified_purchase_stays_approved_with_its_new_rating(customer, product):
    delivered_purchase(customer=customer, product=product)
    review = ReviewFactory(product=product, customer=customer, rating=5, verified_purchase=True)

    body = client_of(customer).patch(review_url(product.pk, review.pk), {"rating": 2}).json()

    assert (body["rating"], body["status"]) == (2, "approved")
    assert rating_of(product) == (1, 2, Decimal("2.00"))


def test_an_edit_of_a_rejected_review_goes_back_to_pending(settings, customer, product):
    settings.REVIEWS_AUTO_APPROVE = "all"
    review = ReviewFactory(product=product, customer=customer, status="rejected")

    body = client_of(customer).patch(review_url(product.pk, review.pk), {"body": "Fixed."}).json()

    assert (body["body"], body["status"]) == ("Fixed.", "pending")


def test_an_edit_that_changes_nothing_keeps_the_status(settings, customer, product):
    settings.REVIEWS_AUTO_APPROVE = "none"
    review = ReviewFactory(product=product, customer=customer, rating=4)

    body = client_of(customer).patch(review_url(product.pk, review.pk), {"rating": 4}).json()

    assert body["status"] == "approved"
    assert product_rating(product.pk) == {"average": "4.00", "count": 1}


def test_deleting_an_approved_review_takes_it_out_of_the_rating(customer, product):
    review = ReviewFactory(product=product, customer=customer, rating=5)
    ReviewFactory(product=product, rating=2)
    ReviewVote.objects.create(review=review, customer=UserFactory())

    response = client_of(customer).delete(review_url(product.pk, review.pk))

    assert response.status_code == 204
    assert not Review.objects.filter(pk=review.pk).exists()
    assert ReviewVote.objects.count() == 0
    assert rating_of(product) == (1, 2, Decimal("2.00"))


def test_the_average_is_rounded_half_up_to_two_decimals(product):
    # 33 / 8 = 4.125 exactly: half up, 4.13. 5, 4, 4: 4.333... -> 4.33. 1, 2, 2 -> 1.67.
    for rating in (5, 5, 5, 4, 4, 4, 3, 3):
        ReviewFactory(product=product, rating=rating)
    other, third = ProductFactory(), ProductFactory()
    for rating in (5, 4, 4):
        ReviewFactory(product=other, rating=rating)
    for rating in (1, 2, 2):
        ReviewFactory(product=third, rating=rating)

    assert product_rating(product.pk) == {"average": "4.13", "count": 8}
    assert product_rating(other.pk) == {"average": "4.33", "count": 3}
    assert product_rating(third.pk) == {"average": "1.67", "count": 3}


def test_an_approval_shows_in_a_cached_product_at_once(
    django_capture_on_commit_callbacks, staff_client, product
):
    review = ReviewFactory(product=product, status="pending")
    assert cached_rating(product.pk)["count"] == 0  # Now cached.

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(review_url(product.pk, review.pk, "moderate"), {"status": "approved"})

    assert cached_rating(product.pk) == {"average": "4.00", "count": 1}


# --- Helpful ------------------------------------------------------------------------------


def test_helpful_counts_once_per_customer(customer_client):
    review = ReviewFactory()
    url = review_url(review.product_id, review.pk, "helpful")

    first = customer_client.post(url)
    second = customer_client.post(url)
    client_of(UserFactory()).post(url)

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["helpful_count"] == second.json()["helpful_count"] == 1
    assert Review.objects.get(pk=review.pk).helpful_count == 2
    assert ReviewVote.objects.filter(review=review).count() == 2


def test_an_author_cannot_find_their_own_review_helpful(customer, customer_client):
    review = ReviewFactory(customer=customer)
    before = state()

    response = customer_client.post(review_url(review.product_id, review.pk, "helpful"))

    assert response.status_code == 403
    assert state() == before


def test_a_review_not_approved_cannot_be_found_helpful(customer_client):
    review = ReviewFactory(status="pending")

    response = customer_client.post(review_url(review.product_id, review.pk, "helpful"))

    assert response.status_code == 404
    assert Review.objects.get(pk=review.pk).helpful_count == 0


# --- The list: order, filters, cost -------------------------------------------------------


@pytest.fixture
def listed(product):
    """Approved reviews of `product` oldest first: (rating, helpful_count); and a pending
    and a rejected one, never listed."""
    reviews = [
        ReviewFactory(product=product, rating=rating, helpful_count=helpful)
        for rating, helpful in [(3, 5), (5, 0), (1, 9), (5, 2)]
    ]
    ReviewFactory(product=product, status="pending")
    ReviewFactory(product=product, status="rejected")
    ReviewFactory(rating=5)  # Another product's.
    return [review.pk for review in reviews]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        (None, [3, 2, 1, 0]),
        ("-created_at", [3, 2, 1, 0]),
        ("created_at", [0, 1, 2, 3]),
        ("-rating", [3, 1, 0, 2]),
        ("rating", [2, 0, 3, 1]),
        ("-helpful_count", [2, 0, 3, 1]),
        ("nonsense", [3, 2, 1, 0]),
    ],
)
def test_the_list_orders_approved_reviews(api_client, product, listed, ordering, expected):
    params = {"ordering": ordering} if ordering else {}

    body = api_client.get(reviews_url(product.pk), params).json()

    assert [review["id"] for review in body["results"]] == [listed[i] for i in expected]
    assert body["count"] == 4


def test_the_list_filters_by_rating(api_client, product, listed):
    body = api_client.get(reviews_url(product.pk), {"rating": "5"}).json()

    assert [review["id"] for review in body["results"]] == [listed[3], listed[1]]


@pytest.mark.parametrize("params", [{"rating": "6"}, {"rating": "x"}, {"stars": "5"}])
def test_a_bad_list_parameter_is_a_400(api_client, product, params):
    response = api_client.get(reviews_url(product.pk), params)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == list(params)


def test_the_list_is_paginated(api_client, product, listed):
    body = api_client.get(reviews_url(product.pk), {"page_size": 3}).json()

    assert (body["count"], len(body["results"])) == (4, 3)
    assert body["next"].endswith("page=2&page_size=3")


@pytest.mark.parametrize("reviews", [1, 30])
def test_the_list_costs_three_queries(api_client, django_assert_num_queries, product, reviews):
    ReviewFactory.create_batch(reviews, product=product)

    # The product, the count, the page with its authors.
    with django_assert_num_queries(3):
        response = api_client.get(reviews_url(product.pk), {"page_size": 100})

    assert len(response.json()["results"]) == reviews


def test_reviews_of_an_unpublished_product_are_hidden_from_customers(
    api_client, staff_client, listed, product
):
    Product.objects.filter(pk=product.pk).update(is_published=False)

    assert api_client.get(reviews_url(product.pk)).status_code == 404
    assert staff_client.get(reviews_url(product.pk)).json()["count"] == 4


# --- Bad input: 4xx in the error shape, nothing changed -----------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": "five"}, "rating"),
        ({"title": "No rating"}, "rating"),
        ({"rating": 4, "body": "x" * 5001}, "body"),
        ({"rating": 4, "title": "x" * 201}, "title"),
    ],
)
def test_a_bad_review_is_a_400(customer_client, product, body, field):
    before = state()

    response = customer_client.post(reviews_url(product.pk), body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], list(error["fields"])) == ("invalid", [field])
    assert state() == before


def test_a_body_of_5000_characters_is_taken(customer_client, product):
    response = customer_client.post(reviews_url(product.pk), {"rating": 4, "body": "x" * 5000})

    assert response.status_code == 201


def test_a_second_review_of_the_same_product_is_a_409(customer, customer_client, product):
    first = ReviewFactory(product=product, customer=customer)
    before = state()

    response = customer_client.post(reviews_url(product.pk), {"rating": 1})

    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["code"], error["details"]) == ("already_reviewed", {"review_id": first.pk})
    assert state() == before


@pytest.mark.parametrize("product_id", ["unpublished", 999999, 2**63])
def test_reviewing_an_unpublished_or_unknown_product_is_a_404(staff_client, product_id):
    if product_id == "unpublished":
        product_id = ProductFactory(is_published=False).pk
    before = state()

    # Staff included: an unpublished product is not on sale.
    response = staff_client.post(reviews_url(product_id), {"rating": 4})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert state() == before


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_another_customers_review_cannot_be_changed(customer_client, method):
    review = ReviewFactory()
    before = state()

    response = getattr(customer_client, method)(
        review_url(review.product_id, review.pk), {"rating": 1}
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert state() == before


def test_an_edit_with_a_bad_rating_changes_nothing(customer, customer_client):
    review = ReviewFactory(customer=customer)
    before = state()

    response = customer_client.patch(review_url(review.product_id, review.pk), {"rating": 0})

    assert response.status_code == 400
    assert state() == before


def test_a_review_of_another_product_is_not_found_under_this_one(customer, customer_client):
    review = ReviewFactory(customer=customer)
    other = ProductFactory()

    assert customer_client.delete(review_url(other.pk, review.pk)).status_code == 404
    assert Review.objects.filter(pk=review.pk).exists()


def test_anonymous_visitors_cannot_write(api_client, product):
    review = ReviewFactory(product=product)

    assert api_client.post(reviews_url(product.pk), {"rating": 4}).status_code == 401
    assert api_client.post(review_url(product.pk, review.pk, "helpful")).status_code == 401
    assert api_client.delete(review_url(product.pk, review.pk)).status_code == 401
