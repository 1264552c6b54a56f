"""Review endpoints, under a product: the approved reviews (anyone), a customer's own review
(write, change, delete), helpful votes, and staff moderation.

Errors use the shape of docs/api.md; codes and rules in docs/reviews.md. A product that
the caller may not see (unknown, or unpublished for customers) is a 404 on every endpoint;
another customer's review is a 404 to change or delete, as another customer's order is.
"""

from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.permissions import IsAdminUser, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from storefront.catalog.exceptions import ProductNotFound
from storefront.core.api.filters import KnownQueryParameters
from storefront.core.api.schema import raises
from storefront.reviews import selectors, services
from storefront.reviews.api.filters import ReviewFilter, ReviewOrdering
from storefront.reviews.api.serializers import (
    ModerateReviewSerializer,
    ReviewSerializer,
    ReviewWriteSerializer,
)
from storefront.reviews.exceptions import (
    AlreadyReviewed,
    InvalidReviewTransition,
    OwnReview,
    ReviewNotFound,
)
from storefront.reviews.models import Review


def _review_url(request: Request, review: Review) -> str:
    return request.build_absolute_uri(
        reverse("product-review", kwargs={"product_id": review.product_id, "review_id": review.pk})
    )


class ProductReviewsView(ListModelMixin, GenericAPIView):
    """A product's approved reviews, and a customer's new review of it."""

    permission_classes = [IsAuthenticatedOrReadOnly]
    serializer_class = ReviewSerializer
    filter_backends = [KnownQueryParameters, DjangoFilterBackend, ReviewOrdering]
    filterset_class = ReviewFilter
    ordering_fields = ["created_at", "rating", "helpful_count"]
    ordering = ["-created_at", "-id"]

    def get_serializer_class(self):
        # By method, so that OPTIONS and the browsable API describe the body a POST takes.
        if self.request is not None and self.request.method == "POST":
            return ReviewWriteSerializer
        return ReviewSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # Schema generation: no product.
            return Review.objects.none()
        product = selectors.reviewed_product(
            user=self.request.user, product_id=self.kwargs["product_id"]
        )
        return selectors.approved_reviews(product=product)

    @raises(ProductNotFound)
    def get(self, request: Request, product_id: int) -> Response:
        """The product's approved reviews, newest first, paginated (`page`, `page_size`).

        ?rating=1..5 keeps one rating; ?ordering=-created_at (default), created_at, rating,
        -rating, helpful_count, -helpful_count. 404 for a product the caller cannot see.
        """
        return self.list(request)

    @extend_schema(request=ReviewWriteSerializer, responses={201: ReviewSerializer})
    @raises(ProductNotFound, AlreadyReviewed)
    def post(self, request: Request, product_id: int) -> Response:
        """Review the product {rating: 1-5, title?, body? (up to 5,000 characters)}: 201 +
        the review, with a Location header.

        Approved at once or pending by REVIEWS_AUTO_APPROVE (default: verified purchases
        approved, the others pending until staff approve them). 409 already_reviewed (one
        review per customer and product; `details.review_id` is the one to change); 404 for
        an unpublished or unknown product. Nothing changes on an error.
        """
        serializer = ReviewWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = selectors.reviewable_product(product_id=product_id)
        review = services.create_review(
            product=product, customer=request.user, **serializer.validated_data
        )
        return Response(
            ReviewSerializer(review).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": _review_url(request, review)},
        )


class ReviewDetailView(APIView):
    """One review of a product: read it, or, for its author, change or delete it."""

    permission_classes = [IsAuthenticatedOrReadOnly]

    @extend_schema(responses=ReviewSerializer)
    @raises(ProductNotFound, ReviewNotFound)
    def get(self, request: Request, product_id: int, review_id: int) -> Response:
        """The review: an approved one for anyone, one's own in any status, any for staff;
        404 otherwise."""
        product = selectors.reviewed_product(user=request.user, product_id=product_id)
        review = selectors.visible_review(user=request.user, product=product, review_id=review_id)
        return Response(ReviewSerializer(review).data)

    @extend_schema(request=ReviewWriteSerializer, responses=ReviewSerializer)
    @raises(ProductNotFound, ReviewNotFound)
    def patch(self, request: Request, product_id: int, review_id: int) -> Response:
        """The author: change some of {rating, title, body}. 200 + the review.

        A change is moderated again: approved at once if REVIEWS_AUTO_APPROVE approves it
        as a new review, pending otherwise (a rejected review goes back to pending); until
        approved it is out of the product's rating. 404 for another customer's review.
        """
        serializer = ReviewWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        product = selectors.reviewed_product(user=request.user, product_id=product_id)
        review = selectors.own_review(user=request.user, product=product, review_id=review_id)
        review = services.update_review(review=review, changes=dict(serializer.validated_data))
        return Response(ReviewSerializer(review).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted.")})
    @raises(ProductNotFound, ReviewNotFound)
    def delete(self, request: Request, product_id: int, review_id: int) -> Response:
        """The author: delete the review (it leaves the product's rating). 204; 404 for
        another customer's review."""
        product = selectors.reviewed_product(user=request.user, product_id=product_id)
        review = selectors.own_review(user=request.user, product=product, review_id=review_id)
        services.delete_review(review=review)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReviewHelpfulView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=ReviewSerializer)
    @raises(ProductNotFound, ReviewNotFound, OwnReview)
    def post(self, request: Request, product_id: int, review_id: int) -> Response:
        """Mark an approved review helpful, once per customer: a second time changes
        nothing and answers the same. 200 + the review; 403 for its author; 404 for a
        review not approved."""
        product = selectors.reviewed_product(user=request.user, product_id=product_id)
        review = selectors.visible_review(user=request.user, product=product, review_id=review_id)
        if review.status != Review.Status.APPROVED:
            raise ReviewNotFound()
        review = services.mark_helpful(review=review, customer=request.user)
        return Response(ReviewSerializer(review).data)


class ReviewModerateView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(request=ModerateReviewSerializer, responses=ReviewSerializer)
    @raises(ProductNotFound, ReviewNotFound, InvalidReviewTransition)
    def post(self, request: Request, product_id: int, review_id: int) -> Response:
        """Staff: approve or reject the review {status: approved | rejected, note?}.

        pending -> approved | rejected, approved -> rejected, rejected -> approved; 200 +
        the review; 409 invalid_status_transition for any other move (the same status
        again included); 403 for customers. Nothing changes on an error.
        """
        serializer = ModerateReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = selectors.reviewed_product(user=request.user, product_id=product_id)
        review = selectors.any_review(product=product, review_id=review_id)
        review = services.moderate_review(
            review=review,
            status=serializer.validated_data["status"],
            actor=request.user,
            note=serializer.validated_data["note"],
        )
        return Response(ReviewSerializer(review).data)
