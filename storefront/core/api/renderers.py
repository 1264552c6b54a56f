"""The API's JSON renderer: DRF's, writing JSON that is already text as it is.

A view whose data holds JSON written elsewhere (the product documents PostgreSQL builds,
storefront/catalog/documents.py) passes it as RawJSON, or a RawJSONList of them, and the
renderer copies those bytes into the response instead of parsing them into dicts only to
write them out again (about a millisecond for a page of 24 products, profiled). Every other
value is rendered by DRF's JSONRenderer, with its settings (compact, UTF-8, strict).
"""

import uuid

from rest_framework import renderers


class RawJSON(str):
    """The text of one JSON value, sent as it is. `id`: what the value describes (the
    product's id for a product document), for callers that need it without parsing."""

    id: int | None = None

    def __new__(cls, text: str, id: int | None = None):
        value = super().__new__(cls, text)
        value.id = id
        return value


class RawJSONList(list):
    """A list of RawJSON values, sent as a JSON array of them."""


# DRF's JSONRenderer escapes these two for JavaScript; raw text gets the same.
_LINE_SEPARATORS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))


def _raw_bytes(value: RawJSON | RawJSONList) -> bytes:
    if isinstance(value, RawJSON):
        data = value.encode()
    else:
        data = b"[" + b",".join(item.encode() for item in value) + b"]"
    for separator, escaped in _LINE_SEPARATORS:
        data = data.replace(separator, escaped)
    return data


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSONRenderer, which writes a RawJSON or RawJSONList data, or such a value of a
    top-level object (e.g. a page's `results`), verbatim. Deeper ones are not looked for."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, RawJSON | RawJSONList):
            return _raw_bytes(data)
        if not isinstance(data, dict) or not any(
            isinstance(value, RawJSON | RawJSONList) for value in data.values()
        ):
            return super().render(data, accepted_media_type, renderer_context)
        # Each raw value is rendered as a unique placeholder string, then put in its place.
        raw: dict[bytes, bytes] = {}
        envelope = {}
        for key, value in data.items():
            if isinstance(value, RawJSON | RawJSONList):
                placeholder = f"raw-json-{uuid.uuid4().hex}"
                raw[f'"{placeholder}"'.encode()] = _raw_bytes(value)
                value = placeholder
            envelope[key] = value
        body = super().render(envelope, accepted_media_type, renderer_context)
        for placeholder, value in raw.items():
            body = body.replace(placeholder, value, 1)
        return body
