"""The gunicorn worker of config/gunicorn.conf.py: gthread, answering its own errors in JSON.

gunicorn refuses some requests before Django sees them (a request line over
limit_request_line, too many or too large header fields, a request that is not HTTP) and
answers those with an HTML page (gunicorn/workers/base.py handle_error). This worker answers
them in the API's error shape instead (docs/api.md), with an X-Request-ID like every other
answer. The statuses are gunicorn's own.
"""

import json

from gunicorn import util
from gunicorn.http import errors
from gunicorn.workers import gthread

# (exception, status, reason phrase, error code, message) for the client errors gunicorn
# answers with a status of their own; `message` is formatted with the gunicorn config `cfg`.
CLIENT_ERRORS = (
    (
        errors.LimitRequestLine,
        414,
        "URI Too Long",
        "request_line_too_long",
        "The request line (method, path and query) is over {cfg.limit_request_line} bytes.",
    ),
    (
        errors.LimitRequestHeaders,
        431,
        "Request Header Fields Too Large",
        "headers_too_large",
        "Too many request header fields, or one too large: at most "
        "{cfg.limit_request_fields} fields of {cfg.limit_request_field_size} bytes.",
    ),
    (
        errors.ExpectationFailed,
        417,
        "Expectation Failed",
        "expectation_failed",
        "The Expect header asks for something this server does not do.",
    ),
    (
        errors.UnsupportedTransferCoding,
        501,
        "Not Implemented",
        "unsupported_transfer_coding",
        "The Transfer-Encoding of the request is not supported.",
    ),
    (
        errors.ForbiddenProxyRequest,
        403,
        "Forbidden",
        "permission_denied",
        "PROXY protocol requests are not allowed from this address.",
    ),
)
# Every other parse error, as in gunicorn.
BAD_REQUEST = (400, "Bad Request", "bad_request", "The request is not valid HTTP.")
# Parse errors that are not the client's fault: gunicorn answers them (500) itself.
SERVER_ERRORS = (
    errors.InvalidResponseHeader,
    errors.InvalidResponseHeaderName,
    errors.ConfigurationProblem,
)


class ThreadWorker(gthread.ThreadWorker):
    """gunicorn's gthread worker; a request gunicorn cannot parse is answered in JSON."""

    def handle_error(self, req, client, addr, exc):
        if not isinstance(exc, errors.ParseException) or isinstance(exc, SERVER_ERRORS):
            # Not expected: Django answers (in JSON) every error of the application itself.
            return super().handle_error(req, client, addr, exc)
        # Imported here: the worker class is loaded before the Django application is.
        from storefront.core.api.exceptions import error_body
        from storefront.core.middleware import REQUEST_ID_HEADER, new_request_id

        status, reason, code, message = next(
            (entry[1:] for entry in CLIENT_ERRORS if isinstance(exc, entry[0])), BAD_REQUEST
        )
        request_id = new_request_id()
        self.log.warning(
            "Invalid request from ip=%s: %s (%s %s)", (addr or ("",))[0], exc, status, request_id
        )
        body = json.dumps(error_body(status, code, message.format(cfg=self.cfg))).encode()
        head = (
            f"HTTP/1.1 {status} {reason}\r\n"
            "Connection: close\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"{REQUEST_ID_HEADER}: {request_id}\r\n\r\n"
        )
        try:
            util.write_nonblock(client, head.encode("latin-1") + body)
        except Exception:
            self.log.debug("Failed to send error message.")
