"""Pages of the product list: the bounded count (`count_is_exact`) and the keyset `cursor`
that `next` and `previous` carry in the default order (catalog/api/pagination.py)."""

import base64
import json

import pytest
from django.db import connection

from storefront.catalog.api.pagination import COUNT_LIMIT
from storefront.catalog.models import Product
from storefront.catalog.tests.factories import CategoryFactory, StockedProductFactory
from storefront.catalog.tests.helpers import LIST_URL, assert_error, ids

pytestmark = pytest.mark.django_db


def flat(pages: list[list[int]]) -> list[int]:
    return [pk for page in pages for pk in page]


def walk(client, url, link="next"):
    """The pages from `url` on, following `link`: a list of lists of ids."""
    pages = []
    while url:
        body = client.get(url).json()
        pages.append([item["id"] for item in body["results"]])
        url = body[link]
    return pages


def test_next_links_walk_every_product_once_newest_first_and_previous_walks_back(api_client):
    products = StockedProductFactory.create_batch(17)
    newest_first = [p.pk for p in reversed(products)]

    pages = walk(api_client, f"{LIST_URL}?page_size=5")

    assert [len(page) for page in pages] == [5, 5, 5, 2]
    assert flat(pages) == newest_first
    body = api_client.get(f"{LIST_URL}?page_size=5").json()
    for _ in range(3):
        body = api_client.get(body["next"]).json()
    assert [item["id"] for item in body["results"]] == newest_first[15:]
    assert walk(api_client, body["previous"], link="previous") == pages[2::-1]


def test_a_cursor_link_keeps_its_place_when_products_are_added_on_top(api_client):
    products = StockedProductFactory.create_batch(6)
    first = api_client.get(LIST_URL, {"page_size": 3}).json()

    StockedProductFactory.create_batch(2)
    second = api_client.get(first["next"]).json()

    assert ids_of(second) == [p.pk for p in reversed(products[:3])]


def ids_of(body) -> list[int]:
    return [item["id"] for item in body["results"]]


def test_cursor_links_keep_the_filters(api_client):
    in_stock = StockedProductFactory.create_batch(4)
    sold_out = StockedProductFactory.create_batch(3)
    for product in sold_out:
        product.variants.update(stock_quantity=0)

    pages = walk(api_client, f"{LIST_URL}?in_stock=false&page_size=2")

    assert flat(pages) == [p.pk for p in reversed(sold_out)]
    assert in_stock


def test_other_orders_page_by_number(api_client):
    StockedProductFactory.create_batch(3)

    body = api_client.get(LIST_URL, {"ordering": "name", "page_size": 2}).json()

    assert body["next"] == "http://testserver/api/products/?ordering=name&page=2&page_size=2"
    assert len(walk(api_client, body["next"])) == 1


def test_a_cursor_with_another_order_is_refused(api_client):
    StockedProductFactory.create_batch(3)
    cursor_link = api_client.get(LIST_URL, {"page_size": 2}).json()["next"]

    response = api_client.get(cursor_link + "&ordering=price")

    error = assert_error(response, 400, "invalid")
    assert list(error["fields"]) == ["cursor"]


def encoded(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "abc",
        "!!!",
        encoded({"page": 2}),
        encoded([1, "a", "2026-01-01T00:00:00+00:00", 5]),
        encoded([2, "x", "2026-01-01T00:00:00+00:00", 5]),
        encoded([2, "a", "2026-01-01T00:00:00", 5]),
        encoded([2, "a", "not a date", 5]),
        encoded([2, "a", "2026-01-01T00:00:00+00:00", 0]),
        encoded([2, "a", "2026-01-01T00:00:00+00:00", 2**63]),
        encoded([2.0, "a", "2026-01-01T00:00:00+00:00", 5]),
        encoded([2, "a", "2026-01-01T00:00:00+00:00", True]),
    ],
)
def test_a_bad_cursor_is_a_400_on_cursor(api_client, cursor):
    error = assert_error(api_client.get(LIST_URL, {"cursor": cursor}), 400, "invalid")
    assert error["fields"] == {"cursor": ["Invalid cursor."]}


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1" * 30, "2"])
def test_a_page_that_does_not_exist_is_a_404(api_client, page):
    StockedProductFactory()

    assert_error(api_client.get(LIST_URL, {"page": page}), 404, "not_found")


def test_a_cursor_page_costs_what_the_first_page_costs(api_client, django_assert_num_queries):
    StockedProductFactory.create_batch(5)
    cursor_link = api_client.get(LIST_URL, {"page_size": 2}).json()["next"]

    with django_assert_num_queries(3):
        assert len(ids(api_client.get(cursor_link))) == 2


def insert_products(count: int) -> None:
    """`count` published products without variants, in one statement."""
    category = CategoryFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO catalog_product
                (name, slug, description, category_id, is_published, tax_class, created_at,
                 updated_at, min_price, in_stock)
            SELECT 'P' || n, 'bulk-' || n, '', %s, true, 'standard', now(), now(), NULL, false
            FROM generate_series(1, %s) AS n
            """,
            [category.pk, count],
        )
        cursor.execute("ANALYZE catalog_product")


def test_a_filtered_count_is_exact_up_to_10000_products(api_client):
    insert_products(COUNT_LIMIT)

    body = api_client.get(LIST_URL, {"in_stock": "false"}).json()

    assert (body["count"], body["count_is_exact"]) == (COUNT_LIMIT, True)


def test_past_10000_products_a_filtered_count_is_an_estimate_and_says_so(api_client):
    insert_products(COUNT_LIMIT + 500)

    body = api_client.get(LIST_URL, {"in_stock": "false"}).json()

    assert body["count_is_exact"] is False
    # The planner's estimate, never below what was counted.
    assert COUNT_LIMIT < body["count"] <= 2 * (COUNT_LIMIT + 500)
    assert Product.objects.count() == COUNT_LIMIT + 500
    # The links do not depend on the count.
    assert "cursor=" in body["next"]
    # Unfiltered, the count is the one the database keeps: exact at any size.
    unfiltered = api_client.get(LIST_URL).json()
    assert (unfiltered["count"], unfiltered["count_is_exact"]) == (COUNT_LIMIT + 500, True)
    assert "cursor=" in unfiltered["next"]
    filtered = api_client.get(LIST_URL, {"search": "p1"}).json()
    assert filtered["count_is_exact"] is True
