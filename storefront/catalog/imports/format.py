"""The Storefront catalog file: what `import_catalog` reads and `export_catalog` writes
(docs/import.md).

One row per variant, its product's columns repeated on every row of the product (a later row
may also leave them empty: the first row that gives a product column gives it for the
product). A JSON file is either a list of such rows as objects or a list of products with
their variants nested (`variants`, each with the variant columns); the export writes the
nested form.

Cells of a CSV file are text: `parse_*` read them (and the same values from JSON, where lists
may be lists and numbers numbers), `format_*` write them, so that an export read back gives
the values it was written from. Errors are ValueError with a message for the row's report.
"""

import json
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings

from storefront.core.api.parsers import text_error

# The product's columns, repeated on each of its rows.
PRODUCT_COLUMNS = (
    "product_slug",
    "name",
    "description",
    "category",
    "collections",
    "tags",
    "published",
    "tax_class",
    "images",
)
# The variant's columns, one variant per row.
VARIANT_COLUMNS = (
    "sku",
    "variant_name",
    "price",
    "stock_quantity",
    "weight_grams",
    "attributes",
)
# The export's header, in this order.
COLUMNS = PRODUCT_COLUMNS + VARIANT_COLUMNS

# Read, never written: `product_key` groups rows into products where a file has no slug
# column (a WooCommerce variation's "Parent"); attributeN_name (a product column: the first
# row of a Shopify product names its options) and attributeN_value (a variant column) add
# one attribute each to `attributes`.
ATTRIBUTE_PAIRS = 3
ATTRIBUTE_NAME_COLUMNS = tuple(f"attribute{n}_name" for n in range(1, ATTRIBUTE_PAIRS + 1))
ATTRIBUTE_VALUE_COLUMNS = tuple(f"attribute{n}_value" for n in range(1, ATTRIBUTE_PAIRS + 1))
READ_ONLY_COLUMNS = ("product_key", *ATTRIBUTE_NAME_COLUMNS, *ATTRIBUTE_VALUE_COLUMNS)
ALL_COLUMNS = COLUMNS + READ_ONLY_COLUMNS

LIST_COLUMNS = ("collections", "tags", "images")
CATEGORY_SEPARATOR = " > "

TRUE_WORDS = frozenset({"true", "yes", "y", "1", "on", "active", "published", "visible"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "-1", "off", "draft", "archived", "hidden"})

# Symbols that may stand before or after an amount in the store currency.
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "PLN": "zł"}

_UNESCAPED_COMMA = re.compile(r"(?<!\\)((?:\\\\)*),")


def format_list(values: Iterable[str]) -> str:
    """Names as one cell: "a, b, c", a comma or backslash inside a name escaped with a
    backslash (parse_list reads it back)."""
    return ", ".join(value.replace("\\", "\\\\").replace(",", "\\,") for value in values)


def parse_list(value: Any) -> list[str]:
    """A list cell: a JSON list of strings, or text with names separated by commas
    (a comma preceded by a backslash belongs to the name). Blank names are dropped; each
    name once, in the order first given."""
    if value is None:
        return []
    if isinstance(value, list):
        items = [parse_text(item) for item in value]
    else:
        text = parse_text(value)
        parts = _UNESCAPED_COMMA.sub(lambda match: match.group(1) + "\x00", text).split("\x00")
        items = [re.sub(r"\\(.)", r"\1", part) for part in parts]
    return list(dict.fromkeys(item.strip() for item in items if item.strip()))


def format_category_path(names: Iterable[str]) -> str:
    """A category path, root first: "Books > Non-Fiction > Hacking"."""
    return CATEGORY_SEPARATOR.join(names)


def parse_category_path(value: Any) -> list[str]:
    """The names of a category path, root first; [] for an empty cell. Levels are separated
    by ">" (spaces around it optional); a cell listing several paths separated by commas
    (WooCommerce's "Categories") gives its first."""
    text = parse_text(value)
    first = parse_list(text)[0] if text.strip() else ""
    return [name.strip() for name in first.split(">") if name.strip()]


def parse_text(value: Any) -> str:
    """A text cell, as given (numbers as their JSON text). Raises ValueError for text that
    PostgreSQL cannot store (NUL) or UTF-8 cannot encode, and for a nested list or object."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if not isinstance(value, str):
        raise ValueError("Must be text, not a list or an object.")
    problem = text_error(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def format_bool(value: bool) -> str:
    return "true" if value else "false"


def parse_bool(value: Any) -> bool:
    """true/false, yes/no, 1/0, and Shopify's and WooCommerce's words (active, draft,
    archived; WooCommerce's -1 for private), in any case."""
    if isinstance(value, bool):
        return value
    word = parse_text(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"Not a yes or no: {word[:40]!r} (use true or false).")


def format_price(value: Decimal) -> str:
    return f"{value:.2f}"


def parse_price(value: Any) -> Decimal:
    """A non-negative amount in the store currency with at most two decimals: "19.99",
    19.99, "$19.99", "19.99 USD", "1,299.00", "1.299,00" or "19,99" (a comma followed by
    exactly two digits at the end is the decimal separator). A symbol or code of another
    currency is refused: the importer does not convert."""
    if isinstance(value, bool):
        raise ValueError("Not an amount.")
    if isinstance(value, int | Decimal):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    else:
        amount = _parse_amount_text(parse_text(value))
    if not amount.is_finite():
        raise ValueError("Not an amount.")
    if amount < 0:
        raise ValueError("Must not be negative.")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("At most two decimals (cents).")
    if amount >= Decimal("1e10"):
        raise ValueError("Must be below 10,000,000,000.")
    return amount.quantize(Decimal("0.01"))


def _parse_amount_text(text: str) -> Decimal:
    currency = settings.STORE_CURRENCY
    cleaned = text.strip().replace("\u00a0", " ")
    for mark in (currency, CURRENCY_SYMBOLS.get(currency, "")):
        if mark and cleaned.upper().startswith(mark.upper()):
            cleaned = cleaned[len(mark) :].strip()
        if mark and cleaned.upper().endswith(mark.upper()):
            cleaned = cleaned[: -len(mark)].strip()
    if not re.fullmatch(r"-?[\d.,' ]+", cleaned):
        raise ValueError(f"Not an amount in {currency}: {text[:40]!r}.")
    digits = cleaned.replace(" ", "").replace("'", "")
    if "," in digits and "." in digits:
        # The later separator is the decimal one.
        thousands = "," if digits.rfind(",") < digits.rfind(".") else "."
        digits = digits.replace(thousands, "")
    if "," in digits:
        digits = (
            digits.replace(",", ".") if re.search(r",\d{2}$", digits) else digits.replace(",", "")
        )
    if digits.count(".") > 1:
        raise ValueError(f"Not an amount in {currency}: {text[:40]!r}.")
    try:
        return Decimal(digits)
    except InvalidOperation as exc:
        raise ValueError(f"Not an amount in {currency}: {text[:40]!r}.") from exc


def parse_quantity(value: Any, *, maximum: int) -> int:
    """A whole number from 0 to `maximum`: 12, "12", "12.0"."""
    if isinstance(value, bool):
        raise ValueError("Not a whole number.")
    text = parse_text(value).strip()
    try:
        number = Decimal(text.replace(",", "").replace(" ", ""))
    except InvalidOperation as exc:
        raise ValueError(f"Not a whole number: {text[:40]!r}.") from exc
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError(f"Not a whole number: {text[:40]!r}.")
    if number < 0:
        raise ValueError("Must not be negative.")
    if number > maximum:
        raise ValueError(f"At most {maximum}.")
    return int(number)


def format_attributes(attributes: dict[str, Any]) -> str:
    """A variant's attributes as one cell: a JSON object (empty cell for none)."""
    return json.dumps(attributes, ensure_ascii=False, sort_keys=True) if attributes else ""


def parse_attributes(value: Any) -> dict[str, Any]:
    """A JSON object ({"Size": "M"}), or text of "name: value" pairs separated by ";" or
    "|" ("Size: M; Color: Blue"). Values of a pair are text."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    text = parse_text(value).strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"Not a JSON object: {exc.msg}.") from exc
        if not isinstance(parsed, dict):
            raise ValueError("Must be a JSON object.")
        return parsed
    attributes = {}
    for pair in re.split(r"[;|]", text):
        if not pair.strip():
            continue
        name, colon, item = pair.partition(":")
        if not colon or not name.strip():
            raise ValueError(f'Write attributes as "name: value; name: value", not {pair[:40]!r}.')
        attributes[name.strip()] = item.strip()
    return attributes
