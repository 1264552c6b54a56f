"""Product reviews and ratings routes, under /api/ (storefront/reviews/api/views.py)."""

from django.urls import path

from storefront.reviews.api import views

urlpatterns = [
    path(
        "products/<int:product_id>/reviews/",
        views.ProductReviewsView.as_view(),
        name="product-reviews",
    ),
    path(
        "products/<int:product_id>/reviews/<int:review_id>/",
        views.ReviewDetailView.as_view(),
        name="product-review",
    ),
    path(
        "products/<int:product_id>/reviews/<int:review_id>/helpful/",
        views.ReviewHelpfulView.as_view(),
        name="product-review-helpful",
    ),
    path(
        "products/<int:product_id>/reviews/<int:review_id>/moderate/",
        views.ReviewModerateView.as_view(),
        name="product-review-moderate",
    ),
]
