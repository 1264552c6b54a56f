"""Accounts endpoints (filled in below)."""

from django.http import JsonResponse

from storefront.core.api.exceptions import error_body


def lockout_response(request, credentials=None, *args, **kwargs) -> JsonResponse:
    """django-axes lockout: too many failed logins for one email answers 429 in the error shape."""
    return JsonResponse(
        error_body(429, "throttled", "Too many failed login attempts; try again later."),
        status=429,
    )
