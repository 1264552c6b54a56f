"""Domain errors of accounts: log-in refusals, bad email links, unknown addresses."""

from storefront.core.exceptions import DomainError, NotFound


class InvalidCredentials(DomainError):
    """Wrong email or password, or an inactive account (deliberately indistinguishable)."""

    status_code = 400
    code = "invalid_credentials"
    default_message = "Unable to log in with the given email and password."


class LoginLockedOut(DomainError):
    """Too many failed log-ins for one email (django-axes); lasts AXES_COOLOFF_TIME."""

    status_code = 429
    # Same code as DRF's throttling, so clients handle every 429 alike (docs/api.md).
    code = "throttled"
    default_message = "Too many failed login attempts; try again later."


class InvalidToken(DomainError):
    """A password reset or email verification link that is malformed, someone else's,
    expired or already used (deliberately indistinguishable)."""

    status_code = 400
    code = "invalid_token"
    default_message = "This link is invalid or has expired; ask for a new one."


class EmailNotVerified(DomainError):
    """Checkout refused: settings.CHECKOUT_REQUIRES_VERIFIED_EMAIL is on and the customer has
    not verified their email."""

    status_code = 403
    code = "email_not_verified"
    default_message = "Verify your email address before checking out."


class AddressNotFound(NotFound):
    """No such address among the customer's own (another customer's address included)."""

    default_message = "Address not found."
