from decimal import Decimal

import pytest

from storefront.catalog.api.filters import ProductFilter
from storefront.catalog.models import Product
from storefront.catalog.tests.factories import (
    CategoryFactory,
    CollectionFactory,
    ProductFactory,
    TagFactory,
    VariantFactory,
)
from storefront.catalog.tests.helpers import LIST_URL, assert_error, ids

pytestmark = pytest.mark.django_db


def priced(*prices: str, stock: int = 5, **kwargs):
    """A product with one variant per price, each with `stock` units."""
    product = ProductFactory(**kwargs)
    for price in prices:
        VariantFactory(product=product, price=Decimal(price), stock_quantity=stock)
    return product


def test_category_filter_includes_every_descendant(api_client):
    apparel = CategoryFactory(slug="apparel")
    headware = CategoryFactory(parent=apparel)
    beanies = CategoryFactory(parent=headware)
    groceries = CategoryFactory(slug="groceries")
    in_root = priced("1.00", category=apparel)
    in_child = priced("1.00", category=headware)
    in_grandchild = priced("1.00", category=beanies)
    priced("1.00", category=groceries)

    response = api_client.get(LIST_URL, {"category": "apparel"})

    assert sorted(ids(response)) == sorted([in_root.pk, in_child.pk, in_grandchild.pk])


def test_category_filter_on_a_leaf_leaves_out_siblings_and_parents(api_client):
    apparel = CategoryFactory()
    beanies = CategoryFactory(parent=apparel, slug="beanies")
    caps = CategoryFactory(parent=apparel)
    beanie = priced("1.00", category=beanies)
    priced("1.00", category=caps)
    priced("1.00", category=apparel)

    assert ids(api_client.get(LIST_URL, {"category": "beanies"})) == [beanie.pk]


def test_collection_filter(api_client):
    summer = CollectionFactory(slug="summer-picks")
    picked = priced("1.00")
    picked.collections.add(summer, CollectionFactory())
    priced("1.00").collections.add(CollectionFactory())

    assert ids(api_client.get(LIST_URL, {"collection": "summer-picks"})) == [picked.pk]


def test_tag_filter(api_client):
    cotton = TagFactory(slug="cotton")
    tagged = priced("1.00")
    tagged.tags.add(cotton, TagFactory())
    priced("1.00").tags.add(TagFactory())

    assert ids(api_client.get(LIST_URL, {"tag": "cotton"})) == [tagged.pk]


def test_price_range_filters_on_the_lowest_variant_price(api_client):
    cheap = priced("5.00", "50.00")
    middle = priced("20.00", "30.00")
    priced("45.00")

    response = api_client.get(LIST_URL, {"min_price": "5", "max_price": "25"})

    assert sorted(ids(response)) == sorted([cheap.pk, middle.pk])


def test_price_range_bounds_are_inclusive(api_client):
    exact = priced("20.00")

    assert ids(api_client.get(LIST_URL, {"min_price": "20.00", "max_price": "20"})) == [exact.pk]


def test_in_stock_true_keeps_products_with_a_variant_in_stock(api_client):
    product = ProductFactory()
    VariantFactory(product=product, stock_quantity=0)
    VariantFactory(product=product, stock_quantity=1)
    priced("1.00", stock=0)

    assert ids(api_client.get(LIST_URL, {"in_stock": "true"})) == [product.pk]


def test_in_stock_false_keeps_products_without_stock(api_client):
    priced("1.00", stock=2)
    sold_out = priced("1.00", "2.00", stock=0)

    assert ids(api_client.get(LIST_URL, {"in_stock": "false"})) == [sold_out.pk]


def test_filters_combine(api_client):
    shoes = CategoryFactory(slug="shoes")
    wanted = priced("40.00", category=shoes)
    priced("40.00", category=shoes, stock=0)
    priced("90.00", category=shoes)
    priced("40.00")

    response = api_client.get(
        LIST_URL, {"category": "shoes", "in_stock": "true", "max_price": "50"}
    )

    assert ids(response) == [wanted.pk]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("price", ["b", "c", "a"]),
        ("-price", ["a", "c", "b"]),
        ("name", ["a", "b", "c"]),
        ("-name", ["c", "b", "a"]),
        ("created", ["a", "b", "c"]),
        ("-created", ["c", "b", "a"]),
    ],
)
def test_ordering(api_client, ordering, expected):
    priced("30.00", name="a")
    priced("10.00", "99.00", name="b")
    priced("20.00", name="c")

    results = api_client.get(LIST_URL, {"ordering": ordering}).json()["results"]

    assert [item["name"] for item in results] == expected


def test_ordering_by_several_fields(api_client):
    priced("10.00", name="b")
    priced("10.00", name="a")
    priced("5.00", name="c")

    results = api_client.get(LIST_URL, {"ordering": "-price,name"}).json()["results"]

    assert [item["name"] for item in results] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"min_price": "abc"}, "min_price"),
        ({"max_price": "NaN"}, "max_price"),
        ({"max_price": "Infinity"}, "max_price"),
        ({"min_price": "1e400"}, "min_price"),
        ({"min_price": "1e-16384"}, "min_price"),
        ({"max_price": "1e-16384"}, "max_price"),
        ({"max_price": "-1e-99999"}, "max_price"),
        ({"max_price": "-1e99999"}, "max_price"),
        ({"min_price": "1E+99999"}, "min_price"),
        ({"min_price": "0.001"}, "min_price"),
        ({"max_price": "-1"}, "max_price"),
        ({"category": "no-such-category"}, "category"),
        ({"category": "bad\x00slug"}, "category"),
        ({"category": "not a slug!"}, "category"),
        ({"collection": "nope"}, "collection"),
        ({"tag": "nope"}, "tag"),
        ({"in_stock": "maybe"}, "in_stock"),
        ({"ordering": "bogus"}, "ordering"),
        ({"ordering": "price,-bogus"}, "ordering"),
        ({"search": "x" * 201}, "search"),
        ({"search": "shirt\x00"}, "search"),
    ],
)
def test_bad_filter_values_answer_400_in_the_error_shape(api_client, params, field):
    priced("1.00")

    error = assert_error(api_client.get(LIST_URL, params), 400, "invalid")

    assert field in error["fields"]
    assert error["message"].startswith(f"{field}: ")


def test_huge_min_price_finds_nothing(api_client):
    priced("1.00")

    response = api_client.get(LIST_URL, {"min_price": "1" + "0" * 40})

    assert response.status_code == 200
    assert ids(response) == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1e-16384", "Enter a price such as 25 or 25.50."),
        ("-5", "Enter a price such as 25 or 25.50."),
        ("1E+99999", "Enter a price such as 25 or 25.50."),
        ("0.001", "Enter a price such as 25 or 25.50."),
        ("25.", "Enter a price such as 25 or 25.50."),
    ],
)
def test_a_price_bound_says_what_a_price_looks_like(api_client, value, message):
    error = assert_error(api_client.get(LIST_URL, {"max_price": value}), 400, "invalid")
    assert error["fields"] == {"max_price": [message]}


def test_a_price_bound_is_written_as_prices_are(api_client):
    product = priced("20.00")
    assert ids(api_client.get(LIST_URL, {"min_price": "20", "max_price": "20.0"})) == [product.pk]
    # Exponents are refused, as the schema's pattern says.
    error = assert_error(api_client.get(LIST_URL, {"min_price": "2E1"}), 400, "invalid")
    assert error["fields"] == {"min_price": ["Enter a price such as 25 or 25.50."]}


def test_empty_filter_values_are_ignored(api_client):
    product = priced("1.00")

    params = {"category": "", "min_price": "", "in_stock": "", "ordering": "", "search": " "}
    assert ids(api_client.get(LIST_URL, params)) == [product.pk]


def test_sku_finds_the_product_holding_that_exact_sku(api_client, staff_client):
    wanted = VariantFactory(sku="ABC-1").product
    VariantFactory(sku="ABC-10")
    hidden = VariantFactory(sku="HID-1", product__is_published=False).product

    assert ids(api_client.get(LIST_URL, {"sku": "ABC-1"})) == [wanted.pk]
    assert ids(api_client.get(LIST_URL, {"sku": "abc-1"})) == []
    assert ids(api_client.get(LIST_URL, {"sku": "HID-1"})) == []
    assert ids(staff_client.get(LIST_URL, {"sku": "HID-1"})) == [hidden.pk]
    assert_error(api_client.get(LIST_URL, {"sku": "X" * 65}), 400, "invalid")


def test_filter_sets_share_their_filters_but_no_request_state():
    # ProductFilter shares the class's filters and form class between requests (no deep
    # copy per request): each filter set still filters by its own data only.
    tops, shoes = CategoryFactory(slug="tops"), CategoryFactory(slug="shoes")
    top, shoe = priced("5.00", category=tops), priced("50.00", category=shoes)
    first = ProductFilter({"category": "tops"}, queryset=Product.objects.all())
    second = ProductFilter({"min_price": "20"}, queryset=Product.objects.all())
    unfiltered = ProductFilter({}, queryset=Product.objects.all())

    assert first.is_valid() and second.is_valid() and unfiltered.is_valid()
    assert first.filters is second.filters
    assert list(second.qs) == [shoe]
    assert list(first.qs) == [top]
    assert sorted(p.pk for p in unfiltered.qs) == sorted([top.pk, shoe.pk])
