"""Query parameters of a product's review list: `rating` and `ordering`."""

import django_filters
from rest_framework.filters import OrderingFilter

from storefront.reviews.models import MAX_RATING, MIN_RATING, Review


class ReviewFilter(django_filters.FilterSet):
    rating = django_filters.TypedChoiceFilter(
        choices=[(n, str(n)) for n in range(MIN_RATING, MAX_RATING + 1)],
        coerce=int,
        help_text="Only reviews with this rating (1 to 5).",
    )

    class Meta:
        model = Review
        fields: list[str] = []


class ReviewOrdering(OrderingFilter):
    """`ordering=-created_at` (newest first, the default), `created_at`, `rating`,
    `-rating`, `helpful_count`, `-helpful_count`; comma-separated for several. Ties go
    newest first (by id), so that pages do not overlap."""

    ordering_description = (
        "-created_at (newest first, the default), created_at, rating, -rating, "
        "helpful_count, -helpful_count; comma-separated for several."
    )

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        return [*ordering, "-id"] if ordering else ordering
