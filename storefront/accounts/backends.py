"""Authentication by email (case-insensitive) for the API and the admin."""

from django.contrib.auth.backends import ModelBackend
from django.urls import reverse

from storefront.accounts.models import UserManager

# django-axes counts failed logins to the admin site under "admin:<email>", apart from the
# API's "<email>". No valid unquoted email contains ":", so the two never collide.
ADMIN_LOCKOUT_PREFIX = "admin:"


class EmailBackend(ModelBackend):
    """Django's ModelBackend, with the email normalised before lookup.

    Accepts `email=` or `username=` (the admin login form sends `username`).
    """

    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        return super().authenticate(
            request, username=UserManager.normalize_email(email or username), password=password
        )


def axes_username(request, credentials: dict | None) -> str:
    """The key django-axes counts failed logins under (AXES_USERNAME_CALLABLE).

    The normalised email, prefixed with ADMIN_LOCKOUT_PREFIX for a login to the admin site:
    failures on one never lock the other. With AXES_LOCKOUT_PARAMETERS each key is counted
    per client address.
    """
    credentials = credentials or {}
    raw = credentials.get("email") or credentials.get("username")
    if raw is None and request is not None:
        data = getattr(request, "data", None) or request.POST
        raw = data.get("email") or data.get("username")
    email = UserManager.normalize_email(raw if isinstance(raw, str) else "")
    if request is not None and _is_admin_request(request):
        return ADMIN_LOCKOUT_PREFIX + email
    return email


def lockout_keys(email: str) -> list[str]:
    """Every key axes_username may count the failed logins of `email` under."""
    email = UserManager.normalize_email(email)
    return [email, ADMIN_LOCKOUT_PREFIX + email]


def _is_admin_request(request) -> bool:
    return getattr(request, "path_info", "").startswith(reverse("admin:index"))
