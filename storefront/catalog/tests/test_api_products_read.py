from decimal import Decimal

import pytest
from django.test import override_settings

from storefront.catalog.tests.factories import (
    CategoryFactory,
    CollectionFactory,
    ProductFactory,
    ProductImageFactory,
    StockedProductFactory,
    TagFactory,
    VariantFactory,
)
from storefront.catalog.tests.helpers import LIST_URL, assert_error, detail_url, ids

pytestmark = pytest.mark.django_db


def rich_product(**kwargs):
    """A product with 3 variants, 2 images, 2 tags and 2 collections."""
    product = ProductFactory(**kwargs)
    for price, stock in (("30.00", 0), ("12.50", 3), ("20.00", 0)):
        VariantFactory(product=product, price=Decimal(price), stock_quantity=stock)
    ProductImageFactory(product=product, sort_order=2, alt="Back")
    ProductImageFactory(product=product, sort_order=1, alt="Front")
    product.tags.add(TagFactory(), TagFactory())
    product.collections.add(CollectionFactory(), CollectionFactory())
    return product


@override_settings(STORE_CURRENCY="EUR")
def test_product_detail_has_the_documented_shape(api_client):
    product = rich_product(name="Blue Shirt", slug="blue-shirt", description="Cotton.")

    body = api_client.get(detail_url(product.pk)).json()

    assert set(body) >= {
        "id",
        "slug",
        "name",
        "description",
        "category",
        "collections",
        "tags",
        "images",
        "price",
        "list_price",
        "currency",
        "in_stock",
        "variants",
        "created_at",
        "updated_at",
    }
    assert (body["id"], body["slug"], body["name"]) == (product.pk, "blue-shirt", "Blue Shirt")
    assert body["category"] == {
        "id": product.category.pk,
        "slug": product.category.slug,
        "name": product.category.name,
    }
    assert {tag["id"] for tag in body["tags"]} == set(product.tags.values_list("id", flat=True))
    assert set(body["collections"][0]) == {"id", "slug", "name"}
    assert body["currency"] == "EUR"
    assert set(body["variants"][0]) == {
        "id",
        "sku",
        "name",
        "price",
        "list_price",
        "stock_quantity",
        "weight_grams",
        "attributes",
    }


def test_product_price_is_the_lowest_variant_price_as_a_string(api_client):
    product = rich_product()

    body = api_client.get(detail_url(product.pk)).json()

    assert body["price"] == "12.50"
    assert [variant["price"] for variant in body["variants"]] == ["12.50", "20.00", "30.00"]


def test_product_is_in_stock_when_any_variant_has_stock(api_client):
    stocked = rich_product()
    sold_out = ProductFactory()
    VariantFactory(product=sold_out, stock_quantity=0)

    assert api_client.get(detail_url(stocked.pk)).json()["in_stock"] is True
    assert api_client.get(detail_url(sold_out.pk)).json()["in_stock"] is False


def test_product_images_have_absolute_urls_in_sort_order(api_client):
    product = rich_product()

    images = api_client.get(detail_url(product.pk)).json()["images"]

    assert [image["alt"] for image in images] == ["Front", "Back"]
    assert all(image["url"].startswith("http://testserver/media/products/") for image in images)
    assert set(images[0]) == {"id", "url", "alt"}


def test_product_list_is_paginated_newest_first(api_client):
    older = StockedProductFactory()
    newer = StockedProductFactory()

    body = api_client.get(LIST_URL).json()

    assert set(body) == {"count", "count_is_exact", "next", "previous", "results"}
    assert (body["count"], body["count_is_exact"]) == (2, True)
    assert [item["id"] for item in body["results"]] == [newer.pk, older.pk]


def test_product_list_pages_hold_24_by_default(api_client):
    StockedProductFactory.create_batch(25)

    body = api_client.get(LIST_URL).json()

    assert len(body["results"]) == 24
    assert "?cursor=" in body["next"]
    second = api_client.get(body["next"]).json()
    assert len(second["results"]) == 1
    assert second["next"] is None
    assert second["previous"] == "http://testserver/api/products/"


def test_product_list_page_size_is_capped_at_100(api_client):
    category = CategoryFactory()
    StockedProductFactory.create_batch(101, category=category)

    body = api_client.get(LIST_URL, {"page_size": "1" + "0" * 20}).json()

    assert len(body["results"]) == 100


@pytest.mark.parametrize("page_size", ["0", "-3", "abc", "null", "2.5", "٣", "1" * 4001])
def test_product_list_refuses_a_page_size_that_is_not_a_whole_number_from_1(api_client, page_size):
    error = assert_error(api_client.get(LIST_URL, {"page_size": page_size}), 400, "invalid")
    assert error["fields"] == {"page_size": ["Send a whole number from 1 up."]}


def test_product_list_page_past_the_end_is_404(api_client):
    StockedProductFactory()

    assert_error(api_client.get(LIST_URL, {"page": 5}), 404, "not_found")


@pytest.mark.parametrize("client_name", ["api_client", "customer_client"])
def test_unpublished_products_are_hidden_from_customers_and_visitors(request, client_name):
    client = request.getfixturevalue(client_name)
    published = StockedProductFactory()
    hidden = StockedProductFactory(is_published=False)

    assert ids(client.get(LIST_URL)) == [published.pk]
    assert_error(client.get(detail_url(hidden.pk)), 404, "not_found")


def test_staff_see_unpublished_products(staff_client):
    published = StockedProductFactory()
    hidden = StockedProductFactory(is_published=False)

    assert ids(staff_client.get(LIST_URL)) == [hidden.pk, published.pk]
    response = staff_client.get(detail_url(hidden.pk))
    assert response.status_code == 200
    assert response.json()["is_published"] is False


def test_products_show_their_tax_class_in_the_list_and_the_detail(api_client):
    standard = StockedProductFactory()
    reduced = StockedProductFactory(tax_class="reduced")

    listed = {item["id"]: item["tax_class"] for item in api_client.get(LIST_URL).json()["results"]}

    assert listed == {standard.pk: "standard", reduced.pk: "reduced"}
    assert api_client.get(detail_url(reduced.pk)).json()["tax_class"] == "reduced"


@pytest.mark.parametrize("product_id", ["999999", "99999999999999999999999999"])
def test_unknown_product_is_404(api_client, product_id):
    assert_error(api_client.get(f"/api/products/{product_id}/"), 404, "not_found")


def test_non_numeric_product_id_is_404_in_the_error_shape(api_client):
    assert_error(api_client.get("/api/products/abc/"), 404, "not_found")


# --- Query budget: the same number of queries whatever the page holds -----------------------

# The bounded count, the page's ids, then the page's JSON built by PostgreSQL.
LIST_QUERIES = 3


@pytest.mark.parametrize("products", [1, 100])
def test_product_list_costs_three_queries_for_1_or_100_products(
    api_client, django_assert_num_queries, products
):
    category = CategoryFactory()
    tags = TagFactory.create_batch(3)
    collections = CollectionFactory.create_batch(2)
    for _ in range(products):
        product = ProductFactory(category=category)
        VariantFactory.create_batch(3, product=product)
        ProductImageFactory.create_batch(2, product=product)
        product.tags.set(tags)
        product.collections.set(collections)

    with django_assert_num_queries(LIST_QUERIES):
        response = api_client.get(LIST_URL, {"page_size": 100})

    assert len(response.json()["results"]) == products


@pytest.mark.parametrize("products", [1, 100])
def test_filtered_product_list_for_staff_costs_the_same_for_1_or_100_products(
    staff_client, django_assert_num_queries, products
):
    category = CategoryFactory()
    for _ in range(products):
        product = ProductFactory(category=category)
        VariantFactory.create_batch(3, product=product, price=Decimal("5.00"))
        ProductImageFactory(product=product)

    # + 1 query: the category looked up by slug.
    with django_assert_num_queries(LIST_QUERIES + 1):
        response = staff_client.get(
            LIST_URL,
            {
                "page_size": 100,
                "category": category.slug,
                "min_price": "1",
                "in_stock": "true",
                "ordering": "-price",
            },
        )

    assert len(response.json()["results"]) == products


def test_product_detail_costs_one_query(api_client, django_assert_num_queries):
    product = rich_product()

    with django_assert_num_queries(1):
        response = api_client.get(detail_url(product.pk))

    assert response.status_code == 200
