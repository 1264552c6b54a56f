"""The catalog export: every product with its variants, as the catalog file that
`import_catalog` reads back unchanged (the format of storefront/catalog/imports/format.py;
docs/export.md).

Both exports stream: products are read in keyset pages by id (PAGE_SIZE at a time), each
page with its variants, images, tags and collections prefetched, and each page is written
out as one chunk of text before the next is read. Memory holds one page and the category
paths, whatever the size of the catalog. Queries: 1 for the category paths, then 5 per page
(products, variants, images, tags, collections), and 1 more that finds no product when the
last page is full.

Order: products by id; a product's variants by id (creation order: a price change does not
move a row, so two exports diff cell by cell); images in display order (sort_order, id);
collections and tags by name. Unpublished products are included; products without variants
are not (the file has no row for them: the importer refuses a product without a price).

The first chunk is yielded after the category query, so a caller that takes it before
answering (the API view) learns of a database outage while it can still answer 503. The
export is not one snapshot: each page reads what is committed when it is read, so a
product created or edited during a long export may or may not be in it.
"""

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch

from storefront.catalog.imports.format import (
    COLUMNS,
    PRODUCT_COLUMNS,
    VARIANT_COLUMNS,
    format_attributes,
    format_bool,
    format_category_path,
    format_list,
    format_price,
)
from storefront.catalog.models import (
    Category,
    Collection,
    Product,
    ProductImage,
    ProductVariant,
    Tag,
)

PAGE_SIZE = 500


def iter_catalog_csv(*, page_size: int = PAGE_SIZE) -> Iterator[str]:
    """Yield the catalog as CSV text: the header (format.COLUMNS), then one row per variant
    with its product's columns repeated, one chunk per page of `page_size` products.

    Cells are written by format.py's encoders: category "Root > Child", collections, tags and
    images as lists ("a, b\\, c"), published "true"/"false", price "19.99" (store currency),
    weight_grams empty when unknown, attributes a JSON object (empty when none). Rows end in
    CRLF (the csv module's default). Queries: see the module docstring.
    """
    paths = category_paths()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield _drain(buffer)
    for page in _pages(page_size):
        for product in page:
            columns = _product_columns(product, paths)
            for variant in product.variants.all():
                values = {**columns, **_variant_values(variant)}
                writer.writerow([_CELLS.get(name, _as_is)(values[name]) for name in COLUMNS])
        yield _drain(buffer)


def iter_catalog_json(*, page_size: int = PAGE_SIZE) -> Iterator[str]:
    """Yield the catalog as one JSON array, in chunks: "[", then the products of each page
    (separated by ","), then "]".

    Each product: {"product_slug", "name", "description", "category" ("Root > Child"),
    "collections": [names], "tags": [names], "published": bool, "tax_class",
    "images": [sources or file names], "variants": [{"sku", "variant_name",
    "price": "19.99" (a string, store currency), "stock_quantity": int,
    "weight_grams": int | null, "attributes": {...}}]}. Queries: see the module docstring.
    """
    paths = category_paths()
    yield "["
    separator = ""
    for page in _pages(page_size):
        chunk = ",".join(
            json.dumps(_product_document(product, paths), ensure_ascii=False) for product in page
        )
        yield separator + chunk
        separator = ","
    yield "]"


# The keys of a product of the JSON export, and of each of its variants: the columns.
JSON_PRODUCT_KEYS = (*PRODUCT_COLUMNS, "variants")
JSON_VARIANT_KEYS = VARIANT_COLUMNS


# How a CSV cell writes a column's JSON value (format.py's encoders); other values as they are.
_CELLS = {
    "collections": format_list,
    "tags": format_list,
    "images": format_list,
    "published": format_bool,
    "weight_grams": lambda grams: "" if grams is None else grams,
    "attributes": format_attributes,
}


def _as_is(value: Any) -> Any:
    return value


def _product_document(product: Product, paths: dict[int, str]) -> dict[str, Any]:
    return {
        **_product_columns(product, paths),
        "variants": [_variant_values(variant) for variant in product.variants.all()],
    }


def _variant_values(variant: ProductVariant) -> dict[str, Any]:
    """The variant's columns as JSON values (price a string with two decimals)."""
    return {
        "sku": variant.sku,
        "variant_name": variant.name,
        "price": format_price(variant.price),
        "stock_quantity": variant.stock_quantity,
        "weight_grams": variant.weight_grams,
        "attributes": variant.attributes or {},
    }


def _product_columns(product: Product, paths: dict[int, str]) -> dict[str, Any]:
    """The product's columns, lists as lists and `published` as a bool (the JSON values);
    `paths`: category_paths()."""
    return {
        "product_slug": product.slug,
        "name": product.name,
        "description": product.description,
        "category": paths.get(product.category_id, ""),
        "collections": [collection.name for collection in product.collections.all()],
        "tags": [tag.name for tag in product.tags.all()],
        "published": product.is_published,
        "tax_class": product.tax_class,
        "images": [image.source or image.image.name for image in product.images.all()],
    }


def _pages(page_size: int) -> Iterator[list[Product]]:
    """Every product that has a variant, in pages of at most `page_size` by ascending id
    (keyset: each page starts after the last id of the previous one, an index range scan
    however deep), with what the export reads prefetched."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1.")
    last_id = 0
    while True:
        page = list(_page_queryset().filter(id__gt=last_id)[:page_size])
        if page:
            yield page
        if len(page) < page_size:
            return
        last_id = page[-1].id


def _page_queryset():
    return (
        Product.objects.filter(Exists(ProductVariant.objects.filter(product=OuterRef("pk"))))
        .order_by("id")
        # Not search_vector, min_price, in_stock: derived columns the file does not hold.
        .only("id", "slug", "name", "description", "category_id", "is_published", "tax_class")
        .prefetch_related(
            Prefetch(
                "variants",
                queryset=ProductVariant.objects.order_by("id").only(
                    "id",
                    "product_id",
                    "sku",
                    "name",
                    "price",
                    "stock_quantity",
                    "weight_grams",
                    "attributes",
                ),
            ),
            Prefetch(
                "images",
                queryset=ProductImage.objects.order_by("sort_order", "id").only(
                    "id", "product_id", "image", "source"
                ),
            ),
            Prefetch("tags", queryset=Tag.objects.order_by("name", "id").only("id", "name")),
            Prefetch(
                "collections",
                queryset=Collection.objects.order_by("name", "id").only("id", "name"),
            ),
        )
    )


def category_paths() -> dict[int, str]:
    """{category id: its path of names from the root, "Books > Non-Fiction > Hacking"} for
    every category, in one query (materialised paths sorted put each parent before its
    children)."""
    names_by_path: dict[str, list[str]] = {}
    paths: dict[int, str] = {}
    rows = Category.objects.order_by("path").values_list("id", "path", "name")
    for category_id, path, name in rows:
        names = [*names_by_path.get(path[: -Category.steplen], []), name]
        names_by_path[path] = names
        paths[category_id] = format_category_path(names)
    return paths


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate(0)
    return text
