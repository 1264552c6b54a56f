"""The catalog importer: a file of products and variants in, exactly what it changes out
(docs/import.md).

`import_catalog(open_file, options=..., dry_run=...)` reads the file twice:

1. The check: every row is read, grouped into products (rows of one product are
   consecutive), validated and compared with the database, in chunks of CHUNK_PRODUCTS
   products with a fixed number of queries each. Nothing is written. Errors are collected
   for the whole file at once, the changes counted (and, for a dry run, listed: `diff`), and
   images fetched or read from the ZIP and checked (stored, unless it is a dry run).
2. The apply, unless it is a dry run, or the check found an error and the run is all or
   nothing (the default): one transaction. It first takes the staff write locks of the
   products the check found changed, then their variants and product rows, in the lock order
   of docs/checkout.md, so that a checkout never deadlocks with it; then reads the file again
   and writes each chunk as the check would have, against the now locked rows: products and
   variants created with bulk statements, changed columns only, stock and prices of existing
   variants through services.sync_variants (the stock module: low-stock alerts, cache),
   tags, collections and images added, missing categories created. With `skip_invalid`, the
   products with an error are left out whole (a product and its variants are never split);
   otherwise an error found only now (a SKU taken meanwhile) rolls everything back.

Matching: a variant by SKU; a product by `product_slug`, or else by the existing product that
owns its SKUs. An existing row is written only where a value differs, so the same file twice
reports 0 created and 0 updated the second time. An empty cell gives no value: a new row takes
the default, an existing one keeps what it has. Nothing is ever deleted.

Memory: the rows of one chunk, the SKUs and product keys seen (to find duplicates), the
names of categories, tags and collections, and the ids to lock; never the whole file (CSV).
"""

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from anyascii import anyascii
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import validate_slug
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from rest_framework import serializers

from storefront.catalog import cache, services
from storefront.catalog.api.serializers import MAX_INT, VariantWriteSerializer
from storefront.catalog.imports import fetch
from storefront.catalog.imports.format import (
    ATTRIBUTE_NAME_COLUMNS,
    ATTRIBUTE_VALUE_COLUMNS,
    VARIANT_COLUMNS,
    format_category_path,
    parse_attributes,
    parse_bool,
    parse_category_path,
    parse_list,
    parse_price,
    parse_quantity,
    parse_text,
)
from storefront.catalog.imports.reader import Options, Row, Source, read_rows
from storefront.catalog.models import (
    Category,
    Collection,
    Product,
    ProductImage,
    ProductVariant,
    Tag,
)
from storefront.pricing.models import MAX_WEIGHT_GRAMS, TaxClass

logger = logging.getLogger(__name__)

CHUNK_PRODUCTS = 500
# A dry run lists the changes of at most this many products (`diff_truncated` beyond).
DIFF_LIMIT = 1000
# At most this many errors are reported (the count goes on: `errors_total`).
ERROR_LIMIT = 1000
# The API's rules for a variant's attributes (the serializer keeps no state between calls).
ATTRIBUTE_RULES = VariantWriteSerializer()
# What Shopify writes as the option of a product that has none.
SHOPIFY_NO_OPTIONS = ("Title", "Default Title")
# The category of a new product whose row names none.
DEFAULT_CATEGORY = "Uncategorized"

NAME_MAX = Product._meta.get_field("name").max_length
SLUG_MAX = Product._meta.get_field("slug").max_length
SKU_MAX = ProductVariant._meta.get_field("sku").max_length
VARIANT_NAME_MAX = ProductVariant._meta.get_field("name").max_length
TAG_MAX = Tag._meta.get_field("name").max_length
COLLECTION_MAX = Collection._meta.get_field("name").max_length
CATEGORY_MAX = Category._meta.get_field("name").max_length
SOURCE_MAX = ProductImage._meta.get_field("source").max_length
PRODUCT_FIELDS = ("name", "slug", "description", "category_id", "is_published", "tax_class")
VARIANT_OTHER_FIELDS = ("name", "attributes", "weight_grams")


@dataclass
class Result:
    """What an import did or, for a dry run, would do. Counts of products (`created`,
    `updated`, `unchanged`, `skipped`: left out by skip_invalid) and of variants; `errors`
    [{row, column, message}] (at most ERROR_LIMIT; `errors_total` counts them all); `diff`
    the changes per product of a dry run; `applied` whether anything was written."""

    rows_total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    variants_unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_total: int = 0
    diff: list[dict[str, Any]] | None = None
    diff_truncated: bool = False
    applied: bool = False

    def add_error(self, row: int | None, column: str | None, message: str) -> None:
        self.errors_total += 1
        if len(self.errors) < ERROR_LIMIT:
            self.errors.append({"row": row, "column": column, "message": message})

    def count(self, plan: "ProductPlan") -> None:
        if plan.errors:
            self.skipped += 1
            return
        if plan.existing is None:
            self.created += 1
        elif plan.changed:
            self.updated += 1
        else:
            self.unchanged += 1
        for variant in plan.variants:
            if variant.existing is None:
                self.variants_created += 1
            elif variant.changes:
                self.variants_updated += 1
            else:
                self.variants_unchanged += 1


# Called with (rows done, phase: "checking" or "applying").
Progress = Callable[[int, str], None]


CLASHED = (
    "A concurrent change took a slug or SKU this file creates while it was applied; nothing "
    "was applied. Run the import again."
)


class RolledBack(Exception):
    """The apply found an error the check had not (a concurrent change): nothing is kept."""


def import_catalog(
    open_file: Callable[[], Source],
    *,
    options: Options,
    dry_run: bool,
    progress: Progress | None = None,
) -> Result:
    """Import the file that `open_file()` opens (called once per pass), as the module
    docstring says; return what was done. Raises reader.FileError for a file that cannot be
    read at all (then nothing is written)."""
    progress = progress or (lambda rows, phase: None)
    check = _Run(options=options, dry_run=dry_run, applying=False)
    result = check.run(open_file, progress)
    if dry_run or (result.errors_total and not options.skip_invalid):
        check.discard_images()
        return result
    if result.created + result.updated == 0:
        return result  # Nothing to write.
    apply = _Run(
        options=options,
        dry_run=False,
        applying=True,
        images=check.images,
        image_failures=check.image_failures,
    )
    try:
        with transaction.atomic():
            apply.lock(products=check.locks_products, variants=check.locks_variants)
            applied = apply.run(open_file, progress)
            if applied.errors_total > result.errors_total and not options.skip_invalid:
                raise RolledBack()
            cache.invalidate_catalog()
    except RolledBack:
        services._delete_files([*check.stored, *apply.stored])
        applied.applied = False
        return applied
    except IntegrityError:
        # A slug or SKU taken by a concurrent write after the apply read it.
        services._delete_files([*check.stored, *apply.stored])
        result.add_error(None, None, CLASHED)
        return result
    except Exception:
        services._delete_files([*check.stored, *apply.stored])
        raise
    # Files of products the apply left out (skip_invalid) are linked to nothing.
    services._delete_files(set(check.stored + apply.stored) - apply.linked)
    applied.applied = True
    return applied


# --- Products as the file gives them -------------------------------------------------------


@dataclass
class VariantPlan:
    row: int
    sku: str
    values: dict[str, Any]  # name, price, stock_quantity, weight_grams, attributes
    sku_label: str = "sku"
    existing: dict[str, Any] | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass
class ProductPlan:
    rows: list[int]
    values: dict[str, Any] = field(default_factory=dict)  # name, slug, description, ...
    labels: dict[str, str] = field(default_factory=dict)
    category_path: list[str] | None = None
    collections: list[str] | None = None
    tags: list[str] | None = None
    images: list[tuple[int, str]] = field(default_factory=list)  # (row, source)
    variants: list[VariantPlan] = field(default_factory=list)
    errors: list[tuple[int | None, str | None, str]] = field(default_factory=list)
    existing: dict[str, Any] | None = None
    slug: str = ""
    category_id: int | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    collection_names: tuple[list[str], list[str]] | None = None
    tag_names: tuple[list[str], list[str]] | None = None
    new_images: list[str] = field(default_factory=list)
    # Whether the product existed before this chunk's write (the write fills `existing` of
    # the products it creates).
    existing_before: bool = False

    @property
    def first_row(self) -> int:
        return self.rows[0]

    @property
    def changed(self) -> bool:
        return bool(
            self.changes
            or self.collection_names
            or self.tag_names
            or self.new_images
            or any(v.existing is None or v.changes for v in self.variants)
        )

    def error(self, row: int | None, column: str | None, message: str) -> None:
        self.errors.append((row, column, message))


def _groups(rows: Iterator[Row], result: Result) -> Iterator[list[Row]]:
    """The rows of each product, in file order; rows that cannot be read are reported."""
    seen: dict[str, int] = {}
    current: list[Row] = []
    current_key = None
    current_name = ""
    for row in rows:
        result.rows_total += 1
        if row.problem:
            result.add_error(row.number, None, row.problem)
            continue
        key = _product_key(row)
        name = _text(row.values.get("name"))
        # No key or slug: a row without a name, or with the name of the row before, belongs
        # to the product of the row before ("T-shirt, S" / "T-shirt, M").
        keyless = key.startswith("r:") and current_key and current_key.startswith("r:")
        if keyless and (not name or name == current_name):
            key = current_key
        if name and key != current_key:
            current_name = name
        if current and key == current_key:
            current.append(row)
            continue
        if current:
            yield current
        if key in seen:
            result.add_error(
                row.number,
                row.labels.get("product_key") or row.labels.get("product_slug"),
                f"Product {key[2:][:80]!r} already had rows from row {seen[key]}: a product's "
                "rows must be consecutive.",
            )
            current, current_key = [], None
            continue
        seen[key] = row.number
        current_name = name
        current, current_key = [row], key
    if current:
        yield current


def _product_key(row: Row) -> str:
    """Rows with the same key are one product: `product_key` (or, empty, the row's SKU: a
    WooCommerce parent row), else `product_slug`, else the row's number (_groups then joins
    a row to the one before when it has no name or the same name)."""
    if "product_key" in row.values:
        key = _text(row.values.get("product_key")) or _text(row.values.get("sku"))
        if key:
            return f"k:{key}"
    slug = _text(row.values.get("product_slug"))
    if slug:
        return f"s:{slug}"
    return f"r:{row.number}"


def _text(value: Any) -> str:
    try:
        return parse_text(value).strip()
    except ValueError:
        return ""


def _plan_product(rows: list[Row]) -> ProductPlan:
    """The product that `rows` describe, with the errors of its cells (no database)."""
    plan = ProductPlan(rows=[row.number for row in rows])
    attribute_names: dict[str, str] = {}
    for row in rows:
        _product_cells(plan, row, attribute_names)
    for row in rows:
        variant = _variant_cells(plan, row, attribute_names)
        if variant is not None:
            plan.variants.append(variant)
    if not plan.variants and not plan.errors:
        plan.error(
            plan.first_row, rows[0].labels.get("price"), "No row of this product has a price."
        )
    _generate_skus(plan)
    return plan


def _product_cells(plan: ProductPlan, row: Row, attribute_names: dict[str, str]) -> None:
    cells = row.values
    for column, parse in (
        ("product_slug", _parse_slug),
        ("name", lambda value: _parse_name(value, NAME_MAX)),
        ("description", parse_text),
        ("published", parse_bool),
        ("tax_class", _parse_tax_class),
        ("category", _parse_category),
        ("collections", lambda value: _parse_names(value, COLLECTION_MAX)),
        ("tags", lambda value: _parse_names(value, TAG_MAX)),
    ):
        if column not in cells or _blank(cells[column]):
            continue
        try:
            value = parse(cells[column])
        except ValueError as exc:
            plan.error(row.number, row.labels[column], str(exc))
            continue
        # The first row that gives a product column gives it: later rows repeat it, leave
        # it empty, or hold their own (a WooCommerce variation's "Name").
        plan.values.setdefault(column, value)
        plan.labels.setdefault(column, row.labels[column])
    if "images" in cells and not _blank(cells["images"]):
        plan.labels.setdefault("images", row.labels["images"])
        try:
            for source in parse_list(cells["images"]):
                if len(source) > SOURCE_MAX:
                    raise ValueError(f"An image name or URL has at most {SOURCE_MAX} characters.")
                if source not in (known for _, known in plan.images):
                    plan.images.append((row.number, source))
        except ValueError as exc:
            plan.error(row.number, row.labels["images"], str(exc))
    for column in ATTRIBUTE_NAME_COLUMNS:
        name = _text(cells.get(column))
        if name:
            attribute_names.setdefault(column, name)


def _variant_cells(
    plan: ProductPlan, row: Row, attribute_names: dict[str, str]
) -> VariantPlan | None:
    """The variant of `row`, or None for a row that gives its product only: one of several
    rows of a product with no price, stock quantity or variant name (a WooCommerce parent
    row, a Shopify row of extra images)."""
    cells = row.values
    given = {
        column
        for column in (*VARIANT_COLUMNS, *ATTRIBUTE_VALUE_COLUMNS)
        if column in cells and not _blank(cells[column])
    }
    if not given or (
        len(plan.rows) > 1 and not given & {"price", "stock_quantity", "variant_name"}
    ):
        return None
    values: dict[str, Any] = {}
    errors = len(plan.errors)
    for column, target, parse in (
        ("price", "price", parse_price),
        ("stock_quantity", "stock_quantity", lambda value: parse_quantity(value, maximum=MAX_INT)),
        (
            "weight_grams",
            "weight_grams",
            lambda value: parse_quantity(value, maximum=MAX_WEIGHT_GRAMS),
        ),
        (
            "variant_name",
            "name",
            lambda value: _parse_name(value, VARIANT_NAME_MAX, required=False),
        ),
        ("attributes", "attributes", _parse_attribute_cell),
    ):
        if column not in given:
            continue
        try:
            values[target] = parse(cells[column])
        except ValueError as exc:
            plan.error(row.number, row.labels[column], str(exc))
    pairs = {}
    for name_column, value_column in zip(
        ATTRIBUTE_NAME_COLUMNS, ATTRIBUTE_VALUE_COLUMNS, strict=True
    ):
        value = _text(cells.get(value_column))
        if value:
            name = attribute_names.get(name_column)
            if (name, value) == SHOPIFY_NO_OPTIONS:
                continue
            if not name:
                plan.error(row.number, row.labels[value_column], f"{name_column} is empty.")
                continue
            pairs[name] = value
    if pairs:
        values["attributes"] = {**values.get("attributes", {}), **pairs}
        if "name" not in values:
            values["name"] = " / ".join(pairs.values())[:VARIANT_NAME_MAX]
    if "attributes" in values:
        try:
            ATTRIBUTE_RULES.validate_attributes(values["attributes"])
        except serializers.ValidationError as exc:
            plan.error(row.number, row.labels.get("attributes"), _drf_message(exc))
    sku = _text(cells.get("sku"))
    if len(sku) > SKU_MAX:
        plan.error(row.number, row.labels["sku"], f"A SKU has at most {SKU_MAX} characters.")
    if "price" not in values and len(plan.errors) == errors:
        plan.error(row.number, row.labels.get("price", "price"), "The price is empty.")
    return VariantPlan(
        row=row.number, sku=sku, values=values, sku_label=row.labels.get("sku", "sku")
    )


def _generate_skus(plan: ProductPlan) -> None:
    """A variant without a SKU gets "<name's slug>-<position>", the same on every run of
    the file, so that it is found again next time."""
    base = _slug_base(plan.values.get("name") or plan.values.get("product_slug") or "product")
    for position, variant in enumerate(plan.variants, 1):
        if not variant.sku:
            suffix = f"-{position}"
            variant.sku = base[: SKU_MAX - len(suffix)] + suffix


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _parse_slug(value: Any) -> str:
    slug = parse_text(value).strip()
    if len(slug) > SLUG_MAX:
        raise ValueError(f"A slug has at most {SLUG_MAX} characters.")
    try:
        validate_slug(slug)
    except DjangoValidationError as exc:
        raise ValueError(
            f"Not a slug (letters, digits, hyphens, underscores): {slug[:40]!r}."
        ) from exc
    return slug


def _parse_name(value: Any, maximum: int, *, required: bool = True) -> str:
    name = " ".join(parse_text(value).split())
    if required and not name:
        raise ValueError("The name is empty.")
    if len(name) > maximum:
        raise ValueError(f"At most {maximum} characters ({len(name)} given).")
    return name


def _parse_names(value: Any, maximum: int) -> list[str]:
    names = [" ".join(name.split()) for name in parse_list(value)]
    too_long = [name for name in names if len(name) > maximum]
    if too_long:
        raise ValueError(f"A name has at most {maximum} characters: {too_long[0][:40]!r}...")
    return names


def _parse_category(value: Any) -> list[str]:
    names = [" ".join(name.split()) for name in parse_category_path(value)]
    too_long = [name for name in names if len(name) > CATEGORY_MAX]
    if too_long:
        raise ValueError(f"A category name has at most {CATEGORY_MAX} characters.")
    return names


def _parse_tax_class(value: Any) -> str:
    text = parse_text(value).strip().lower()
    if text not in TaxClass.values:
        raise ValueError(
            f"The tax class is one of {', '.join(TaxClass.values)}, not {text[:20]!r}."
        )
    return text


def _parse_attribute_cell(value: Any) -> dict[str, Any]:
    return parse_attributes(value)


def _drf_message(exc: serializers.ValidationError) -> str:
    detail = exc.detail
    while isinstance(detail, list | dict) and detail:
        detail = detail[0] if isinstance(detail, list) else next(iter(detail.values()))
    return str(detail)


def _slug_base(name: str) -> str:
    """An ASCII slug for `name` in any script ("Привет" -> "privet", "東京" -> "dongjing")."""
    return slugify(anyascii(name))[: SLUG_MAX - 8].strip("-") or "product"


# --- One pass over the file ----------------------------------------------------------------


class _Names:
    """Categories (by path), tags and collections (by name), as the database holds them and
    as this run creates them; compared ignoring case."""

    def __init__(self) -> None:
        names_by_path = dict(Category.objects.values_list("path", "name"))
        step = Category.steplen
        self.categories: dict[tuple[str, ...], int] = {}
        self.category_paths: dict[int, str] = {}
        for pk, path in Category.objects.values_list("pk", "path"):
            names = [
                names_by_path[path[: step * depth]] for depth in range(1, len(path) // step + 1)
            ]
            self.categories.setdefault(tuple(name.casefold() for name in names), pk)
            self.category_paths[pk] = format_category_path(names)
        self.tags = {name.casefold(): pk for pk, name in Tag.objects.values_list("pk", "name")}
        self.collections = {
            name.casefold(): pk for pk, name in Collection.objects.values_list("pk", "name")
        }
        self.new_categories: set[tuple[str, ...]] = set()


class _Run:
    """One pass: the check (`applying` false) or the apply."""

    def __init__(
        self,
        *,
        options: Options,
        dry_run: bool,
        applying: bool,
        images: dict[tuple[str, str], str] | None = None,
        image_failures: dict[tuple[str, str], str] | None = None,
    ) -> None:
        self.options = options
        self.dry_run = dry_run
        self.applying = applying
        self.result = Result(diff=[] if dry_run else None)
        self.skus: dict[str, int] = {}
        self.slugs: set[str] = set()
        self.locks_products: set[int] = set()
        self.locks_variants: set[int] = set()
        # Image source -> stored file name (fetched or read once, by the check).
        # (product slug, image source) -> stored file name; -> why it could not be had.
        self.images: dict[tuple[str, str], str] = dict(images or {})
        self.image_failures: dict[tuple[str, str], str] = dict(image_failures or {})
        self.checked: set[tuple[str, str]] = set()
        # The stored files the apply linked to images.
        self.linked: set[str] = set()
        self.stored: list[str] = []
        self.source: Source | None = None

    def run(self, open_file: Callable[[], Source], progress: Progress) -> Result:
        phase = "applying" if self.applying else "checking"
        self.names = _Names()
        self.source = open_file()
        try:
            chunk: list[ProductPlan] = []
            for rows in _groups(read_rows(self.source, self.options), self.result):
                chunk.append(_plan_product(rows))
                if len(chunk) >= CHUNK_PRODUCTS:
                    self._chunk(chunk)
                    progress(self.result.rows_total, phase)
                    chunk = []
            if chunk:
                self._chunk(chunk)
            progress(self.result.rows_total, phase)
        finally:
            self.source.close()
        return self.result

    def lock(self, *, products: Iterable[int], variants: Iterable[int]) -> None:
        """Take the locks of the rows the check found changed, in the lock order of
        docs/checkout.md: each product's staff write lock (services.lock_product), then the
        variants FOR NO KEY UPDATE in ascending id, then the product rows likewise (as
        services.sync_variants does). Four statements."""
        products, variants = sorted(products), sorted(variants)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(id) FROM "
                "(SELECT id FROM unnest(%s::bigint[]) AS id ORDER BY id) AS ids",
                [products],
            )
        list(
            ProductVariant.objects.select_for_update(no_key=True)
            .filter(pk__in=variants)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        list(
            Product.objects.select_for_update(no_key=True)
            .filter(pk__in=products)
            .order_by("pk")
            .values_list("pk", flat=True)
        )

    def discard_images(self) -> None:
        """Delete the image files this pass stored (the import was not applied)."""
        services._delete_files(self.stored)
        self.stored = []

    # --- A chunk of products ----------------------------------------------------------------

    def _chunk(self, plans: list[ProductPlan]) -> None:
        self._check_skus(plans)
        self._match(plans)
        for plan in plans:
            if not plan.errors:
                self._compare(plan)
        for plan in plans:
            if not plan.errors and plan.new_images:
                self._images(plan)
        for plan in plans:
            for row, column, message in plan.errors:
                self.result.add_error(row, column, message)
            self.result.count(plan)
            if plan.errors:
                continue
            if not self.applying and plan.existing is not None and plan.changed:
                self.locks_products.add(plan.existing["id"])
                self.locks_variants.update(
                    v.existing["id"] for v in plan.variants if v.existing is not None and v.changes
                )
            if self.dry_run and (plan.existing is None or plan.changed):
                self._diff(plan)
        if self.applying:
            valid = [plan for plan in plans if not plan.errors and plan.changed]
            if valid:
                self._write(valid)

    def _check_skus(self, plans: list[ProductPlan]) -> None:
        for plan in plans:
            for variant in plan.variants:
                first = self.skus.setdefault(variant.sku, variant.row)
                if first != variant.row:
                    plan.error(
                        variant.row,
                        variant.sku_label,
                        f"SKU {variant.sku!r} is also on row {first} of the file.",
                    )

    def _match(self, plans: list[ProductPlan]) -> None:
        """Find each product's and variant's row in the database: two queries for the
        products and variants, three for their tags, collections and images, one for the
        slugs that new products could take."""
        skus = [v.sku for plan in plans for v in plan.variants]
        variants = {
            row["sku"]: row
            for row in ProductVariant.objects.filter(sku__in=skus).values(
                "id",
                "sku",
                "product_id",
                "name",
                "price",
                "stock_quantity",
                "weight_grams",
                "attributes",
            )
        }
        slugs = [plan.values["product_slug"] for plan in plans if "product_slug" in plan.values]
        owners = {row["product_id"] for row in variants.values()}
        products = {
            row["id"]: row
            for row in Product.objects.filter(Q(slug__in=slugs) | Q(pk__in=owners)).values(
                "id", *PRODUCT_FIELDS
            )
        }
        by_slug = {row["slug"]: row for row in products.values()}
        for plan in plans:
            self._match_product(plan, variants, products, by_slug)
        matched = [plan.existing["id"] for plan in plans if plan.existing is not None]
        self._related(plans, matched)
        self._new_slugs([plan for plan in plans if plan.existing is None and not plan.errors])

    def _match_product(
        self, plan: ProductPlan, variants: dict, products: dict, by_slug: dict
    ) -> None:
        for variant in plan.variants:
            variant.existing = variants.get(variant.sku)
        owners = {v.existing["product_id"] for v in plan.variants if v.existing is not None}
        if "product_slug" in plan.values:
            plan.existing = by_slug.get(plan.values["product_slug"])
            own = plan.existing["id"] if plan.existing is not None else None
            for variant in plan.variants:
                if variant.existing is not None and variant.existing["product_id"] != own:
                    other = products[variant.existing["product_id"]]["slug"]
                    plan.error(
                        variant.row,
                        variant.sku_label,
                        f"SKU {variant.sku!r} is already used by another product ({other!r}).",
                    )
        elif len(owners) > 1:
            listed = ", ".join(sorted(repr(products[pk]["slug"]) for pk in owners))
            plan.error(
                plan.first_row,
                plan.variants[0].sku_label,
                f"These SKUs belong to different products: {listed}.",
            )
        elif owners:
            plan.existing = products[owners.pop()]

    def _related(self, plans: list[ProductPlan], product_ids: list[int]) -> None:
        tags: dict[int, list[str]] = {}
        for product_id, name in Product.tags.through.objects.filter(
            product_id__in=product_ids
        ).values_list("product_id", "tag__name"):
            tags.setdefault(product_id, []).append(name)
        collections: dict[int, list[str]] = {}
        for product_id, name in Product.collections.through.objects.filter(
            product_id__in=product_ids
        ).values_list("product_id", "collection__name"):
            collections.setdefault(product_id, []).append(name)
        images: dict[int, set[str]] = {}
        for product_id, source, name in ProductImage.objects.filter(
            product_id__in=product_ids
        ).values_list("product_id", "source", "image"):
            images.setdefault(product_id, set()).update(value for value in (source, name) if value)
        for plan in plans:
            if plan.existing is not None:
                pk = plan.existing["id"]
                plan.existing["tags"] = sorted(tags.get(pk, []), key=str.casefold)
                plan.existing["collections"] = sorted(collections.get(pk, []), key=str.casefold)
                plan.existing["images"] = images.get(pk, set())

    def _new_slugs(self, plans: list[ProductPlan]) -> None:
        """Slugs for new products: the file's, or one made from the name, "-2", "-3"...
        appended in file order while taken by a product or by an earlier row (one query)."""
        bases = {}
        for plan in plans:
            if "product_slug" in plan.values:
                plan.slug = plan.values["product_slug"]
                if plan.slug in self.slugs:
                    plan.error(
                        plan.first_row,
                        plan.labels["product_slug"],
                        "This slug is taken by an earlier product of the file.",
                    )
                self.slugs.add(plan.slug)
            elif "name" in plan.values:
                bases[id(plan)] = _slug_base(plan.values["name"])
        if not bases:
            return
        taken = set(
            Product.objects.filter(
                Q(slug__in=set(bases.values()))
                | Q(
                    slug__regex=r"^("
                    + "|".join(_regex(base) for base in set(bases.values()))
                    + r")-[0-9]+$"
                )
            ).values_list("slug", flat=True)
        )
        for plan in plans:
            base = bases.get(id(plan))
            if base is None:
                continue
            slug, n = base, 1
            while slug in taken or slug in self.slugs:
                n += 1
                slug = f"{base}-{n}"
            plan.slug = slug
            self.slugs.add(slug)

    def _compare(self, plan: ProductPlan) -> None:
        """What writing `plan` changes: product columns, tags, collections, images to add,
        and each variant's columns."""
        values = plan.values
        existing = plan.existing
        if existing is None and "name" not in values:
            plan.error(plan.first_row, plan.labels.get("name", "name"), "The name is empty.")
            return
        path = values.get("category")
        if path is None and existing is None:
            path = [DEFAULT_CATEGORY]
        if path is not None:
            key = tuple(name.casefold() for name in path)
            plan.category_id = self.names.categories.get(key)
            if plan.category_id is None and not self.options.create_categories:
                plan.error(
                    plan.first_row,
                    plan.labels.get("category", "category"),
                    f"No category {format_category_path(path)!r} (creating categories is off).",
                )
                return
            plan.category_path = path
        new = {
            "name": values.get("name"),
            "description": values.get("description"),
            "is_published": values.get("published"),
            "tax_class": values.get("tax_class"),
            "category_id": plan.category_id if path is not None else None,
        }
        if existing is None:
            plan.values.setdefault("description", "")
        else:
            plan.slug = existing["slug"]
            for name, value in new.items():
                if value is not None and name != "category_id" and existing[name] != value:
                    plan.changes[name] = (existing[name], value)
            if path is not None and existing["category_id"] != plan.category_id:
                plan.changes["category_id"] = (existing["category_id"], plan.category_id)
        for column, attribute in (("tags", "tag_names"), ("collections", "collection_names")):
            names = values.get(column)
            if names is None:
                continue
            before = existing[column] if existing is not None else []
            after = sorted(names, key=str.casefold)
            if [n.casefold() for n in before] != [n.casefold() for n in after]:
                setattr(plan, attribute, (before, after))
        known = existing["images"] if existing is not None else set()
        plan.new_images = [source for _, source in plan.images if source not in known]
        for variant in plan.variants:
            if variant.existing is None:
                continue
            for name, value in variant.values.items():
                if variant.existing[name] != value:
                    variant.changes[name] = (variant.existing[name], value)

    def _images(self, plan: ProductPlan) -> None:
        """Fetch or read and check the new images of `plan`, once per product and source
        for the whole import: the check stores them (unless a dry run) for the apply, which
        only fetches what the check did not see. A failure is an error of the product."""
        rows = {source: row for row, source in plan.images}
        for source in plan.new_images:
            key = (plan.slug, source)
            failure = self.image_failures.get(key)
            if failure is None and key not in self.images and key not in self.checked:
                try:
                    content = self._image(source)
                except fetch.ImageFetchError as exc:
                    failure = self.image_failures[key] = str(exc)
                else:
                    self.checked.add(key)
                    if not self.dry_run:
                        storage = ProductImage._meta.get_field("image").storage
                        name = storage.save(f"products/import-{content.name}", content)
                        self.stored.append(name)
                        self.images[key] = name
            if failure is not None:
                plan.error(rows[source], plan.labels.get("images", "images"), failure)

    def _image(self, source: str) -> ContentFile:
        if source.lower().startswith(("http://", "https://")):
            return fetch.fetch_image(source)
        max_bytes = settings.PRODUCT_IMAGE_MAX_BYTES
        try:
            data = self.source.image_bytes(source, max_bytes=max_bytes)
        except (LookupError, ValueError) as exc:
            raise fetch.ImageFetchError(str(exc)) from exc
        upload = SimpleUploadedFile(source.rsplit("/", 1)[-1], data)
        try:
            return services.check_image_file(upload)
        except DjangoValidationError as exc:
            messages = exc.message_dict.get("image", exc.messages)
            raise fetch.ImageFetchError(f"{source}: {messages[0]}") from exc

    def _diff(self, plan: ProductPlan) -> None:
        if len(self.result.diff) >= DIFF_LIMIT:
            self.result.diff_truncated = True
            return
        entry: dict[str, Any] = {
            "row": plan.first_row,
            "product": plan.slug,
            "action": "create" if plan.existing is None else "update",
        }
        changes = {}
        if plan.existing is None:
            changes = {
                "name": plan.values.get("name"),
                "category": format_category_path(plan.category_path or []),
            }
        else:
            for name, (before, after) in plan.changes.items():
                if name == "category_id":
                    name = "category"
                    before = self.names.category_paths.get(before, "")
                    after = format_category_path(plan.category_path or [])
                changes[name] = {"from": _json(before), "to": _json(after)}
        for attribute, column in (("tag_names", "tags"), ("collection_names", "collections")):
            pair = getattr(plan, attribute)
            if pair is not None:
                changes[column] = {"from": pair[0], "to": pair[1]}
        if plan.new_images:
            changes["images_added"] = plan.new_images
        entry["changes"] = changes
        entry["variants"] = [
            {"sku": v.sku, "action": "create", "values": {k: _json(x) for k, x in v.values.items()}}
            if v.existing is None
            else {
                "sku": v.sku,
                "action": "update",
                "changes": {
                    k: {"from": _json(a), "to": _json(b)} for k, (a, b) in v.changes.items()
                },
            }
            for v in plan.variants
            if v.existing is None or v.changes
        ]
        self.result.diff.append(entry)

    # --- Writing -----------------------------------------------------------------------------

    def _write(self, plans: list[ProductPlan]) -> None:
        """Write a chunk of valid, changed products (the apply). Statements: the categories
        created (a few each), two for new tags and collections, one each for new products,
        new variants, each group of changed product columns, each group of changed variant
        columns, the stock and price sync (services.sync_variants), the tag and collection
        links and the images."""
        self._create_categories(plans)
        tag_ids = self._named(Tag, self.names.tags, plans, "tag_names", TAG_MAX)
        collection_ids = self._named(
            Collection, self.names.collections, plans, "collection_names", COLLECTION_MAX
        )
        now = timezone.now()
        new = [plan for plan in plans if plan.existing is None]
        for plan in plans:
            plan.existing_before = plan.existing is not None
        created = Product.objects.bulk_create(
            Product(
                name=plan.values["name"],
                slug=plan.slug,
                description=plan.values.get("description", ""),
                category_id=self.names.categories[tuple(n.casefold() for n in plan.category_path)],
                is_published=plan.values.get("published", True),
                tax_class=plan.values.get("tax_class", TaxClass.STANDARD),
            )
            for plan in new
        )
        for plan, product in zip(new, created, strict=True):
            plan.existing = {"id": product.pk, "tags": [], "collections": [], "images": set()}
        ProductVariant.objects.bulk_create(
            ProductVariant(
                product_id=plan.existing["id"],
                sku=variant.sku,
                name=variant.values.get("name", ""),
                price=variant.values["price"],
                stock_quantity=variant.values.get("stock_quantity", 0),
                attributes=variant.values.get("attributes", {}),
                weight_grams=variant.values.get("weight_grams"),
            )
            for plan in plans
            for variant in plan.variants
            if variant.existing is None
        )
        self._update_products([plan for plan in plans if plan.existing_before], now)
        self._update_variants(plans, now)
        self._links(plans, Product.tags.through, "tag_id", "tag_names", tag_ids)
        self._links(
            plans, Product.collections.through, "collection_id", "collection_names", collection_ids
        )
        images = ProductImage.objects.bulk_create(
            ProductImage(
                product_id=plan.existing["id"],
                image=self.images[(plan.slug, source)],
                source=source,
                alt=plan.values.get("name", "")[:255],
                sort_order=position,
            )
            for plan in plans
            for position, source in enumerate(plan.new_images, len(plan.existing["images"]))
            if (plan.slug, source) in self.images
        )
        self.linked.update(image.image.name for image in images)

    def _create_categories(self, plans: list[ProductPlan]) -> None:
        for plan in plans:
            path = plan.category_path
            if path is None:
                continue
            parent = None
            for depth in range(1, len(path) + 1):
                key = tuple(name.casefold() for name in path[:depth])
                pk = self.names.categories.get(key)
                if pk is None:
                    slug = self._unique_slug(Category, path[depth - 1])
                    values = {"name": path[depth - 1], "slug": slug}
                    node = (
                        Category.objects.add_root(values)
                        if parent is None
                        else Category.objects.add_child(Category.objects.get(pk=parent), values)
                    )
                    pk = self.names.categories[key] = node.pk
                    self.names.category_paths[pk] = format_category_path(path[:depth])
                parent = pk

    def _named(
        self, model, known: dict[str, int], plans: list[ProductPlan], attribute: str, maximum: int
    ) -> dict[str, int]:
        missing: dict[str, str] = {}
        for plan in plans:
            pair = getattr(plan, attribute)
            for name in pair[1] if pair is not None else ():
                if name.casefold() not in known:
                    missing.setdefault(name.casefold(), name)
        if missing:
            rows = [
                model(name=name, slug=self._unique_slug(model, name)) for name in missing.values()
            ]
            for row in model.objects.bulk_create(rows):
                known[row.name.casefold()] = row.pk
        return known

    def _unique_slug(self, model, name: str) -> str:
        maximum = model._meta.get_field("slug").max_length
        base = (slugify(anyascii(name)) or "item")[: maximum - 8].strip("-") or "item"
        taken = set(
            model.objects.filter(
                Q(slug=base) | Q(slug__regex=rf"^{_regex(base)}-[0-9]+$")
            ).values_list("slug", flat=True)
        )
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        return slug

    def _update_products(self, plans: list[ProductPlan], now) -> None:
        groups: dict[tuple[str, ...], list[Product]] = {}
        for plan in plans:
            if not plan.changes:
                continue
            product = Product(pk=plan.existing["id"], updated_at=now)
            for name, (_, value) in plan.changes.items():
                setattr(product, name, value)
            groups.setdefault(tuple(sorted(plan.changes)), []).append(product)
        for fields, products in groups.items():
            Product.objects.bulk_update(products, [*fields, "updated_at"])

    def _update_variants(self, plans: list[ProductPlan], now) -> None:
        lines = []
        groups: dict[tuple[str, ...], list[ProductVariant]] = {}
        for plan in plans:
            for variant in plan.variants:
                if variant.existing is None or not variant.changes:
                    continue
                line = {"sku": variant.sku}
                for name in ("price", "stock_quantity"):
                    if name in variant.changes:
                        line[name] = variant.changes[name][1]
                if len(line) > 1:
                    lines.append(line)
                other = sorted(set(variant.changes) & set(VARIANT_OTHER_FIELDS))
                if other:
                    row = ProductVariant(pk=variant.existing["id"], updated_at=now)
                    for name in other:
                        setattr(row, name, variant.changes[name][1])
                    groups.setdefault(tuple(other), []).append(row)
        if lines:
            services.sync_variants(lines=lines)
        for fields, rows in groups.items():
            ProductVariant.objects.bulk_update(rows, [*fields, "updated_at"])

    def _links(
        self, plans: list[ProductPlan], through, column: str, attribute: str, ids: dict[str, int]
    ) -> None:
        remove = Q()
        add = []
        for plan in plans:
            pair = getattr(plan, attribute)
            if pair is None:
                continue
            before = {ids[n.casefold()] for n in pair[0] if n.casefold() in ids}
            after = {ids[n.casefold()] for n in pair[1]}
            product_id = plan.existing["id"]
            if before - after:
                remove |= Q(product_id=product_id, **{f"{column}__in": before - after})
            add.extend(
                through(product_id=product_id, **{column: pk}) for pk in sorted(after - before)
            )
        if remove.children:
            through.objects.filter(remove).delete()
        if add:
            through.objects.bulk_create(add, ignore_conflicts=True)


def _regex(text: str) -> str:
    """`text` as a PostgreSQL regular expression matching itself (slugs: [a-z0-9_-])."""
    return "".join(char if char.isalnum() or char in "_-" else "\\" + char for char in text)


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value
