"""The one error shape, whatever raised the error."""

import pytest
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from storefront.core.api.exceptions import exception_handler
from storefront.core.exceptions import Conflict


def handle(exc):
    request = APIRequestFactory().get("/api/x/")
    return exception_handler(exc, {"view": APIView(), "request": request})


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (Http404("secret internals"), 404, "not_found"),
        (PermissionDenied(), 403, "permission_denied"),
        (exceptions.NotAuthenticated(), 401, "not_authenticated"),
        (exceptions.Throttled(wait=3), 429, "throttled"),
        (Conflict("Busy."), 409, "conflict"),
    ],
)
def test_errors_share_one_shape(exc, status, code):
    response = handle(exc)
    assert response.status_code == status
    assert set(response.data) == {"error"}
    assert response.data["error"]["status"] == status
    assert response.data["error"]["code"] == code
    assert "secret internals" not in str(response.data)


def test_validation_error_names_the_field():
    response = handle(exceptions.ValidationError({"email": ["This field is required."]}))
    assert response.status_code == 400
    assert response.data["error"]["fields"] == {"email": ["This field is required."]}
    assert response.data["error"]["message"] == "email: This field is required."


def test_django_validation_error_becomes_400_with_fields():
    response = handle(DjangoValidationError({"price": ["Must be positive."]}))
    assert response.status_code == 400
    assert response.data["error"]["fields"] == {"price": ["Must be positive."]}


def test_domain_error_carries_details():
    response = handle(Conflict("Short.", details={"lines": [1]}))
    assert response.data["error"]["details"] == {"lines": [1]}


def test_unexpected_error_is_left_to_django():
    assert handle(RuntimeError("boom")) is None


def test_unknown_api_url_answers_json_404(client):
    response = client.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
