"""One JSON shape for every error response (documented in docs/api.md).

    {"error": {"status": 400, "code": "invalid", "message": "email: This field is required.",
               "fields": {"email": ["This field is required."]},   # validation errors only
               "details": {...}}}                                  # domain errors with data

`exception_handler` is DRF's EXCEPTION_HANDLER; the `bad_request` ... `server_error` views
are Django's handler400/403/404/500, so URLs outside DRF views answer in the same shape.

Database conflicts and outages (storefront/core/database.py) are not handled by
`exception_handler`: they go on to RetryOnConflictMiddleware, which may run the view again,
then to `server_error`, which answers 503 `service_unavailable` with `Retry-After` (JSON under
/api/, a short HTML page elsewhere, e.g. the admin) instead of 500.
"""

import sys
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from storefront.core.database import Failure, failure_of
from storefront.core.exceptions import DomainError


def error_body(
    status_code: int,
    code: str,
    message: str,
    *,
    fields: Any = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the error payload; `fields` and `details` appear only when given."""
    error: dict[str, Any] = {"status": status_code, "code": code, "message": message}
    if fields:
        error["fields"] = fields
    if details:
        error["details"] = details
    return {"error": error}


def _first_message(detail: Any, prefix: str = "") -> str:
    """The first human-readable message in a (possibly nested) DRF error detail."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            label = "" if key in ("non_field_errors", "__all__") else str(key)
            path = f"{prefix}.{label}" if prefix and label else label or prefix
            return _first_message(value, path)
    if isinstance(detail, list):
        for index, item in enumerate(detail):
            if item:
                nested = isinstance(item, dict) and prefix
                return _first_message(item, f"{prefix}[{index}]" if nested else prefix)
        return "Invalid input."
    return f"{prefix}: {detail}" if prefix else str(detail)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Turn domain, Django and DRF exceptions into the one error shape."""
    if isinstance(exc, DomainError):
        body = error_body(exc.status_code, exc.code, exc.message, details=exc.details)
        return Response(body, status=exc.status_code)
    if isinstance(exc, ProtectedError | RestrictedError):
        blockers = getattr(exc, "protected_objects", None) or exc.restricted_objects
        names = sorted({obj._meta.verbose_name_plural for obj in blockers})
        message = f"Cannot delete: {len(blockers)} related object(s) still refer to it."
        body = error_body(
            status.HTTP_409_CONFLICT, "protected", message, details={"related": names}
        )
        return Response(body, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        # An unexpected error, or a database conflict or outage: Django's handler500 answers
        # (and logs it), after RetryOnConflictMiddleware had its chance (module docstring).
        return None

    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body(
            response.status_code, "invalid", _first_message(detail), fields=detail
        )
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        response.data = error_body(response.status_code, code, _first_message(exc.detail))
    return response


def _json_error(status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(status_code, code, message), status=status_code)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception=None):
    if _is_api(request):
        return _json_error(400, "bad_request", "Bad request.")
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if _is_api(request):
        return _json_error(403, "permission_denied", "You do not have permission to do this.")
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception=None):
    if _is_api(request):
        return _json_error(404, "not_found", "Not found.")
    return defaults.page_not_found(request, exception)


def server_error(request):
    """Django's handler500: 503 for a database conflict or outage (module docstring), 500
    for anything else. Django calls it while handling the exception, hence sys.exception()."""
    failure = failure_of(sys.exception())
    if failure is not None:
        return _service_unavailable(request, failure)
    if _is_api(request):
        return _json_error(500, "server_error", "Server error.")
    return defaults.server_error(request)


SERVICE_UNAVAILABLE_PAGE = (
    '<!doctype html><html lang="en"><head><title>Service Unavailable</title></head>'
    "<body><h1>Service Unavailable</h1><p>{message}</p></body></html>"
)


def _service_unavailable(request, failure: Failure) -> HttpResponse:
    if _is_api(request):
        response = _json_error(503, "service_unavailable", failure.message)
    else:
        page = SERVICE_UNAVAILABLE_PAGE.format(message=failure.message)
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(failure.retry_after)
    return response
