"""Authentication by email (case-insensitive) for the API and the admin."""

from django.contrib.auth.backends import ModelBackend

from storefront.accounts.models import UserManager


class EmailBackend(ModelBackend):
    """Django's ModelBackend, with the email normalised before lookup.

    Accepts `email=` or `username=` (the admin login form sends `username`).
    """

    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        return super().authenticate(
            request, username=UserManager.normalize_email(email or username), password=password
        )


def axes_username(request, credentials: dict | None) -> str:
    """The key django-axes counts failed logins under: the normalised email."""
    credentials = credentials or {}
    raw = credentials.get("email") or credentials.get("username")
    if raw is None and request is not None:
        data = getattr(request, "data", None) or request.POST
        raw = data.get("email") or data.get("username")
    return UserManager.normalize_email(raw if isinstance(raw, str) else "")
