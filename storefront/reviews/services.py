"""Writes of reviews: a customer reviews a product, edits or deletes the review, finds
another's helpful; staff moderate (docs/reviews.md).

Status changes follow Review.TRANSITIONS, each under the review's row lock with a
conditional update. The product's rating (Product.rating_count, rating_sum, rating_average)
is not written here: PostgreSQL moves it in the statement that changes an approved review
(the triggers of reviews migration 0001), so it is exact in the same transaction whoever
writes. What a service does add is the cache: a change that shows in a product's rating
invalidates the cached catalog responses when its transaction commits
(catalog.cache.invalidate_catalog; ratings order and filter the product list, so all of
them).
"""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from storefront.accounts.models import User
from storefront.catalog import cache as catalog_cache
from storefront.catalog.models import Product
from storefront.reviews import selectors
from storefront.reviews.exceptions import (
    AlreadyReviewed,
    InvalidReviewTransition,
    OwnReview,
    ReviewNotFound,
)
from storefront.reviews.models import Review, ReviewVote
from storefront.webhooks import services as webhooks

Status = Review.Status
EDITABLE_FIELDS = frozenset({"rating", "title", "body"})


def is_auto_approved(*, verified_purchase: bool) -> bool:
    """Whether a new or edited review is approved at once, by settings.REVIEWS_AUTO_APPROVE:
    "verified" (the default) approves verified purchases, "all" every review, "none" (or
    any other value) none: they wait for staff."""
    policy = settings.REVIEWS_AUTO_APPROVE
    return policy == "all" or (policy == "verified" and verified_purchase)


def create_review(
    *, product: Product, customer: User, rating: int, title: str = "", body: str = ""
) -> Review:
    """Record `customer`'s review of `product` (a published product: selectors
    .reviewable_product), `rating` 1 to 5, approved at once or pending (is_auto_approved).
    `verified_purchase` says whether the customer has a delivered order holding it.

    Raises AlreadyReviewed (409) when the customer has reviewed the product already (also
    when two requests race: the unique constraint decides). Nothing changes when it raises.
    """
    verified = selectors.has_delivered_purchase(customer=customer, product_id=product.pk)
    status = Status.APPROVED if is_auto_approved(verified_purchase=verified) else Status.PENDING
    try:
        with transaction.atomic():
            review = Review.objects.create(
                product=product,
                customer=customer,
                rating=rating,
                title=title,
                body=body,
                status=status,
                verified_purchase=verified,
            )
            if status == Status.APPROVED:
                catalog_cache.invalidate_catalog()
                _announce_approved(review)
    except IntegrityError as error:
        if _constraint(error) != "reviews_one_per_customer":
            raise
        existing = Review.objects.filter(product=product, customer=customer).first()
        raise AlreadyReviewed(details={"review_id": existing.pk if existing else None}) from None
    return review


def update_review(*, review: Review, changes: dict) -> Review:
    """Change the author's review: `changes` holds some of rating, title, body.

    An edit that changes something is moderated again, as a new review would be: approved
    at once when is_auto_approved says so, pending otherwise; a rejected review edited goes
    back to pending whatever the setting (staff rejected it: staff look again). While
    pending it is out of the product's rating. An edit that changes nothing changes nothing.
    `verified_purchase` is worked out again (a delivery since the review counts).

    Raises ReviewNotFound (404) if the review was deleted meanwhile. Returns the review as
    now stored.
    """
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        current = _lock(review)
        changed = {
            name: value for name, value in changes.items() if getattr(current, name) != value
        }
        if not changed:
            return current
        verified = current.verified_purchase or selectors.has_delivered_purchase(
            customer=current.customer_id, product_id=current.product_id
        )
        if current.status != Status.REJECTED and is_auto_approved(verified_purchase=verified):
            to_status = Status.APPROVED
        else:
            to_status = Status.PENDING
        if to_status != current.status and not current.can_transition_to(to_status):
            raise InvalidReviewTransition(
                from_status=current.status,
                to_status=to_status,
                allowed=sorted(Review.TRANSITIONS[current.status]),
            )
        Review.objects.filter(pk=current.pk, status=current.status).update(
            **changed, status=to_status, verified_purchase=verified, updated_at=timezone.now()
        )
        if Status.APPROVED in (current.status, to_status):
            catalog_cache.invalidate_catalog()
        updated = Review.objects.select_related("customer").get(pk=current.pk)
        if to_status == Status.APPROVED:
            _announce_approved(updated)
    return updated


def delete_review(*, review: Review) -> None:
    """Delete the review and its helpful votes (the author, or staff in the admin); an
    approved one leaves the product's rating. Raises ReviewNotFound (404) if it is gone."""
    with transaction.atomic():
        current = _lock(review)
        current.delete()
        if current.status == Status.APPROVED:
            catalog_cache.invalidate_catalog()


def moderate_review(*, review: Review, status: str, actor: User | None, note: str = "") -> Review:
    """Staff: approve or reject the review (`status` "approved" or "rejected") along
    Review.TRANSITIONS, recording who, when and `note`. Approving adds it to the product's
    rating, rejecting an approved review takes it out.

    Raises InvalidReviewTransition (409) for a move the table does not allow: the review's
    own status again, or to pending (only an author's edit sends a review back to pending);
    ReviewNotFound (404) if it was deleted meanwhile. Nothing changes when it raises.
    """
    with transaction.atomic():
        current = _lock(review)
        allowed = Review.TRANSITIONS[current.status] - {Status.PENDING}
        if status not in allowed:
            raise InvalidReviewTransition(
                from_status=current.status, to_status=status, allowed=sorted(allowed)
            )
        Review.objects.filter(pk=current.pk, status=current.status).update(
            status=status, moderated_by=actor, moderated_at=timezone.now(), moderation_note=note
        )
        catalog_cache.invalidate_catalog()  # Every allowed move enters or leaves approved.
        moderated = Review.objects.select_related("customer").get(pk=current.pk)
        if status == Status.APPROVED:
            _announce_approved(moderated)
    return moderated


def _announce_approved(review: Review) -> None:
    """The `review.approved` webhook event of a review that is now approved (a new one, an
    author's edit approved again, a moderation), in the transaction that approved it."""
    webhooks.emit(
        "review.approved",
        {
            "id": review.pk,
            "product_id": review.product_id,
            "rating": review.rating,
            "verified_purchase": review.verified_purchase,
        },
    )


def mark_helpful(*, review: Review, customer: User) -> Review:
    """Record that `customer` found the review helpful, once: a second time changes nothing
    (and answers the same). Raises OwnReview (403) for the review's author. Returns the
    review with its `helpful_count` as now stored."""
    if review.customer_id == customer.pk:
        raise OwnReview()
    with transaction.atomic():
        try:
            with transaction.atomic():
                ReviewVote.objects.create(review=review, customer=customer)
        except IntegrityError as error:
            if _constraint(error) != "reviews_one_vote":
                raise
        else:
            Review.objects.filter(pk=review.pk).update(helpful_count=F("helpful_count") + 1)
    return Review.objects.select_related("customer").get(pk=review.pk)


def _lock(review: Review) -> Review:
    """The review's row, locked until the transaction ends; ReviewNotFound if deleted."""
    current = Review.objects.select_for_update().filter(pk=review.pk).first()
    if current is None:
        raise ReviewNotFound()
    return current


def _constraint(error: IntegrityError) -> str | None:
    """The name of the constraint PostgreSQL says `error` broke."""
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)
