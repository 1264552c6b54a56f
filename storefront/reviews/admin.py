"""Reviews in the admin: staff read them and approve or reject them with the actions, which
go through reviews.services (the transition table and the catalog cache apply exactly as
through the API). What the customer wrote is read-only; deleting goes through the service
too."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from storefront.core.exceptions import DomainError
from storefront.reviews import services
from storefront.reviews.models import Review


def _moderate(
    modeladmin: admin.ModelAdmin, request: HttpRequest, reviews: QuerySet[Review], status: str
) -> None:
    """Move each selected review to `status`; report what was done and what was refused."""
    done, refused = 0, []
    for review in reviews:
        try:
            services.moderate_review(
                review=review, status=status, actor=request.user, note="Moderated in the admin."
            )
        except DomainError as error:
            refused.append(f"review {review.pk}: {error.message}")
        else:
            done += 1
    if done:
        modeladmin.message_user(
            request, f"{status.capitalize()}: {done} review(s).", messages.SUCCESS
        )
    if refused:
        modeladmin.message_user(request, f"Not changed: {'; '.join(refused)}", messages.WARNING)


@admin.action(description="Approve selected reviews", permissions=["change"])
def approve(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Review]):
    _moderate(modeladmin, request, queryset, Review.Status.APPROVED)


@admin.action(description="Reject selected reviews", permissions=["change"])
def reject(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Review]):
    _moderate(modeladmin, request, queryset, Review.Status.REJECTED)


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "product",
        "customer",
        "rating",
        "title",
        "status",
        "verified_purchase",
        "helpful_count",
        "created_at",
    ]
    list_filter = ["status", "rating", "verified_purchase"]
    list_select_related = ["product", "customer"]
    search_fields = ["title", "body", "product__name", "customer__email"]
    date_hierarchy = "created_at"
    actions = [approve, reject]
    fields = [
        "product",
        "customer",
        "rating",
        "title",
        "body",
        "status",
        "verified_purchase",
        "helpful_count",
        "moderated_by",
        "moderated_at",
        "moderation_note",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # Customers write reviews.

    def delete_model(self, request: HttpRequest, obj: Review) -> None:
        services.delete_review(review=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Review]) -> None:
        for review in queryset:
            services.delete_review(review=review)
