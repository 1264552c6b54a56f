"""Review errors. Each maps to an HTTP status and a stable `code` (docs/reviews.md)."""

from storefront.core.exceptions import Conflict, DomainError, NotFound
from storefront.orders.exceptions import InvalidStatusTransition


class ReviewNotFound(NotFound):
    """No such review of the product, or one the caller may not see or change: another
    customer's (to change it), or one not approved (to see it) (HTTP 404)."""

    default_message = "No such review."


class AlreadyReviewed(Conflict):
    """The customer has reviewed this product already; change that review instead (HTTP
    409). `details`: {"review_id": the existing review's id}."""

    code = "already_reviewed"
    default_message = "You have already reviewed this product; change your review instead."


class InvalidReviewTransition(InvalidStatusTransition):
    """The review cannot move from its status to the requested one (HTTP 409).

    `details`: {"from": current status, "to": requested status, "allowed": [statuses]}.
    """

    code = "invalid_status_transition"
    default_message = "The review cannot move to this status."
    subject = "A review"


class OwnReview(DomainError):
    """An author marking their own review helpful (HTTP 403)."""

    status_code = 403
    code = "permission_denied"
    default_message = "You cannot mark your own review as helpful."
