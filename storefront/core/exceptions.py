"""Domain errors: raised by services, turned into HTTP responses by one API exception handler.

Each subclass sets `status_code` (the HTTP status it maps to) and `code` (a stable,
machine-readable string that clients can switch on). `details` carries structured data
for the client, e.g. which cart lines are short of stock.
"""

from typing import Any


class DomainError(Exception):
    """A business rule refused the request. Maps to `status_code` (default 400)."""

    status_code = 400
    code = "invalid"
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(DomainError):
    """The request clashes with the current state of a resource (HTTP 409)."""

    status_code = 409
    code = "conflict"
    default_message = "The request conflicts with the current state of the resource."
