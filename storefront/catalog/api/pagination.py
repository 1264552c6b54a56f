"""Pages of the product list: a bounded count, and keyset links in the default order.

A list page answers `{"count", "count_is_exact", "next", "previous", "results"}`
(docs/catalog.md, "The product list"):

- `count` is exact up to COUNT_LIMIT (10,000) matching products: counting stops there (a
  count of every match of a large catalog is what made the list slow). Past it, `count` is
  PostgreSQL's planner estimate of the whole result (never below COUNT_LIMIT + 1) and
  `count_is_exact` is false. The unfiltered list passes its exact count instead
  (selectors.visible_product_count), whatever its size.
- `next` and `previous` never depend on the count: the page reads one row more than it shows,
  so `next` is null exactly on the last page.
- In the default order (newest first: no `ordering`, no `search`), `next` and `previous`
  carry a `cursor`: the page number and the (created_at, id) of the row the page continues
  from, so that reading page 40,000 by its `next` link costs what page 2 does (an index range
  instead of an OFFSET over every row before it). `?page=N` alone still works in every
  order, with an OFFSET.
"""

import base64
import binascii
import datetime as dt
import json

from django.db import connection
from django.db.models import Q, QuerySet
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from storefront.core.api.pagination import PageNumberPagination

# Counting stops after this many matches (the "exact for result sets under 10,000").
COUNT_LIMIT = 10_000

COUNT_SQL = """
SELECT counted.n,
       CASE WHEN counted.n > %s THEN catalog_count_estimate(%s) END
FROM (SELECT count(*) AS n FROM ({bounded}) AS bounded) AS counted
"""

AFTER, BEFORE = "a", "b"


def bounded_count(queryset: QuerySet, limit: int | None = None) -> tuple[int, bool]:
    """(count, exact) of `queryset`'s rows in one query: the exact count when at most
    `limit` (COUNT_LIMIT by default), else (max(planner estimate, limit + 1), False). The
    estimate is the row count EXPLAIN predicts for the whole query (catalog_count_estimate,
    migration 0006)."""
    limit = COUNT_LIMIT if limit is None else limit
    rows = queryset.order_by().values("pk")
    bounded_sql, bounded_params = rows[: limit + 1].query.sql_with_params()
    full_sql, full_params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        estimate_sql = connection.ops.compose_sql(full_sql, full_params)
        cursor.execute(
            COUNT_SQL.format(bounded=bounded_sql), [limit, estimate_sql, *bounded_params]
        )
        count, estimate = cursor.fetchone()
    if count <= limit:
        return count, True
    return max(estimate or 0, limit + 1), False


class Cursor:
    """A position in the default order: page `page` starts right after (AFTER) or ends
    right before (BEFORE) the product (`created_at`, `id`).

    Written in a URL as unpadded URL-safe base64 of the JSON [page, "a"|"b", created_at
    ISO 8601, id]; anything else read back is a 400 on `cursor`.
    """

    def __init__(self, page: int, direction: str, created_at: dt.datetime, pk: int):
        self.page, self.direction, self.created_at, self.pk = page, direction, created_at, pk

    def encode(self) -> str:
        raw = json.dumps(
            [self.page, self.direction, self.created_at.isoformat(), self.pk],
            separators=(",", ":"),
        )
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            page, direction, created_at, pk = json.loads(raw)
            created_at = dt.datetime.fromisoformat(created_at)
            valid = (
                type(page) is int
                and 1 < page < 2**31
                and direction in (AFTER, BEFORE)
                and type(pk) is int
                and 0 < pk < 2**63
                and created_at.tzinfo is not None
            )
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            valid = False
        if not valid:
            raise exceptions.ValidationError({"cursor": ["Invalid cursor."]})
        return cls(page, direction, created_at, pk)

    def filter(self, queryset: QuerySet) -> QuerySet:
        """The rows of `queryset` (in the default order) on this cursor's side, nearest
        first: after it, newest first; before it, oldest first."""
        when, pk = self.created_at, self.pk
        if self.direction == AFTER:
            # created_at <= when bounds the index range; the OR only drops the few rows of
            # the same instant.
            return queryset.filter(
                Q(created_at__lt=when) | Q(created_at=when, pk__lt=pk), created_at__lte=when
            ).order_by("-created_at", "-pk")
        return queryset.filter(
            Q(created_at__gt=when) | Q(created_at=when, pk__gt=pk), created_at__gte=when
        ).order_by("created_at", "pk")


class ProductPagination(PageNumberPagination):
    """`?page=N&page_size=M` (24 a page, at most 100), and `?cursor=` in the default order:
    see the module docstring. A page past the end is a 404, as before."""

    cursor_query_param = "cursor"

    def paginate_queryset(
        self, queryset: QuerySet, request, view=None, *, count: int | None = None
    ) -> list[int]:
        """The ids of the products on the requested page, in order (two queries: the
        bounded count and the page's ids with the (created_at) each page link needs).

        `count`: the exact number of `queryset`'s rows when the caller knows it (the
        unfiltered list: selectors.visible_product_count), instead of the bounded count."""
        self.request = request
        size = self.get_page_size(request)
        raw_cursor = request.query_params.get(self.cursor_query_param)
        # Keyset links only in the default order (Product.Meta.ordering: -created_at, -id).
        self.keyset = not queryset.query.order_by
        cursor = Cursor.decode(raw_cursor) if raw_cursor else None
        if cursor is not None and not self.keyset:
            raise exceptions.ValidationError(
                {self.cursor_query_param: ["A cursor only follows the default order."]}
            )
        if count is None:
            self.count, self.count_is_exact = bounded_count(queryset)
        else:
            self.count, self.count_is_exact = count, True
        if cursor is not None:
            self.number, source, start = cursor.page, cursor.filter(queryset), 0
        else:
            self.number = self._page_number(request)
            source, start = queryset, (self.number - 1) * size
        rows = list(source.values_list("pk", "created_at")[start : start + size + 1])
        if cursor is not None and cursor.direction == BEFORE:
            # The page it ends before exists: there is a next page.
            self.has_next = True
            rows = rows[:size][::-1]
        else:
            self.has_next = len(rows) > size
            rows = rows[:size]
        if not rows and self.number > 1:
            raise exceptions.NotFound("Invalid page.")
        self.rows = rows
        return [pk for pk, _ in rows]

    def _page_number(self, request) -> int:
        raw = request.query_params.get(self.page_query_param) or "1"
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and 1 <= int(raw) < 2**31):
            raise exceptions.NotFound("Invalid page.")
        return int(raw)

    def get_paginated_response(self, data) -> Response:
        return Response(
            {
                "count": self.count,
                "count_is_exact": self.count_is_exact,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        url = self.request.build_absolute_uri()
        if self.keyset:
            pk, created_at = self.rows[-1]
            token = Cursor(self.number + 1, AFTER, created_at, pk).encode()
            return replace_query_param(
                remove_query_param(url, self.page_query_param), self.cursor_query_param, token
            )
        return replace_query_param(url, self.page_query_param, self.number + 1)

    def get_previous_link(self) -> str | None:
        if self.number <= 1:
            return None
        url = remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)
        if self.number == 2:
            return remove_query_param(url, self.page_query_param)
        if self.keyset and self.rows:
            pk, created_at = self.rows[0]
            token = Cursor(self.number - 1, BEFORE, created_at, pk).encode()
            return replace_query_param(
                remove_query_param(url, self.page_query_param), self.cursor_query_param, token
            )
        return replace_query_param(url, self.page_query_param, self.number - 1)

    def get_paginated_response_schema(self, schema: dict) -> dict:
        response = super().get_paginated_response_schema(schema)
        response["required"] = ["count", "count_is_exact", "results"]
        response["properties"] = {
            "count": response["properties"]["count"],
            "count_is_exact": {
                "type": "boolean",
                "description": f"False when more than {COUNT_LIMIT:,} products match: "
                "`count` is then an estimate.",
            },
            **{k: v for k, v in response["properties"].items() if k != "count"},
        }
        return response

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "A position in the default order, as the `next` and "
                "`previous` links carry it; not for other orders.",
                "schema": {"type": "string"},
            },
        ]
