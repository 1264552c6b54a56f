"""Chainable product queries: `Product.objects.published().in_stock()`."""

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import models

# PostgreSQL text search configuration of product search: English stemming ("shirts" finds
# "shirt"). An explicit configuration also makes to_tsvector() IMMUTABLE, which the GIN
# expression index requires.
SEARCH_CONFIG = "english"


def product_search_vector() -> SearchVector:
    """The weighted document a product is searched in: name (weight A), description (B).

    Migration 0003_product_search_index indexes this exact expression (GIN); PostgreSQL only
    uses the index when the query repeats it verbatim, so change both together.
    """
    return SearchVector("name", weight="A", config=SEARCH_CONFIG) + SearchVector(
        "description", weight="B", config=SEARCH_CONFIG
    )


class ProductQuerySet(models.QuerySet):
    def published(self) -> "ProductQuerySet":
        """Products customers may see."""
        return self.filter(is_published=True)

    def _in_stock_condition(self) -> models.Exists:
        from storefront.catalog.models import ProductVariant

        return models.Exists(
            ProductVariant.objects.filter(product=models.OuterRef("pk"), stock_quantity__gt=0)
        )

    def in_stock(self) -> "ProductQuerySet":
        """Products with at least one variant whose stock quantity is above 0."""
        return self.filter(self._in_stock_condition())

    def out_of_stock(self) -> "ProductQuerySet":
        """Products none of whose variants has stock (including products without variants)."""
        return self.filter(~self._in_stock_condition())

    def in_category(self, category) -> "ProductQuerySet":
        """Products in `category` or any of its descendants (one indexed prefix match)."""
        return self.filter(category__path__startswith=category.path)

    def with_price(self) -> "ProductQuerySet":
        """Annotate `price`: the lowest variant price (store currency), None without variants.

        A correlated subquery rather than Min() over a join: no GROUP BY, so a page of the
        list only computes the price of the rows it returns, and count() drops it.
        """
        from storefront.catalog.models import ProductVariant

        if "price" in self.query.annotations:
            return self
        lowest = (
            ProductVariant.objects.filter(product=models.OuterRef("pk"))
            .order_by("price")
            .values("price")[:1]
        )
        return self.annotate(
            price=models.Subquery(
                lowest, output_field=models.DecimalField(max_digits=12, decimal_places=2)
            )
        )

    def search(self, text: str) -> "ProductQuerySet":
        """Products whose name or description matches `text`.

        Full-text search (websearch syntax: words, "quoted phrases", -excluded, or) over
        `product_search_vector()`, annotated with `search_rank` (float, higher is a better
        match; name hits outrank description hits) and ordered by it, newest first on ties.
        """
        query = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
        return (
            self.alias(search_document=product_search_vector())
            .filter(search_document=query)
            .annotate(search_rank=SearchRank(product_search_vector(), query))
            .order_by("-search_rank", "-created_at", "-id")
        )
