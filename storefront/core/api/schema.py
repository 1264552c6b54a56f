"""The OpenAPI schema's view of errors: every operation documents the error answers it can give.

drf-spectacular documents an operation's success answer from its serializer. What it cannot
see is how the API fails, so clients (and fuzzers reading the schema) would believe an
operation only ever answers 200. `AutoSchema` adds, to every operation, each error status it
can answer, all in the one error shape of docs/api.md (component `Error`):

- from how the view is built: 400 (a body or query parameters to validate), 401 (any
  request may carry a bad token), 403 (a permission that can refuse, CSRF for a browser
  session), 404 (an id in the path, or a page past the end of a list), 415 (a body in an
  unsupported media type), 429 (a throttle), 503 (the database is unreachable, or a
  transaction failed twice on a conflict);
- from what the view says it raises: `@raises(OutOfStock, IdempotencyKeyReused)` on a view
  method documents 409 `out_of_stock` and 422 `idempotency_key_reused`, with the codes and
  messages of the domain errors themselves, so the schema lists exactly what the code raises.

It also declares the public catalog reads as needing no authentication (drf-spectacular only
recognises DRF's own AllowAny and IsAuthenticatedOrReadOnly), documents a PATCH whose view
validates the whole body (not partially) with its required fields, and the body of a DELETE
that reads one (`delete_reads_a_body` on the view), and states what DRF refuses
that drf-spectacular leaves out: an empty list where one is required, a blank (all-space)
text, a decimal string without digits; and what it takes: an empty optional query parameter.
"""

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import permissions, serializers
from rest_framework.authentication import SessionAuthentication

from storefront.core.api.filters import KnownQueryParameters
from storefront.core.exceptions import DomainError

ERROR_COMPONENT = "Error"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

# What each status means when the view's shape alone implies it: (code, when).
GENERIC_ERRORS: dict[int, list[tuple[str, str]]] = {
    400: [
        ("invalid", "the input failed validation; `fields` says where"),
        ("parse_error", "the body is not valid JSON (or multipart)"),
    ],
    401: [
        ("not_authenticated", "no credentials, where the operation needs them"),
        ("authentication_failed", "a bad or expired token"),
    ],
    403: [("permission_denied", "authenticated, but not allowed")],
    404: [("not_found", "no such resource, someone else's, or a page past the end")],
    414: [("request_line_too_long", "the request line is over 4094 bytes (gunicorn)")],
    415: [("unsupported_media_type", "a body in a media type the operation does not read")],
    429: [("throttled", "too many requests; `Retry-After` says when to try again")],
    431: [("headers_too_large", "over 100 header fields, or one over 8190 bytes (gunicorn)")],
    503: [
        (
            "service_unavailable",
            "the database is unreachable, or the request met a conflicting one twice; "
            "`Retry-After` says when to try again",
        )
    ],
}


class ErrorDetailSerializer(serializers.Serializer):
    """The `error` object of an error answer: {status, code, message, fields?, details?}."""

    status = serializers.IntegerField(help_text="The HTTP status code, repeated.")
    code = serializers.CharField(help_text="Stable and machine-readable: switch on this.")
    message = serializers.CharField(help_text="One human-readable sentence.")
    fields = serializers.DictField(
        required=False,
        help_text="Validation errors only: every problem, keyed by field name as sent.",
    )
    details = serializers.DictField(
        required=False, help_text="Some domain errors: structured data about the refusal."
    )


class ErrorSerializer(serializers.Serializer):
    """Every 4xx and 5xx answer of the API (docs/api.md)."""

    error = ErrorDetailSerializer()


# At least one character that Python's str.strip keeps: not whitespace in the regular
# expressions of JSON Schema (ECMA-262's \s), nor the four separators U+001C-U+001F and
# U+0085 (NEL), which Python strips and ECMA-262 does not count as whitespace.
NOT_BLANK_PATTERN = r"[^\s\x1c-\x1f\x85]"


def raises(*errors: type[Exception] | tuple[int, str, str]) -> Callable:
    """Document the domain errors a view method raises, for AutoSchema.

    Each item is a DomainError subclass (its `status_code`, `code` and `default_message`
    are used) or a (status, code, when) tuple for errors that are not DomainErrors (e.g.
    409 `protected`). Returns a decorator that records them on the method.
    """

    def decorate(method: Callable) -> Callable:
        method._documented_errors = [*getattr(method, "_documented_errors", ()), *errors]
        return method

    return decorate


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema, documenting every error answer (see the module docstring)."""

    def _get_request_body(self, direction: str = "request"):
        # drf-spectacular gives only PUT, PATCH and POST a body. A view whose DELETE reads one
        # says so with `delete_reads_a_body = True` (DELETE /api/me/ takes the password).
        if self.method == "DELETE" and self._delete_reads_a_body():
            self.method = "POST"
            try:
                return super()._get_request_body(direction)
            finally:
                self.method = "DELETE"
        return super()._get_request_body(direction)

    def _delete_reads_a_body(self) -> bool:
        return getattr(self.view, "delete_reads_a_body", False)

    def get_auth(self) -> list[dict[str, Any]]:
        auths = super().get_auth()
        public_read = self.method in permissions.SAFE_METHODS and all(
            getattr(permission, "allows_anonymous_reads", False)
            for permission in self.view.get_permissions()
        )
        if public_read and {} not in auths:
            auths.append({})
        return auths

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if getattr(field, "allow_empty", True) is False and schema.get("type") == "array":
            # DRF refuses an empty list (allow_empty=False); drf-spectacular does not say so.
            schema["minItems"] = max(schema.get("minItems", 0), 1)
        if isinstance(field, serializers.DecimalField) and "pattern" in schema:
            schema["pattern"] = _decimal_pattern(field)
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and field.trim_whitespace
            and not field.allow_blank
            and schema.get("type") == "string"
            and "pattern" not in schema
        ):
            # The text is stripped, then may not be blank: at least one character that is
            # not whitespace to Python's str.strip (NOT_BLANK_PATTERN).
            schema["pattern"] = NOT_BLANK_PATTERN
        return schema

    def _get_request_for_media_type(self, serializer, direction="request"):
        if self.method == "PATCH" and not getattr(self.view, "partial_patch", True):
            # The view validates the whole body: document it as PUT would be (required
            # fields required, no "Patched" component).
            self.method = "PUT"
            try:
                return super()._get_request_for_media_type(serializer, direction)
            finally:
                self.method = "PATCH"
        return super()._get_request_for_media_type(serializer, direction)

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        has_query = any(p.get("in") == "query" for p in operation.get("parameters", ()))
        if operation.get("parameters"):
            # Copies: drf-spectacular may hand the same parameter to several operations.
            operation["parameters"] = [_empty_allowed(p) for p in operation["parameters"]]
        responses = operation["responses"]
        for status, codes in sorted(self._error_codes(has_query=has_query).items()):
            error = self._error_response(codes)
            # A view's own description of the status wins; the body is the error shape.
            responses.setdefault(str(status), error).setdefault("content", error["content"])
        return operation

    # --- Which errors -------------------------------------------------------------------

    def _error_codes(self, *, has_query: bool) -> dict[int, list[tuple[str, str]]]:
        # The server refuses these before the API reads the request, whatever the operation
        # (config/gunicorn_worker.py), and the database may be down for anyone.
        statuses: set[int] = {414, 431, 503}
        reads_a_body = self.method in BODY_METHODS or (
            self.method == "DELETE" and self._delete_reads_a_body()
        )
        if reads_a_body or has_query or self._refuses_unknown_parameters():
            statuses.add(400)
        if reads_a_body:
            statuses.add(415)
        authenticators = self.view.get_authenticators()
        if authenticators:
            statuses.add(401)
        if self._can_be_refused() or (
            self.method in UNSAFE_METHODS
            and any(isinstance(a, SessionAuthentication) for a in authenticators)
        ):
            statuses.add(403)
        if "{" in self.path or self._is_paginated_list():
            statuses.add(404)
        if self.view.get_throttles():
            statuses.add(429)

        codes: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for status in statuses:
            codes[status].extend(GENERIC_ERRORS[status])
        for error in self._documented_errors():
            status, code, when = _describe(error)
            if (code, when) not in codes[status]:
                codes[status].append((code, when))
        return codes

    def _can_be_refused(self) -> bool:
        for permission in self.view.get_permissions():
            if isinstance(permission, permissions.AllowAny):
                continue
            if self.method in permissions.SAFE_METHODS and getattr(
                permission, "allows_anonymous_reads", False
            ):
                continue
            if isinstance(permission, permissions.IsAuthenticated):
                # Refuses only the anonymous, which is a 401 (documented above).
                continue
            return True
        return False

    def _refuses_unknown_parameters(self) -> bool:
        """A list that answers 400 to a query parameter it does not read (KnownQueryParameters)."""
        backends = getattr(self.view, "filter_backends", ())
        is_list = getattr(self.view, "action", "list") == "list"
        return self.method == "GET" and is_list and KnownQueryParameters in backends

    def _is_paginated_list(self) -> bool:
        return self.method == "GET" and self._is_list_view() and self._get_paginator() is not None

    def _documented_errors(self) -> list:
        action = getattr(self.view, "action", None) or self.method.lower()
        handler = getattr(self.view, action, None)
        return list(getattr(handler, "_documented_errors", ()))

    # --- The response objects -------------------------------------------------------------

    def _error_response(self, codes: list[tuple[str, str]]) -> dict[str, Any]:
        self.registry.register_on_missing(
            ResolvedComponent(
                name=ERROR_COMPONENT,
                type=ResolvedComponent.SCHEMA,
                object=ErrorSerializer,
                schema=self._map_serializer(ErrorSerializer, "response"),
            )
        )
        return {
            "description": "; ".join(f"`{code}`: {when}" for code, when in codes),
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}
            },
        }


def _empty_allowed(parameter: dict[str, Any]) -> dict[str, Any]:
    """An optional query parameter whose schema also takes the empty string: `?date_to=` reads
    as if the parameter were absent (django-filter, DRF's paginator and query serializers all
    do so), as an HTML form sends an empty field."""
    schema = parameter["schema"]
    if parameter.get("in") != "query" or parameter.get("required"):
        return parameter
    plain_text = schema.get("type") == "string" and not schema.get("minLength")
    if plain_text and not {"pattern", "enum", "format"} & schema.keys():
        return parameter  # "" is one of its values already
    return {**parameter, "schema": {"anyOf": [schema, {"type": "string", "maxLength": 0}]}}


def _decimal_pattern(field: serializers.DecimalField) -> str:
    """A decimal string as the field takes it: drf-spectacular's pattern also matches "", "."
    and "-" (which DRF refuses), and a sign where `min_value` forbids one."""
    sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
    whole = rf"\d{{1,{field.max_whole_digits}}}" if field.max_whole_digits else "0"
    fraction = rf"(?:\.\d{{1,{field.decimal_places}}})?" if field.decimal_places else ""
    return f"^{sign}{whole}{fraction}$"


def _describe(error: type[Exception] | tuple[int, str, str]) -> tuple[int, str, str]:
    if isinstance(error, tuple):
        return error
    if issubclass(error, DomainError):
        return error.status_code, error.code, error.default_message.rstrip(".")
    raise TypeError(f"Cannot document {error!r}: pass a DomainError or (status, code, when).")
