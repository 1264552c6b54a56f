"""The API's JSON parser (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]): DRF's, made to refuse
with a 400 what would otherwise fail later with a 500.

- Nesting deeper than MAX_JSON_DEPTH levels: 400 `parse_error`. Python's json module raises
  RecursionError, which DRF's parser does not catch, near 1,000 levels; the lower limit also
  keeps everything that walks the data afterwards (serializers, the error handler) far
  from the recursion limit. Storefront's deepest body (a product's variant attributes
  holding a list) has 5 levels.
- A number too large for a float (`1e999` parses to infinity, which no column or JSON
  encoder takes): 400 `parse_error`.
- A string, key or value, holding a NUL or a lone UTF-16 surrogate (the escapes `\\u0000`
  and `\\ud800`): 400 `invalid`, with `fields` naming where (`{"variants": {"0": {"sku":
  [...]}}}`) in the words of DRF's CharField. PostgreSQL text and jsonb cannot hold NUL,
  and a lone surrogate cannot be encoded as UTF-8 (the database driver and the JSON
  renderer both fail on it).
"""

import codecs
import math
import re
from typing import Any

from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.utils import json
from rest_framework.validators import ProhibitSurrogateCharactersValidator

MAX_JSON_DEPTH = 32
# A surrogate left in a decoded str is a lone one: JSON's escaped pairs decode to one character.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_NULL_MESSAGE = str(ProhibitNullCharactersValidator.message)
_SURROGATE_MESSAGE = str(ProhibitSurrogateCharactersValidator.message)


def text_error(text: str) -> str | None:
    """Why a text column cannot store `text` (a NUL or a lone surrogate), or None if it can.

    The messages are those of DRF's CharField validators, so a client reads the same words
    whichever layer refuses the string.
    """
    match = _UNSTORABLE.search(text)
    if match is None:
        return None
    if match.group() == "\x00":
        return _NULL_MESSAGE
    return _SURROGATE_MESSAGE.format(code_point=ord(match.group()))


class JSONParser(parsers.JSONParser):
    """application/json, refusing bodies too deep, numbers out of range and unstorable text."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        encoding = parsers.get_encoding(parser_context or {})
        try:
            data = json.load(
                codecs.getreader(encoding)(stream),
                parse_constant=json.strict_constant,
                parse_float=_finite_float,
            )
        except RecursionError:
            raise ParseError(_too_deep()) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        _check(data, path=(), depth=0)
        return data


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"Number out of range: {text[:40]}")
    return value


def _too_deep() -> str:
    return f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels."


def _check(value: Any, *, path: tuple[str | int, ...], depth: int) -> None:
    """Raise ParseError past MAX_JSON_DEPTH, ValidationError at the first unstorable string."""
    if isinstance(value, str):
        message = text_error(value)
        if message is not None:
            raise _invalid(path, message)
        return
    if not isinstance(value, dict | list):
        return
    if depth == MAX_JSON_DEPTH:
        raise ParseError(_too_deep())
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, path=(*path, index), depth=depth + 1)
        return
    for key, item in value.items():
        message = text_error(key)
        if message is not None:
            # The key itself cannot be echoed back: report it at its object.
            raise _invalid(path, f"In a key: {message}")
        _check(item, path=(*path, key), depth=depth + 1)


def _invalid(path: tuple[str | int, ...], message: str) -> ValidationError:
    """A ValidationError whose detail nests `message` under `path`, as DRF's fields do."""
    detail: Any = [message]
    for key in reversed(path):
        detail = {key: detail}
    if not isinstance(detail, dict):
        detail = {"non_field_errors": detail}
    return ValidationError(detail)
