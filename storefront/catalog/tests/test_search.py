"""Product search on PostgreSQL: full-text, weighted, ranked, served by the GIN index."""

import pytest
from django.db import connection

from storefront.catalog.models import Product
from storefront.catalog.tests.factories import StockedProductFactory
from storefront.catalog.tests.helpers import LIST_URL, ids

pytestmark = pytest.mark.django_db


def names(response) -> list[str]:
    return [item["name"] for item in response.json()["results"]]


def test_search_finds_words_in_name_and_description(api_client):
    by_name = StockedProductFactory(name="Wool Beanie", description="Warm.")
    by_description = StockedProductFactory(name="Winter Hat", description="Made of wool.")
    StockedProductFactory(name="Cotton Tee", description="Light.")

    response = api_client.get(LIST_URL, {"search": "wool"})

    assert sorted(ids(response)) == sorted([by_name.pk, by_description.pk])


def test_search_ranks_name_matches_above_description_matches(api_client):
    # Created first so that newest-first ordering alone would put it last.
    StockedProductFactory(name="Juice", description="Fresh apple juice, cold pressed.")
    StockedProductFactory(name="Green Apple", description="A crisp fruit.")
    StockedProductFactory(name="Banana", description="Goes well with apple.")

    response = api_client.get(LIST_URL, {"search": "apple"})

    assert names(response)[0] == "Green Apple"
    assert set(names(response)) == {"Green Apple", "Juice", "Banana"}


def test_search_matches_word_forms(api_client):
    StockedProductFactory(name="Running Shoes", description="")

    assert names(api_client.get(LIST_URL, {"search": "shoe run"})) == ["Running Shoes"]


def test_search_understands_web_search_syntax(api_client):
    StockedProductFactory(name="Cotton Shirt", description="")
    StockedProductFactory(name="Linen Shirt", description="")

    assert names(api_client.get(LIST_URL, {"search": "shirt -linen"})) == ["Cotton Shirt"]
    assert names(api_client.get(LIST_URL, {"search": '"linen shirt"'})) == ["Linen Shirt"]


def test_search_with_explicit_ordering_uses_that_ordering(api_client):
    StockedProductFactory(name="Apple", description="apple apple apple")
    StockedProductFactory(name="Zebra apple", description="")

    response = api_client.get(LIST_URL, {"search": "apple", "ordering": "-name"})

    assert names(response) == ["Zebra apple", "Apple"]


def test_search_with_odd_input_is_not_an_error(api_client):
    StockedProductFactory(name="Apple")

    for text in ['"', "-", "or or", "!!! & | :*", "the", "'; DROP TABLE x; --"]:
        response = api_client.get(LIST_URL, {"search": text})
        assert response.status_code == 200, text


def test_search_combines_with_filters(api_client):
    StockedProductFactory(name="Apple", is_published=False)
    visible = StockedProductFactory(name="Apple pie")

    assert ids(api_client.get(LIST_URL, {"search": "apple"})) == [visible.pk]


def test_search_query_is_served_by_the_gin_index():
    """search() filters on the stored search_vector column, which its GIN index serves."""
    StockedProductFactory.create_batch(3)
    queryset = Product.objects.search("shirt")
    sql, params = queryset.query.sql_with_params()

    with connection.cursor() as cursor:
        # A handful of rows would be read sequentially anyway; make the planner show whether
        # the index can serve the query at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "catalog_product_search_vector" in plan


def test_search_matches_a_prefix_of_the_last_word_as_the_customer_types(api_client):
    StockedProductFactory(name="Zip Hoodie", description="")
    StockedProductFactory(name="Hood Ornament", description="")
    StockedProductFactory(name="Wool Socks", description="")

    assert sorted(names(api_client.get(LIST_URL, {"search": "hood"}))) == [
        "Hood Ornament",
        "Zip Hoodie",
    ]
    assert names(api_client.get(LIST_URL, {"search": "zip hoo"})) == ["Zip Hoodie"]
    # Only the last word is a prefix: "hoo" alone in front does not match.
    assert names(api_client.get(LIST_URL, {"search": "hoo zip"})) == []
    # The stem of a whole word still matches ("hoodies" -> "hoodi").
    assert names(api_client.get(LIST_URL, {"search": "zip hoodies"})) == ["Zip Hoodie"]
    # A quoted or excluded last word is not a prefix.
    assert names(api_client.get(LIST_URL, {"search": '"zip hoo"'})) == []
    assert names(api_client.get(LIST_URL, {"search": "hood -zip"})) == ["Hood Ornament"]
