"""GET /api/products/facets/ on a hand-counted catalog (storefront/catalog/facets.py).

The catalog (price = the lowest variant price; "out" = no variant in stock):

    Apparel                     Gift Card      5.00            -          -
      Bottoms                   Chino         60.00            cotton     winter
      Tops                      Sampler       55.00            cotton     -
        Shirts                  Linen Shirt   40.00            cotton,    winter
                                                               linen
                                Hidden Shirt  30.00 (unpublished) cotton  summer
        Tees                    Cotton Tee    10.00            cotton     summer
                                Wool Tee      25.00 out        wool       summer
    Home
      Kitchen                   Mug           12.00 out        -          summer
"""

from decimal import Decimal

import pytest
from django.test import TestCase

from storefront.catalog import stock
from storefront.catalog.facets import band_width
from storefront.catalog.tests.factories import (
    CategoryFactory,
    CollectionFactory,
    ProductFactory,
    TagFactory,
    VariantFactory,
    product_with,
)
from storefront.catalog.tests.helpers import LIST_URL, assert_error

pytestmark = pytest.mark.django_db

URL = "/api/products/facets/"


def committed():
    """Run the on-commit callbacks (cache invalidation) of the writes inside, as their commit
    would: a test's own transaction never commits."""
    return TestCase.captureOnCommitCallbacks(execute=True)


@pytest.fixture
def catalog():
    apparel = CategoryFactory(name="Apparel", slug="apparel")
    tops = CategoryFactory(parent=apparel, name="Tops", slug="tops")
    bottoms = CategoryFactory(parent=apparel, name="Bottoms", slug="bottoms")
    tees = CategoryFactory(parent=tops, name="Tees", slug="tees")
    shirts = CategoryFactory(parent=tops, name="Shirts", slug="shirts")
    home = CategoryFactory(name="Home", slug="home")
    kitchen = CategoryFactory(parent=home, name="Kitchen", slug="kitchen")
    cotton = TagFactory(name="Cotton", slug="cotton")
    wool = TagFactory(name="Wool", slug="wool")
    linen = TagFactory(name="Linen", slug="linen")
    summer = CollectionFactory(name="Summer", slug="summer")
    winter = CollectionFactory(name="Winter", slug="winter")

    def product(name, category, price, *, stock=5, tags=(), collections=(), published=True):
        made = ProductFactory(name=name, description="", category=category, is_published=published)
        variant = VariantFactory(product=made, price=Decimal(price), stock_quantity=stock)
        # A dearer variant with no stock: the lowest price and any stock are what count.
        VariantFactory(product=made, price=Decimal(price) + 100, stock_quantity=0)
        made.tags.set(tags)
        made.collections.set(collections)
        return variant

    return {
        "gift": product("Gift Card", apparel, "5.00"),
        "chino": product("Chino", bottoms, "60.00", tags=[cotton], collections=[winter]),
        "sampler": product("Sampler", tops, "55.00", tags=[cotton]),
        "linen": product(
            "Linen Shirt", shirts, "40.00", tags=[cotton, linen], collections=[winter]
        ),
        "hidden": product(
            "Hidden Shirt", shirts, "30.00", tags=[cotton], collections=[summer], published=False
        ),
        "tee": product("Cotton Tee", tees, "10.00", tags=[cotton], collections=[summer]),
        "wool": product("Wool Tee", tees, "25.00", stock=0, tags=[wool], collections=[summer]),
        "mug": product("Mug", kitchen, "12.00", stock=0, collections=[summer]),
        "categories": {c.slug: c for c in (apparel, tops, bottoms, tees, shirts, home, kitchen)},
    }


def facets(client, **params) -> dict:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def counts(entries: list[dict]) -> list[tuple[str, int]]:
    return [(entry["slug"], entry["count"]) for entry in entries]


def bands(body: dict) -> list[tuple[str, str, int]]:
    return [(band["min"], band["max"], band["count"]) for band in body["price"]["bands"]]


# --- The whole shape, unfiltered ----------------------------------------------------------


def test_unfiltered_facets_count_every_published_product(api_client, catalog):
    body = facets(api_client)

    apparel, home = catalog["categories"]["apparel"], catalog["categories"]["home"]
    assert body == {
        "count": 7,
        "categories": [
            {"id": apparel.pk, "slug": "apparel", "name": "Apparel", "count": 6},
            {"id": home.pk, "slug": "home", "name": "Home", "count": 1},
        ],
        "collections": [
            {"slug": "summer", "name": "Summer", "count": 3},
            {"slug": "winter", "name": "Winter", "count": 2},
        ],
        "tags": [
            {"slug": "cotton", "name": "Cotton", "count": 4},
            {"slug": "linen", "name": "Linen", "count": 1},
            {"slug": "wool", "name": "Wool", "count": 1},
        ],
        "price": {
            "min": "5.00",
            "max": "60.00",
            "bands": [
                {"min": "0.00", "max": "19.99", "count": 3},
                {"min": "20.00", "max": "39.99", "count": 1},
                {"min": "40.00", "max": "59.99", "count": 2},
                {"min": "60.00", "max": "79.99", "count": 1},
            ],
        },
        "in_stock": {"true": 5, "false": 2},
    }


def test_the_example_of_docs_catalog_md(api_client, catalog):
    body = facets(api_client, category="apparel", tag="cotton")

    tops, bottoms = catalog["categories"]["tops"], catalog["categories"]["bottoms"]
    assert body == {
        "count": 4,
        "categories": [
            {"id": bottoms.pk, "slug": "bottoms", "name": "Bottoms", "count": 1},
            {"id": tops.pk, "slug": "tops", "name": "Tops", "count": 3},
        ],
        "collections": [
            {"slug": "winter", "name": "Winter", "count": 2},
            {"slug": "summer", "name": "Summer", "count": 1},
        ],
        "tags": [
            {"slug": "cotton", "name": "Cotton", "count": 4},
            {"slug": "linen", "name": "Linen", "count": 1},
            {"slug": "wool", "name": "Wool", "count": 1},
        ],
        "price": {
            "min": "10.00",
            "max": "60.00",
            "bands": [
                {"min": "0.00", "max": "19.99", "count": 1},
                {"min": "20.00", "max": "39.99", "count": 0},
                {"min": "40.00", "max": "59.99", "count": 2},
                {"min": "60.00", "max": "79.99", "count": 1},
            ],
        },
        "in_stock": {"true": 4, "false": 0},
    }


def test_staff_count_unpublished_products_too(staff_client, catalog):
    body = facets(staff_client)

    assert body["count"] == 8
    assert counts(body["categories"]) == [("apparel", 7), ("home", 1)]
    assert counts(body["collections"]) == [("summer", 4), ("winter", 2)]
    assert counts(body["tags"])[0] == ("cotton", 5)
    assert bands(body)[1] == ("20.00", "39.99", 2)
    assert body["in_stock"] == {"true": 6, "false": 2}


def test_customers_count_published_products_only(customer_client, catalog):
    assert facets(customer_client)["count"] == 7


# --- Categories ----------------------------------------------------------------------------


def test_a_category_lists_its_children_with_their_descendants(api_client, catalog):
    body = facets(api_client, category="apparel")

    # The gift card is right in Apparel: counted, in no child.
    assert body["count"] == 6
    assert counts(body["categories"]) == [("bottoms", 1), ("tops", 4)]
    tops = catalog["categories"]["tops"]
    assert body["categories"][1] == {"id": tops.pk, "slug": "tops", "name": "Tops", "count": 4}


def test_an_inner_category_lists_its_own_children(api_client, catalog):
    body = facets(api_client, category="tops")

    assert body["count"] == 4  # Sampler (right in Tops), the linen shirt and two tees
    assert counts(body["categories"]) == [("shirts", 1), ("tees", 2)]


def test_a_leaf_category_has_no_category_entries(api_client, catalog):
    body = facets(api_client, category="tees")

    assert (body["count"], body["categories"]) == (2, [])


def test_categories_without_a_product_are_left_out(api_client, catalog):
    body = facets(api_client, in_stock="true")

    # The only product of Home (the mug) is out of stock.
    assert counts(body["categories"]) == [("apparel", 5)]


def test_category_counts_apply_every_other_filter(api_client, catalog):
    body = facets(api_client, category="apparel", tag="cotton", max_price="50")

    assert counts(body["categories"]) == [("tops", 2)]  # the tee and the linen shirt
    assert body["count"] == 2


# --- The drill-down rule: each facet ignores its own filter ---------------------------------


def test_choosing_a_tag_still_counts_the_other_tags(api_client, catalog):
    body = facets(api_client, tag="cotton")

    assert body["count"] == 4
    assert counts(body["tags"]) == [("cotton", 4), ("linen", 1), ("wool", 1)]
    # The other facets are narrowed by the tag.
    assert counts(body["categories"]) == [("apparel", 4)]
    assert counts(body["collections"]) == [("winter", 2), ("summer", 1)]
    assert body["in_stock"] == {"true": 4, "false": 0}


def test_choosing_a_collection_still_counts_the_other_collections(api_client, catalog):
    body = facets(api_client, collection="winter")

    assert body["count"] == 2
    assert counts(body["collections"]) == [("summer", 3), ("winter", 2)]
    assert counts(body["tags"]) == [("cotton", 2), ("linen", 1)]


def test_a_price_range_does_not_narrow_the_price_facet(api_client, catalog):
    unfiltered = facets(api_client)
    body = facets(api_client, min_price="20", max_price="50")

    assert body["count"] == 2  # the wool tee (25) and the linen shirt (40)
    assert body["price"] == unfiltered["price"]
    assert body["in_stock"] == {"true": 1, "false": 1}
    assert counts(body["tags"]) == [("cotton", 1), ("linen", 1), ("wool", 1)]


def test_in_stock_true_still_counts_the_products_out_of_stock(api_client, catalog):
    body = facets(api_client, in_stock="true")

    assert body["count"] == 5
    assert body["in_stock"] == {"true": 5, "false": 2}
    # The price facet keeps the stock filter: the mug (12) and the wool tee (25) are out.
    assert bands(body) == [
        ("0.00", "19.99", 2),
        ("20.00", "39.99", 0),
        ("40.00", "59.99", 2),
        ("60.00", "79.99", 1),
    ]


def test_a_chosen_tag_without_products_is_still_listed(api_client, catalog):
    body = facets(api_client, tag="wool", in_stock="true")

    # The wool tee is out of stock: nothing matches, yet wool stays listed (checked).
    assert body["count"] == 0
    assert counts(body["tags"]) == [("cotton", 4), ("linen", 1), ("wool", 0)]
    assert body["in_stock"] == {"true": 0, "false": 1}


def test_a_chosen_collection_without_products_is_still_listed(api_client, catalog):
    body = facets(api_client, collection="winter", tag="wool")

    assert counts(body["collections"]) == [("summer", 1), ("winter", 0)]


def test_each_facet_entry_counts_what_choosing_it_would_list(api_client, catalog):
    body = facets(api_client, in_stock="true", max_price="50")

    def listed(**params) -> int:
        return api_client.get(LIST_URL, {"in_stock": "true", "max_price": "50", **params}).json()[
            "count"
        ]

    for entry in body["categories"]:
        assert entry["count"] == listed(category=entry["slug"])
    for entry in body["tags"]:
        assert entry["count"] == listed(tag=entry["slug"])
    for entry in body["collections"]:
        assert entry["count"] == listed(collection=entry["slug"])
    for band in body["price"]["bands"]:
        count = api_client.get(
            LIST_URL, {"in_stock": "true", "min_price": band["min"], "max_price": band["max"]}
        ).json()["count"]
        assert band["count"] == count
    for value in ("true", "false"):
        count = api_client.get(LIST_URL, {"in_stock": value, "max_price": "50"}).json()["count"]
        assert body["in_stock"][value] == count


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"category": "apparel"},
        {"category": "tops", "in_stock": "false"},
        {"tag": "cotton", "min_price": "10", "max_price": "55"},
        {"collection": "summer", "in_stock": "1"},
        {"search": "shirt"},
        {"sku": "SKU-NONE"},
        {"min_price": "60"},
        {"max_price": "9.99"},
    ],
)
@pytest.mark.parametrize("client_name", ["api_client", "staff_client"])
def test_count_is_the_product_lists_count(request, catalog, client_name, params):
    client = request.getfixturevalue(client_name)

    assert facets(client, **params)["count"] == client.get(LIST_URL, params).json()["count"]


# --- Prices ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "width"),
    [
        ("5.00", "60.00", "20"),
        ("4.99", "404.99", "100"),
        ("19.99", "20.49", "0.2"),
        ("19.99", "19.99", "0.01"),
        ("0.00", "0.04", "0.01"),
        ("0.00", "0.05", "0.02"),
        ("10.00", "25.00", "5"),
        ("0.00", "9999999999.99", "2000000000"),
    ],
)
def test_band_width_is_the_smallest_round_width_giving_at_most_five_bands(low, high, width):
    assert band_width(Decimal(low), Decimal(high)) == Decimal(width)


def test_bands_tile_the_span_with_empty_bands_between(api_client, catalog):
    body = facets(api_client, search="tee")

    assert body["price"]["min"] == "10.00"
    assert body["price"]["max"] == "25.00"
    assert bands(body) == [
        ("10.00", "14.99", 1),
        ("15.00", "19.99", 0),
        ("20.00", "24.99", 0),
        ("25.00", "29.99", 1),
    ]


def test_one_price_makes_one_band_of_one_cent(api_client, catalog):
    body = facets(api_client, category="bottoms")

    assert body["price"] == {
        "min": "60.00",
        "max": "60.00",
        "bands": [{"min": "60.00", "max": "60.00", "count": 1}],
    }


# --- Search, empty results ---------------------------------------------------------------


def test_search_narrows_every_facet(api_client, catalog):
    body = facets(api_client, search="tee", tag="cotton")

    assert body["count"] == 1
    assert counts(body["tags"]) == [("cotton", 1), ("wool", 1)]
    assert counts(body["categories"]) == [("apparel", 1)]
    assert counts(body["collections"]) == [("summer", 1)]


def test_nothing_matching_answers_zeros_and_no_price(api_client, catalog):
    body = facets(api_client, search="zeppelin")

    assert body == {
        "count": 0,
        "categories": [],
        "collections": [],
        "tags": [],
        "price": {"min": None, "max": None, "bands": []},
        "in_stock": {"true": 0, "false": 0},
    }


def test_an_empty_catalog_has_empty_facets(api_client):
    body = facets(api_client)

    assert body["count"] == 0
    assert body["price"] == {"min": None, "max": None, "bands": []}


def test_a_product_without_variants_counts_in_no_price_band(api_client, catalog):
    product_with(name="Bare", category=catalog["categories"]["home"])

    body = facets(api_client, category="home")

    assert body["count"] == 2
    assert body["price"]["min"] == body["price"]["max"] == "12.00"
    assert sum(band["count"] for band in body["price"]["bands"]) == 1


# --- Parameters and errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"category": "no-such-category"},
        {"collection": "no-such-collection"},
        {"tag": "no-such-tag"},
        {"tag": "not a slug"},
        {"min_price": "abc"},
        {"max_price": "-5"},
        {"min_price": "0.001"},
        {"in_stock": "maybe"},
        {"ordering": "colour"},
        {"search": "a\x00b"},
        {"sku": "x" * 65},
        {"in_stok": "true"},
    ],
)
def test_a_bad_parameter_answers_what_the_list_answers(api_client, catalog, params):
    response = api_client.get(URL, params)
    listed = api_client.get(LIST_URL, params)

    assert_error(response, 400, "invalid")
    assert response.json() == listed.json()


@pytest.mark.parametrize(
    "params",
    [{"ordering": "-price"}, {"page": "7"}, {"page_size": "abc"}, {"page": "", "page_size": "5"}],
)
def test_ordering_and_paging_parameters_are_taken_and_ignored(api_client, catalog, params):
    assert facets(api_client, **params) == facets(api_client)


def test_writes_are_not_allowed(staff_client):
    response = staff_client.post(URL, {}, format="json")

    assert_error(response, 405, "method_not_allowed")


# --- Queries and the cache ------------------------------------------------------------------


def test_facets_cost_five_queries_whatever_the_catalog(
    api_client, catalog, django_assert_num_queries, settings
):
    settings.CATALOG_CACHE_SECONDS = 0
    with django_assert_num_queries(5):
        facets(api_client)
    for n in range(20):
        product = product_with(10, prices=(str(n),), category=catalog["categories"]["tees"])
        product.tags.add(TagFactory())
        product.collections.add(CollectionFactory())
    with django_assert_num_queries(5):
        facets(api_client)


def test_each_slug_filter_adds_its_lookup(api_client, catalog, django_assert_num_queries, settings):
    settings.CATALOG_CACHE_SECONDS = 0
    every_filter = {
        "category": "apparel",
        "collection": "summer",
        "tag": "cotton",
        "min_price": "1",
        "max_price": "100",
        "in_stock": "true",
        "search": "tee",
    }
    with django_assert_num_queries(5 + 3):
        facets(api_client, **every_filter)


def test_nothing_priced_skips_the_bands_query(
    api_client, catalog, django_assert_num_queries, settings
):
    settings.CATALOG_CACHE_SECONDS = 0
    with django_assert_num_queries(4):
        facets(api_client, search="zeppelin")


def test_a_second_read_is_served_from_the_cache(api_client, catalog, django_assert_num_queries):
    first = api_client.get(URL, {"category": "apparel"})
    with django_assert_num_queries(0):
        second = api_client.get(URL, {"category": "apparel"})

    assert second.content == first.content


def test_staff_facets_are_never_cached(staff_client, catalog, django_assert_num_queries):
    facets(staff_client)
    with django_assert_num_queries(5):
        facets(staff_client)


def test_a_sale_that_runs_a_product_out_shows_at_once(api_client, catalog):
    assert facets(api_client, in_stock="true")["count"] == 5
    tee = catalog["tee"]

    with committed():
        stock.sell(lines=[(tee, tee.stock_quantity)])

    body = facets(api_client, in_stock="true")
    assert body["count"] == 4
    assert body["in_stock"] == {"true": 4, "false": 3}


def test_a_sale_that_leaves_stock_keeps_facets_cached(
    api_client, catalog, django_assert_num_queries
):
    first = facets(api_client)
    tee = catalog["tee"]

    with committed():
        stock.sell(lines=[(tee, 1)])

    # No facet counts units: a product still in stock changes no count.
    with django_assert_num_queries(0):
        assert facets(api_client) == first


def test_a_price_edit_shows_at_once(api_client, staff_client, catalog):
    facets(api_client)
    tee = catalog["tee"]

    with committed():
        response = staff_client.patch(
            f"/api/products/{tee.product_id}/",
            {"variants": [{"id": tee.pk, "price": "70.00"}]},
            format="json",
        )
    assert response.status_code == 200, response.content

    body = facets(api_client)
    # The tee now costs 70 (its other variant, left out, is deleted): 5.00 to 70.00.
    assert body["price"]["max"] == "70.00"
    assert bands(body) == [
        ("0.00", "19.99", 2),
        ("20.00", "39.99", 1),
        ("40.00", "59.99", 2),
        ("60.00", "79.99", 2),
    ]
