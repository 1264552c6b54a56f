"""The product list and detail show `rating` from the product row: no query added, the
pinned budgets hold; `ordering=rating`/`-rating` and `min_rating` on the list."""

import pytest

from storefront.catalog.tests.factories import (
    CategoryFactory,
    ProductFactory,
    ProductImageFactory,
    VariantFactory,
)
from storefront.catalog.tests.helpers import LIST_URL, detail_url
from storefront.reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db

# As storefront/catalog/tests/test_api_products_read.py pins them.
LIST_QUERIES = 3
DETAIL_QUERIES = 1


def rated(*ratings: int, **fields):
    product = ProductFactory(**fields)
    VariantFactory(product=product)
    for rating in ratings:
        ReviewFactory(product=product, rating=rating)
    ReviewFactory(product=product, rating=1, status="pending")  # Never counted.
    return product


@pytest.mark.parametrize("products", [1, 50])
def test_the_list_shows_ratings_in_its_three_queries(
    api_client, django_assert_num_queries, products
):
    category = CategoryFactory()
    made = [rated(5, 4, category=category) for _ in range(products)]
    ProductImageFactory(product=made[0])

    with django_assert_num_queries(LIST_QUERIES):
        body = api_client.get(LIST_URL, {"page_size": 100}).json()

    assert [product["rating"] for product in body["results"]] == [
        {"average": "4.50", "count": 2}
    ] * products


def test_the_detail_shows_the_rating_in_its_one_query(api_client, django_assert_num_queries):
    product = rated(5, 5, 4)

    with django_assert_num_queries(DETAIL_QUERIES):
        body = api_client.get(detail_url(product.pk)).json()

    assert body["rating"] == {"average": "4.67", "count": 3}
    assert list(body).index("rating") == list(body).index("tax_class") + 1


def test_an_unrated_product_has_no_average(api_client):
    product = rated()

    assert api_client.get(detail_url(product.pk)).json()["rating"] == {
        "average": None,
        "count": 0,
    }


@pytest.fixture
def catalog():
    """Products by name: A 4.50, B 3.00, C unrated, D 5.00, E 4.50 (newer than A)."""
    category = CategoryFactory()
    return {
        "A": rated(5, 4, category=category, name="A"),
        "B": rated(3, category=category, name="B"),
        "C": rated(category=category, name="C"),
        "D": rated(5, category=category, name="D"),
        "E": rated(4, 5, category=category, name="E"),
    }


def names(api_client, **params) -> list[str]:
    response = api_client.get(LIST_URL, params)
    assert response.status_code == 200, response.json()
    return [product["name"] for product in response.json()["results"]]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("-rating", ["D", "E", "A", "B", "C"]),
        ("rating", ["B", "E", "A", "D", "C"]),
        ("-rating,name", ["D", "A", "E", "B", "C"]),
    ],
)
def test_the_list_orders_by_rating_unrated_last(api_client, catalog, ordering, expected):
    assert names(api_client, ordering=ordering) == expected


@pytest.mark.parametrize(
    ("bound", "expected"),
    [("4.5", {"A", "D", "E"}), ("4.51", {"D"}), ("0", {"A", "B", "D", "E"}), ("5", {"D"})],
)
def test_min_rating_bounds_the_average(api_client, catalog, bound, expected):
    assert set(names(api_client, min_rating=bound)) == expected


def test_min_rating_combines_with_ordering_and_paging(api_client, catalog):
    body = api_client.get(
        LIST_URL, {"min_rating": "3", "ordering": "-rating", "page_size": 2}
    ).json()

    assert [p["name"] for p in body["results"]] == ["D", "E"]
    assert (body["count"], body["next"] is not None) == (4, True)


@pytest.mark.parametrize("bound", ["5.5", "6", "-1", "4.555", "abc", "1e0"])
def test_a_bad_min_rating_is_a_400(api_client, catalog, bound):
    response = api_client.get(LIST_URL, {"min_rating": bound})

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["min_rating"]
