"""Facets of the product list: how many of the products a client's filters select fall in each
category, collection, tag, price band and stock state (GET /api/products/facets/).

    {"count": 42,
     "categories": [{"id": 3, "slug": "tops", "name": "Tops", "count": 30}, ...],
     "collections": [{"slug": "summer-picks", "name": "Summer Picks", "count": 5}, ...],
     "tags": [{"slug": "cotton", "name": "Cotton", "count": 12}, ...],
     "price": {"min": "4.99", "max": "89.00",
               "bands": [{"min": "0.00", "max": "19.99", "count": 7}, ...]},
     "in_stock": {"true": 40, "false": 2}}

The drill-down rule: each facet counts the products selected by every filter but its own, so
choosing a tag still shows what the other tags would give. `count` applies every filter (it is
the list's count); `categories` lists the children of the filtered category (the roots without
one), each counted with its descendants and every other filter; `collections` ignores the
`collection` filter, `tags` the `tag` filter, `price` `min_price` and `max_price`, `in_stock`
the `in_stock` filter. Customers and anonymous visitors count published products, staff all.

- Entries with no product are left out, except the chosen collection and the chosen tag,
  always listed (a client shows them checked, to be unchosen). Categories come in tree order
  (siblings by name); collections and tags by count, most first, then name, then slug.
- Prices are the viewer's prices of the products, as the list shows them in `price`: the
  member price (pricing.quotes.member_price) of `min_price` (the lowest variant price, the
  list price; store currency) at the tier of the viewer's membership, the list price for an
  anonymous visitor; Decimals. `min` and `max` are the lowest and highest (the member prices
  of the lowest and highest list prices: a member price never decreases as the list price
  grows); bands split them into at most MAX_BANDS bands of one round width (band_width: 1, 2
  or 5 times a power of ten, from 0.01) starting at a multiple of it, each counting the
  products the `min_price`/`max_price` filters select (querysets.price_condition: for a
  member, exact ranges of `min_price` computed from the tier's percentage). Each band's
  `min` and `max` are both inclusive, the last cent below the next band's `min`, so
  `min_price=<min>&max_price=<max>` lists exactly the band's products. Bands between the
  first and the last are listed even when empty (they tile [min, max]); products without a
  price (no variant) count in no band. With no priced product: min and max None, no band.

Cost: four SQL statements whatever the catalog's size, five when a product has a price (the
bands need the lowest and highest first), plus the filter validation's lookups (one per
category, collection or tag slug):
- the summary, grouped by category: `count`, the category counts (rolled up in Python from
  the categories of the subtree), `in_stock` and the price span, as FILTERed aggregates of the
  rows that ignore the price and stock filters, read from the `catalog_product_browse` index
  (category, min_price; in_stock, is_published, id) alone;
- the categories of the filtered subtree (all of them without a filter): a small table;
- the price bands, FILTERed counts of the rows that ignore the price filter, as the summary;
- the tags, and the collections: the M2M rows of the products, grouped, with their names
  (the products' ids from the same index, catalog migration 0007).
  These need the products' ids, which the browse index does not hold (docs/catalog.md,
  "Facets", has the measurements).

The statements read the catalog one after the other, not in one snapshot: a write committed
between two of them can show in some facets of that one answer and not in others. Such an
answer is never served from the response cache afterwards: the write's commit invalidates it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Count, Max, Min, Q, QuerySet, Value

from storefront.catalog.models import Category, Collection, Product, Tag
from storefront.catalog.querysets import price_condition, tier_percentage
from storefront.catalog.selectors import visible_products
from storefront.pricing import quotes

if TYPE_CHECKING:
    from storefront.catalog.api.filters import ProductFilter

MAX_BANDS = 5
CENT = Decimal("0.01")
ZERO = Decimal("0")
# The round band widths, as multiples of powers of ten.
ROUND_STEPS = (1, 2, 5)

# The filters each facet leaves out (names of ProductFilter); `ordering` never counts.
OWN_FILTERS = {
    "collections": frozenset({"collection"}),
    "tags": frozenset({"tag"}),
    "price": frozenset({"min_price", "max_price"}),
    "in_stock": frozenset({"in_stock"}),
}
NOT_A_FILTER = frozenset({"ordering"})
# What rows are counted by (see product_facets).
INDEXED = "category_id"


@dataclass(frozen=True)
class CategoryCount:
    id: int
    slug: str
    name: str
    count: int


@dataclass(frozen=True)
class NamedCount:
    """A collection's or a tag's count."""

    slug: str
    name: str
    count: int


@dataclass(frozen=True)
class PriceBand:
    """Products priced from `min` to `max`, both inclusive (store currency)."""

    min: Decimal
    max: Decimal
    count: int


@dataclass(frozen=True)
class PriceFacet:
    min: Decimal | None
    max: Decimal | None
    bands: list[PriceBand]


@dataclass(frozen=True)
class StockFacet:
    true: int
    false: int


@dataclass(frozen=True)
class Facets:
    count: int
    categories: list[CategoryCount]
    collections: list[NamedCount]
    tags: list[NamedCount]
    price: PriceFacet
    in_stock: StockFacet


def product_facets(*, user, filters: ProductFilter) -> Facets:
    """The facets (module docstring) of the products `user` may see, at `user`'s prices,
    narrowed by `filters`: a ProductFilter whose is_valid() was True, applied with
    filter_queryset(skip=...)."""
    chosen = filters.form.cleaned_data
    products = visible_products(user=user)
    membership = quotes.membership_of(user)

    def narrowed(*facets: str) -> QuerySet:
        """The products of every filter but the own filters of `facets`."""
        skip = NOT_A_FILTER.union(*(OWN_FILTERS[facet] for facet in facets))
        return filters.filter_queryset(products, skip=skip).order_by()

    # None without a bound: no FILTER clause.
    in_price = (
        price_condition(chosen.get("min_price"), chosen.get("max_price"), membership=membership)
        or None
    )
    stock = chosen.get("in_stock")
    in_stock = None if stock is None else Q(in_stock=stock)
    # One pass over the rows without the price and stock filters: those two conditions are
    # FILTER clauses here. Rows are counted by `category_id` (never NULL): a column of the
    # browse index, so the rows are read from the index alone (Django refuses COUNT(*) with
    # a FILTER, and counting `id` would read every row from the table).
    # The price span as list prices, and the viewer's tier percentage read in the same
    # statement (the same on every row; none to read for an anonymous visitor), to make them
    # the viewer's prices.
    percentage = Value(ZERO) if membership is None else tier_percentage(membership)
    summary = list(
        narrowed("price", "in_stock")
        .values("category_id")
        .annotate(
            count=Count(INDEXED, filter=_both(in_price, in_stock)),
            stocked=Count(INDEXED, filter=_both(in_price, Q(in_stock=True))),
            unstocked=Count(INDEXED, filter=_both(in_price, Q(in_stock=False))),
            price_min=Min("min_price", filter=in_stock),
            price_max=Max("min_price", filter=in_stock),
            percentage=Max(percentage),
        )
        .values_list(
            "category_id", "count", "stocked", "unstocked", "price_min", "price_max", "percentage"
        )
    )
    low = min((row[4] for row in summary if row[4] is not None), default=None)
    high = max((row[5] for row in summary if row[5] is not None), default=None)
    if low is not None:
        low, high = (quotes.member_price(price, summary[0][6]) for price in (low, high))
    return Facets(
        count=sum(row[1] for row in summary),
        categories=_categories(chosen.get("category"), summary),
        collections=_named_counts(
            Product.collections.through.objects.filter(
                product__in=narrowed("collections").values("pk")
            ),
            "collection",
            chosen.get("collection"),
        ),
        tags=_named_counts(
            Product.tags.through.objects.filter(product__in=narrowed("tags").values("pk")),
            "tag",
            chosen.get("tag"),
        ),
        price=PriceFacet(
            min=low,
            max=high,
            bands=[] if low is None else _bands(narrowed("price"), low, high, membership),
        ),
        in_stock=StockFacet(
            true=sum(row[2] for row in summary), false=sum(row[3] for row in summary)
        ),
    )


def band_width(low: Decimal, high: Decimal) -> Decimal:
    """The smallest round width (1, 2 or 5 times 10**k, at least 0.01) whose multiples split
    the prices from `low` to `high` (store currency, low <= high) into at most MAX_BANDS bands.

    E.g. 4.99 to 404.99: 100 (0-99.99, ..., 400-499.99); 19.99 to 20.49: 0.20.
    """
    for exponent in itertools.count(-2):
        for step in ROUND_STEPS:
            width = Decimal(step).scaleb(exponent)
            if high // width - low // width < MAX_BANDS:
                return width
    raise AssertionError("unreachable")  # pragma: no cover


def _both(first: Q | None, second: Q | None) -> Q | None:
    conditions = [q for q in (first, second) if q is not None]
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else conditions[0] & conditions[1]


def _categories(category: Category | None, summary: Iterable[tuple]) -> list[CategoryCount]:
    """The children of `category` (the roots without one), each with the products counted in
    `summary` (category id, count, ...) in it or its descendants, in tree order."""
    if category is None:
        nodes, depth = Category.objects.all(), 1
    else:
        nodes, depth = Category.objects.filter(path__startswith=category.path), category.depth + 1
    prefix = depth * Category.steplen
    children: dict[str, list] = {}
    paths: dict[int, str] = {}
    for pk, path, slug, name in nodes.order_by("path").values_list("pk", "path", "slug", "name"):
        paths[pk] = path
        if len(path) == prefix:
            children[path] = [pk, slug, name, 0]
    for category_id, count, *_ in summary:
        # A product right in `category` counts in no child; a category moved since the
        # summary was read (not in `paths`) in none either.
        path = paths.get(category_id)
        child = children.get(path[:prefix]) if path and len(path) >= prefix else None
        if child is not None:
            child[3] += count
    return [CategoryCount(*child) for child in children.values() if child[3]]


def _named_counts(links: QuerySet, field: str, chosen: Tag | Collection | None) -> list[NamedCount]:
    """Counts of the products in `links` (M2M rows of Product.tags or Product.collections)
    per `field` ("tag" or "collection"), most first, then by name and slug; `chosen` is listed
    even without a product."""
    rows = (
        links.values(f"{field}_id")
        .annotate(count=Count(f"{field}_id"))
        .order_by("-count", f"{field}__name", f"{field}__slug")
        .values_list(f"{field}__slug", f"{field}__name", "count")
    )
    entries = [NamedCount(*row) for row in rows]
    if chosen is not None and all(entry.slug != chosen.slug for entry in entries):
        entries.append(NamedCount(chosen.slug, chosen.name, 0))
    return entries


def _bands(rows: QuerySet, low: Decimal, high: Decimal, membership: str | None) -> list[PriceBand]:
    """The price bands tiling [low, high] (band_width; the prices of a viewer of
    `membership`), with the `rows` in each, selected as the price filters select them."""
    width = band_width(low, high)
    edges = [
        (start * width, (start + 1) * width - CENT)
        for start in range(int(low // width), int(high // width) + 1)
    ]
    counts = rows.aggregate(
        **{
            f"band{i}": Count(INDEXED, filter=price_condition(start, end, membership=membership))
            for i, (start, end) in enumerate(edges)
        }
    )
    return [
        PriceBand(min=start.quantize(CENT), max=end.quantize(CENT), count=counts[f"band{i}"])
        for i, (start, end) in enumerate(edges)
    ]
