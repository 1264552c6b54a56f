"""JSON shapes of the reviews API (docs/reviews.md)."""

from rest_framework import serializers

from storefront.reviews.models import (
    MAX_BODY_LENGTH,
    MAX_RATING,
    MAX_TITLE_LENGTH,
    MIN_RATING,
    Review,
)

MAX_NOTE_LENGTH = 2000


class ReviewSerializer(serializers.ModelSerializer):
    """A review: `rating` 1 to 5; `author` the customer's first name and last initial
    ("Ada L.", "A customer" without a name); `status` pending, approved or rejected (lists
    show approved reviews only); `verified_purchase` whether the author had a delivered
    order holding the product; `helpful_count` how many customers found it helpful;
    `updated_at` the author's last edit."""

    product = serializers.IntegerField(source="product_id", read_only=True)
    author = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = [
            "id",
            "product",
            "author",
            "rating",
            "title",
            "body",
            "status",
            "verified_purchase",
            "helpful_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_author(self, review: Review) -> str:
        customer = review.customer
        first, last = customer.first_name.strip(), customer.last_name.strip()
        if not first:
            return "A customer"
        return f"{first} {last[0]}." if last else first


class ReviewWriteSerializer(serializers.Serializer):
    """A review as its author writes it: `rating` 1 to 5, optional `title` (up to 200
    characters) and `body` (up to 5,000)."""

    rating = serializers.IntegerField(min_value=MIN_RATING, max_value=MAX_RATING)
    title = serializers.CharField(
        max_length=MAX_TITLE_LENGTH, required=False, allow_blank=True, default=""
    )
    body = serializers.CharField(
        max_length=MAX_BODY_LENGTH, required=False, allow_blank=True, default=""
    )


class ModerateReviewSerializer(serializers.Serializer):
    """Staff: {status: "approved" | "rejected", note?} (the note is kept, not shown to
    customers)."""

    status = serializers.ChoiceField(
        choices=[(Review.Status.APPROVED, "Approved"), (Review.Status.REJECTED, "Rejected")]
    )
    note = serializers.CharField(
        max_length=MAX_NOTE_LENGTH, required=False, allow_blank=True, default=""
    )
