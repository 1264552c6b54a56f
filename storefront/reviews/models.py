"""Product reviews: a customer's rating (1 to 5) of a product with an optional title and
body, moderated by staff, and the customers who found each review helpful.

Rules in docs/reviews.md; the writes in services.py.
"""

from typing import ClassVar

from django.conf import settings
from django.db import models

from storefront.core.models import TimeStampedModel

MIN_RATING, MAX_RATING = 1, 5
MAX_TITLE_LENGTH = 200
MAX_BODY_LENGTH = 5000


class Review(TimeStampedModel):
    """One customer's review of one product (at most one each: `reviews_one_per_customer`).

    `status` moves only along TRANSITIONS (services.moderate_review, services.update_review)
    with a conditional update. Only approved reviews are shown and counted in the product's
    rating (Product.rating_count, rating_sum, rating_average), which PostgreSQL keeps in the
    writing statement (the triggers of migration 0001), whatever writes the reviews.
    `verified_purchase`: the customer had a delivered order holding the product when they
    wrote or last edited the review. `updated_at` is the author's last edit (moderation
    sets `moderated_at`); `helpful_count` counts the ReviewVotes.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    # The one table of allowed status changes: from -> the statuses it may move to. Staff
    # approve or reject; an author's edit sends an approved or rejected review back to
    # pending (unless REVIEWS_AUTO_APPROVE approves it again at once).
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.PENDING: frozenset({Status.APPROVED, Status.REJECTED}),
        Status.APPROVED: frozenset({Status.REJECTED, Status.PENDING}),
        Status.REJECTED: frozenset({Status.APPROVED, Status.PENDING}),
    }

    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="reviews")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews"
    )
    rating = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=MAX_TITLE_LENGTH, blank=True)
    body = models.TextField(max_length=MAX_BODY_LENGTH, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    verified_purchase = models.BooleanField(default=False)
    helpful_count = models.PositiveIntegerField(default=0)
    # The last moderation: who, when, and the note staff gave (not shown to customers).
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    moderated_at = models.DateTimeField(null=True, blank=True)
    moderation_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "customer"], name="reviews_one_per_customer"
            ),
            models.CheckConstraint(
                condition=models.Q(rating__gte=MIN_RATING, rating__lte=MAX_RATING),
                name="reviews_rating_1_to_5",
            ),
        ]
        indexes = [
            # A product's approved reviews, newest first (the list's default order).
            models.Index(
                fields=["product", "status", "-created_at", "-id"], name="reviews_product_new"
            ),
            # The moderation queue.
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="pending"),
                name="reviews_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 for product {self.product_id} by customer {self.customer_id}"

    def can_transition_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.status]


class ReviewVote(models.Model):
    """A customer found a review helpful: at most once per customer and review."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="votes")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_votes"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["review", "customer"], name="reviews_one_vote"),
        ]

    def __str__(self) -> str:
        return f"Customer {self.customer_id} found review {self.review_id} helpful"
