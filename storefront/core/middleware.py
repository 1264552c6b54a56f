"""Request ids: every response carries an `X-Request-ID` header, and every log record written
while the request is served carries it as `request_id` (docs/api.md).

An incoming X-Request-ID (set by a proxy, or by a client tying its own logs to the server's)
is kept when it is 1 to 128 letters, digits or `-_.:`; anything else is replaced by a fresh
id, so that no client can write arbitrary text into the logs.
"""

import contextvars
import logging
import re
import uuid

from django.core.signals import request_finished

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def new_request_id() -> str:
    """A fresh request id: 32 lowercase hex digits (a random UUID)."""
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """First in MIDDLEWARE, so that the answers of every other middleware (redirects, CORS
    preflights, errors) carry the header too. Sets `request.request_id`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else new_request_id()
        request.request_id = request_id
        # Kept until the response is closed (request_finished), not only until it leaves this
        # middleware: Django logs a 4xx or 5xx ("Not Found: /api/x/") after the middleware.
        _request_id.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


def _forget_request_id(**kwargs) -> None:
    _request_id.set(None)


request_finished.connect(_forget_request_id, dispatch_uid="storefront.core.request_id")


class RequestIdLogFilter(logging.Filter):
    """Give each record `request_id`: the id of the request being served, or "-" outside one
    (start-up, Celery tasks). Attach it to a handler and use `%(request_id)s` in its format."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        return True
