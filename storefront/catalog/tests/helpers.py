"""Small helpers shared by the catalog API tests."""

LIST_URL = "/api/products/"


def detail_url(product_id: int) -> str:
    return f"/api/products/{product_id}/"


def ids(response) -> list[int]:
    """The ids of a paginated list response, in order."""
    return [item["id"] for item in response.json()["results"]]


def assert_error(response, status: int, code: str) -> dict:
    """Assert `response` is an error in the shape of docs/api.md; return its `error` object."""
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["status"] == status
    assert error["code"] == code
    assert error["message"]
    return error


def derived_column_mismatches() -> list[tuple]:
    """The products whose stored `min_price`/`in_stock` (the columns migration 0005's
    triggers keep) differ from what their variants say now, `SELECT min(price),
    bool_or(stock_quantity > 0)` over them: [(id, stored, from variants)], empty when exact.
    Reads what has committed (or the current transaction's own writes)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.id, p.min_price, p.in_stock, v.min_price, v.in_stock
            FROM catalog_product AS p
            CROSS JOIN LATERAL (
                SELECT min(price) AS min_price,
                       coalesce(bool_or(stock_quantity > 0), false) AS in_stock
                FROM catalog_productvariant WHERE product_id = p.id
            ) AS v
            WHERE (p.min_price, p.in_stock) IS DISTINCT FROM (v.min_price, v.in_stock)
            ORDER BY p.id
            """
        )
        return [
            (pk, (price, stocked), (low, any_stock))
            for pk, price, stocked, low, any_stock in cursor.fetchall()
        ]


def assert_derived_columns_exact() -> None:
    """Assert every product's `min_price` and `in_stock` equal the aggregate of its variants."""
    assert derived_column_mismatches() == []
