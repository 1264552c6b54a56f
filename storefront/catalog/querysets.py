"""Chainable catalog queries: `Product.objects.published().in_stock()`,
`ProductVariant.objects.purchasable()`.

The purchasable rule lives here, once, in each form its callers need: a variant is on sale
(customers may put it in a cart and check it out) when its product is published; there is no
other flag. `ProductQuerySet.published` is the product side of it, `VariantQuerySet.purchasable`
and `PURCHASABLE` the variant side for the ORM, `purchasable_sql` the same test for the raw
SQL of the one-statement add to cart, and `ProductVariant.is_purchasable` (catalog/models.py)
the same test on a loaded variant. catalog/tests/test_purchasable.py checks that they agree.
"""

import re
from decimal import Decimal

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import models
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, NullIf, Round

# PostgreSQL text search configuration of product search: English stemming ("shirts" finds
# "shirt"). An explicit configuration also makes to_tsvector() IMMUTABLE, which a generated
# column requires.
SEARCH_CONFIG = "english"


def product_search_vector() -> SearchVector:
    """The weighted document a product is searched in: name (weight A), description (B);
    stored as the generated column Product.search_vector (GIN-indexed)."""
    return SearchVector("name", weight="A", config=SEARCH_CONFIG) + SearchVector(
        "description", weight="B", config=SEARCH_CONFIG
    )


def rating_average() -> models.Func:
    """The average of a product's approved review ratings (1 to 5) from its stored
    `rating_sum` and `rating_count`: rounded half up to 2 decimals (PostgreSQL rounds a
    numeric's halves away from zero), NULL while no review is approved; stored as the
    generated column Product.rating_average. The quotient keeps at least 16 significant
    digits, far more than any sum of ratings needs to be rounded once, exactly."""
    quotient = models.ExpressionWrapper(
        Cast("rating_sum", models.DecimalField(max_digits=20, decimal_places=0))
        / NullIf("rating_count", 0),
        output_field=models.DecimalField(),
    )
    return Round(quotient, 2, output_field=models.DecimalField(max_digits=3, decimal_places=2))


# A variant customers may buy: its product is published (see the module docstring).
PURCHASABLE = models.Q(product__is_published=True)


def purchasable_sql(*, product: str) -> str:
    """PURCHASABLE as a raw SQL condition on `product`, the alias of the variant's product
    row in the statement (a trusted identifier, never user input)."""
    return f"{product}.is_published"


# The last word of a search, when it is a plain word being typed: letters and digits only
# (not -excluded, not inside a "phrase", not the `or` operator).
_LAST_WORD = re.compile(r"(?:^|\s)([^\W_]+)\s*$")


def search_query(text: str) -> SearchQuery:
    """The tsquery of a customer's search `text` (PostgreSQL websearch syntax: words,
    "quoted phrases", -excluded, or), matching a prefix of its last word as they type.

    The last word, when plain, matches words it is a prefix of ("hood" finds "Hoodie", by
    the unstemmed prefix in the `simple` configuration against the stored English lexemes)
    or its English stem ("hoodies" finds "hoodie"); the words before it are matched as
    websearch_to_tsquery reads them. A last word inside quotes, excluded or `or` is read as
    websearch syntax only.
    """
    match = _LAST_WORD.search(text)
    if match is None or text.count('"') % 2 or match.group(1).lower() == "or":
        return SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
    word = match.group(1)
    last = SearchQuery(f"{word}:*", search_type="raw", config="simple") | SearchQuery(
        word, search_type="plain", config=SEARCH_CONFIG
    )
    head = text[: match.start(1)].strip()
    if not head:
        return last
    return SearchQuery(head, search_type="websearch", config=SEARCH_CONFIG) & last


def tier_percentage_sql(membership: str = "%s") -> str:
    """SQL of the percentage (0 to 100) that the tier of a membership takes off list prices,
    the membership being the SQL `membership` (a placeholder of the statement; NULL for an
    anonymous visitor): 0 without a tier row, as pricing.quotes.tier_discount answers, but
    read by the statement that needs it instead of a query of its own. The subquery does not
    depend on the rows, so PostgreSQL runs it once per statement."""
    from storefront.pricing.models import MembershipTier

    table = MembershipTier._meta.db_table
    return f"COALESCE((SELECT discount_percentage FROM {table} WHERE code = {membership}), 0)"


def tier_percentage(membership: str | None) -> RawSQL:
    """tier_percentage_sql of `membership` as an ORM expression (a Decimal from 0 to 100),
    to annotate a query that needs the tier's percentage with it."""
    return RawSQL(
        tier_percentage_sql(),
        [membership],
        output_field=models.DecimalField(max_digits=5, decimal_places=2),
    )


# A bound beyond every list price (Product.min_price is numeric(12, 2), below 10**10):
# `min_price <= ABOVE_EVERY_PRICE` holds for every priced product, `>=` for none.
ABOVE_EVERY_PRICE = Decimal(10**10)


def list_price_bound_sql(*, highest: bool) -> str:
    """SQL of the list price bound equivalent to a bound on member prices, with two
    placeholders: the bound X on the member price (store currency, at most 2 decimals,
    X > 0 for the lowest), then the membership (tier_percentage_sql).

    The member price of a list price L at percentage P is pricing.quotes.member_price:
    L x (100 - P) / 100 rounded half up to the cent. In cents (l = 100 L), with q = 100 x
    (100 - P), an integer from 0 to 10,000 (P has two decimals), it is
    floor((l x q + 5000) / 10**4), which never decreases as l grows. So for q > 0:
    - member price <= X  iff  l x q <= 10**6 X + 4999  iff  l <= div(10**6 X + 4999, q);
    - member price >= X  iff  l x q >= 10**6 X - 5000  iff  l >= div(10**6 X - 5001, q) + 1
    (div: PostgreSQL's exact integer division, of non-negative numbers here). `highest`:
    the highest list price whose member price is at most X, else the lowest whose member
    price is at least X. With P = 100 (q = 0) every member price is 0: every priced product
    is at most X, none at least X > 0 (ABOVE_EVERY_PRICE either way). The percentage is
    read once (NULLIF makes q = 0 a NULL quotient). catalog/tests/test_member_prices.py
    checks both bounds against member_price.
    """
    q = f"NULLIF(10000 - 100 * {tier_percentage_sql()}, 0)"
    # The bound as numeric: a whole amount is sent as an integer, whose product with 10**6
    # would overflow PostgreSQL's integer past 2,147 (a 500 before this cast).
    bound = "1000000 * %s::numeric"
    cents = f"div({bound} + 4999, {q})" if highest else f"(div({bound} - 5001, {q}) + 1)"
    return f"COALESCE({cents} * 0.01, {ABOVE_EVERY_PRICE})"


def price_condition(low=None, high=None, *, membership: str | None = None) -> models.Q:
    """The list's price filter as a condition: the viewer's price of a product within the
    bounds given (store currency, both inclusive), an empty Q without a bound. A product
    without variants has no price and meets no bound. Used as a filter (price_between) and
    as the FILTER clause of the facets' aggregates.

    The viewer's price is the member price (pricing.quotes.member_price) of `min_price` (the
    lowest variant price, the list price) at the tier of `membership`; for None (an
    anonymous visitor) the list price itself. Member prices never decrease as list prices
    grow, so each bound on them is a bound on `min_price` (list_price_bound_sql), computed
    exactly in the statement from the tier's percentage: the condition stays a range of the
    indexed `min_price`, and costs no query of its own.
    """
    bounds: dict[str, object] = {}
    if membership is None:
        if low is not None:
            bounds["min_price__gte"] = low
        if high is not None:
            bounds["min_price__lte"] = high
        return models.Q(**bounds)
    if low is not None:
        # Every member price is at least 0: a bound of 0 is met by every priced product.
        bounds["min_price__gte"] = (
            _list_price_bound(low, membership, highest=False) if low > 0 else low
        )
    if high is not None:
        bounds["min_price__lte"] = _list_price_bound(high, membership, highest=True)
    return models.Q(**bounds)


def _list_price_bound(bound, membership: str, *, highest: bool) -> RawSQL:
    return RawSQL(
        list_price_bound_sql(highest=highest),
        [bound, membership],
        output_field=models.DecimalField(max_digits=None, decimal_places=2),
    )


def categories_with_subtree_ids(categories: models.QuerySet) -> models.QuerySet:
    """`categories` (a Category queryset), each with `subtree_ids`: the ids of it and its
    descendants (a list, read in the same query), for ProductQuerySet.in_category."""
    from storefront.catalog.models import Category

    subtree = Category.objects.filter(path__startswith=models.OuterRef("path")).order_by()
    return categories.annotate(subtree_ids=ArraySubquery(subtree.values("pk")))


class ProductQuerySet(models.QuerySet):
    def published(self) -> "ProductQuerySet":
        """Products customers may see, and buy the variants of (the purchasable rule)."""
        return self.filter(is_published=True)

    def in_stock(self) -> "ProductQuerySet":
        """Products with at least one variant whose stock quantity is above 0."""
        return self.filter(in_stock=True)

    def out_of_stock(self) -> "ProductQuerySet":
        """Products none of whose variants has stock (including products without variants)."""
        return self.filter(in_stock=False)

    def in_category(self, category) -> "ProductQuerySet":
        """Products in `category` or any of its descendants. The subtree's ids are those
        read with the category (`subtree_ids`: categories_with_subtree_ids, as the list's
        filter reads it), or else read from the category table in the same
        statement (a materialized-path prefix); either way a category moved by a committed
        transaction is filtered where it was when the category was read."""
        from storefront.catalog.models import Category

        subtree = getattr(category, "subtree_ids", None)
        if subtree is None:
            subtree = Category.objects.filter(path__startswith=category.path).values("pk")
        # A list of ids is planned as one `= ANY(array)` index condition: about 1 ms less
        # planning per statement than the subquery (measured at 1M products).
        return self.filter(category__in=subtree)

    def price_between(
        self, low=None, high=None, *, membership: str | None = None
    ) -> "ProductQuerySet":
        """Products whose price for a viewer of `membership` (None: anonymous, the list
        price) is within the bounds given (price_condition)."""
        return self.filter(price_condition(low, high, membership=membership))

    def rated_at_least(self, average: Decimal) -> "ProductQuerySet":
        """Products with an approved review whose average rating (`rating_average`, 2
        decimals) is at least `average`; unrated products are left out."""
        return self.filter(rating_average__gte=average)

    def search(self, text: str) -> "ProductQuerySet":
        """Products whose name or description matches `text` (search_query: websearch
        syntax, the last word as a prefix), annotated with `search_rank` (float, higher is a
        better match; name hits outrank description hits) and ordered by it, newest first on
        ties. Matches and ranks read the stored `search_vector` (GIN-indexed)."""
        query = search_query(text)
        return (
            self.filter(search_vector=query)
            .annotate(search_rank=SearchRank(models.F("search_vector"), query))
            .order_by("-search_rank", "-created_at", "-id")
        )


class VariantQuerySet(models.QuerySet):
    def purchasable(self) -> "VariantQuerySet":
        """Variants customers may buy: those of a published product (PURCHASABLE)."""
        return self.filter(PURCHASABLE)
