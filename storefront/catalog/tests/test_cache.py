"""The cached product list and detail: hits cost no query, and no change is ever hidden."""

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import TestCase, override_settings
from prometheus_client import REGISTRY

from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import CartItem
from storefront.catalog import cache, services
from storefront.catalog.tests.factories import (
    CategoryFactory,
    ProductFactory,
    TagFactory,
    VariantFactory,
)
from storefront.catalog.tests.helpers import LIST_URL, detail_url, ids
from storefront.orders.services import cancel_order, place_order

pytestmark = pytest.mark.django_db

CHECKOUT = {"shipping_address": "1 Main St", "billing_address": "1 Main St", "phone_number": "1"}
REAL_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        # The suite's Redis (config/settings/test.py), database 14.
        "LOCATION": settings.REDIS_URL.rsplit("/", 1)[0] + "/14",
    }
}
NO_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        # Nothing listens on port 9 (discard) here: every cache call fails to connect.
        "LOCATION": "redis://127.0.0.1:9/0",
    }
}


def ids_of(body: dict) -> list[int]:
    return [product["id"] for product in body["results"]]


def committed():
    """Run the on-commit callbacks of the writes inside, as their commit would: a test's own
    transaction never commits, and the cache is invalidated on commit."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def buy(variant, quantity: int = 1):
    customer = UserFactory()
    CartItem.objects.create(cart=customer.cart, variant=variant, quantity=quantity)
    with committed():
        order, _ = place_order(customer=customer, **CHECKOUT)
    return order


def test_second_read_is_served_without_a_query(api_client, django_assert_num_queries):
    variant = VariantFactory()

    first = api_client.get(LIST_URL)
    with django_assert_num_queries(0):
        second = api_client.get(LIST_URL)
    detail_miss = api_client.get(detail_url(variant.product_id))
    with django_assert_num_queries(0):
        detail_hit = api_client.get(detail_url(variant.product_id))

    assert second.status_code == 200
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"] == "application/json"
    assert detail_hit.content == detail_miss.content


def test_each_query_string_is_cached_apart(api_client):
    cheap = VariantFactory(price="5.00").product
    dear = VariantFactory(price="50.00").product

    assert ids(api_client.get(LIST_URL, {"max_price": "10"})) == [cheap.pk]
    assert ids(api_client.get(LIST_URL, {"min_price": "10"})) == [dear.pk]
    assert ids(api_client.get(LIST_URL)) == [dear.pk, cheap.pk]


def test_staff_reads_are_never_cached(staff_client, django_assert_max_num_queries):
    VariantFactory(product__is_published=False)
    staff_client.get(LIST_URL)

    with django_assert_max_num_queries(10) as captured:
        response = staff_client.get(LIST_URL)

    assert len(captured) > 0
    assert response.json()["count"] == 1


def test_a_visitor_never_gets_what_staff_saw(api_client, staff_client):
    VariantFactory(product__is_published=False)
    staff_client.get(LIST_URL)

    assert api_client.get(LIST_URL).json()["count"] == 0


def test_browsable_api_pages_are_not_cached(api_client):
    VariantFactory()
    api_client.get(LIST_URL, HTTP_ACCEPT="text/html")

    response = api_client.get(LIST_URL)

    assert response["Content-Type"] == "application/json"


def test_a_product_edit_shows_at_once(api_client, staff_client):
    product = VariantFactory(product__name="Old name").product
    api_client.get(detail_url(product.pk))
    api_client.get(LIST_URL)

    with committed():
        response = staff_client.patch(detail_url(product.pk), {"name": "New name"}, format="json")
    assert response.status_code == 200

    assert api_client.get(detail_url(product.pk)).json()["name"] == "New name"
    assert api_client.get(LIST_URL).json()["results"][0]["name"] == "New name"


def test_an_orm_save_outside_the_services_shows_at_once(api_client):
    variant = VariantFactory(price="10.00")
    api_client.get(detail_url(variant.product_id))

    variant.price = "12.00"
    with committed():
        variant.save()

    assert api_client.get(detail_url(variant.product_id)).json()["price"] == "12.00"


def test_a_tag_added_shows_in_the_tag_filter(api_client):
    product = VariantFactory().product
    tag = TagFactory(slug="linen")
    assert ids(api_client.get(LIST_URL, {"tag": "linen"})) == []

    with committed():
        product.tags.add(tag)

    assert ids(api_client.get(LIST_URL, {"tag": "linen"})) == [product.pk]


def test_a_category_move_shows_in_the_category_filter(api_client):
    home, garden = CategoryFactory(slug="home"), CategoryFactory(slug="garden")
    tools = CategoryFactory(slug="tools", parent=home)
    product = VariantFactory(product__category=tools).product
    assert ids(api_client.get(LIST_URL, {"category": "garden"})) == []

    with committed():
        services.update_category(category=tools, changes={}, parent=garden)

    assert ids(api_client.get(LIST_URL, {"category": "garden"})) == [product.pk]


def test_a_sale_shows_in_the_sold_products_detail_and_list(api_client):
    variant = VariantFactory(stock_quantity=10)
    api_client.get(detail_url(variant.product_id))
    api_client.get(LIST_URL)

    buy(variant, 3)

    detail = api_client.get(detail_url(variant.product_id)).json()
    assert detail["variants"][0]["stock_quantity"] == 7
    assert api_client.get(LIST_URL).json()["results"][0]["variants"][0]["stock_quantity"] == 7


def test_a_sale_keeps_other_products_cached(api_client, django_assert_num_queries):
    sold = VariantFactory(stock_quantity=10)
    other = VariantFactory(stock_quantity=10)
    api_client.get(detail_url(other.product_id))

    buy(sold, 1)

    with django_assert_num_queries(0):
        api_client.get(detail_url(other.product_id))


def test_selling_out_changes_in_stock_counts_of_pages_not_showing_it(api_client):
    last = VariantFactory(stock_quantity=2)
    newer = VariantFactory(stock_quantity=5)
    first_page = {"in_stock": "true", "page_size": "1"}
    response = api_client.get(LIST_URL, first_page).json()
    assert (response["count"], ids_of(response)) == (2, [newer.product_id])

    buy(last, 2)

    response = api_client.get(LIST_URL, first_page).json()
    assert (response["count"], ids_of(response)) == (1, [newer.product_id])


def test_a_cancelled_order_brings_the_product_back(api_client):
    variant = VariantFactory(stock_quantity=1)
    order = buy(variant, 1)
    in_stock = {"in_stock": "true"}
    assert ids(api_client.get(LIST_URL, in_stock)) == []

    with committed():
        cancel_order(order=order, actor=None)

    assert ids(api_client.get(LIST_URL, in_stock)) == [variant.product_id]
    assert api_client.get(detail_url(variant.product_id)).json()["in_stock"] is True


def test_a_response_read_during_a_stock_change_is_not_stored():
    variant = VariantFactory()
    entry, snapshot = cache.lookup("some-request")
    assert entry is None

    with committed():
        cache.invalidate_stock(product_ids=[variant.product_id], availability_changed=False)
    stored = cache.store(
        snapshot, body=b"{}", content_type="application/json", product_ids=[], timeout=60
    )

    assert stored is False
    assert cache.lookup("some-request")[0] is None


def test_demo_catalog_load_invalidates(api_client, tmp_path, settings):
    from storefront.catalog.demo import load_demo_catalog

    settings.MEDIA_ROOT = tmp_path
    assert api_client.get(LIST_URL).json()["count"] == 0

    with committed():
        load_demo_catalog()

    assert api_client.get(LIST_URL).json()["count"] == 32


@override_settings(CACHES=REAL_REDIS)
def test_hits_and_invalidation_on_redis(api_client, django_assert_num_queries):
    redis = caches["default"]
    redis.clear()
    try:
        variant = VariantFactory(stock_quantity=10)
        api_client.get(detail_url(variant.product_id))
        with django_assert_num_queries(0):
            hit = api_client.get(detail_url(variant.product_id))
        assert hit.json()["variants"][0]["stock_quantity"] == 10

        buy(variant, 4)

        assert api_client.get(detail_url(variant.product_id)).json()["in_stock"] is True
        stock = api_client.get(detail_url(variant.product_id)).json()["variants"][0]
        assert stock["stock_quantity"] == 6
    finally:
        redis.clear()


@override_settings(CACHES=NO_REDIS)
def test_without_a_reachable_cache_reads_and_sales_still_work(api_client):
    variant = VariantFactory(stock_quantity=3)

    assert api_client.get(LIST_URL).status_code == 200
    buy(variant, 1)
    response = api_client.get(detail_url(variant.product_id))

    assert response.status_code == 200
    assert response.json()["variants"][0]["stock_quantity"] == 2


def test_cache_off_reads_the_database_every_time(api_client, settings, django_assert_num_queries):
    settings.CATALOG_CACHE_SECONDS = 0
    ProductFactory()
    api_client.get(LIST_URL)

    with django_assert_num_queries(3):
        api_client.get(LIST_URL)


def cache_requests() -> dict[str, float]:
    """storefront_catalog_cache_requests_total by result, in the test process's registry."""
    return {
        result: REGISTRY.get_sample_value(
            "storefront_catalog_cache_requests_total", {"result": result}
        )
        for result in ("hit", "miss", "bypass")
    }


def test_reads_are_counted_as_hit_miss_or_bypass(api_client, staff_client):
    product = VariantFactory().product
    before = cache_requests()

    api_client.get(detail_url(product.pk))
    api_client.get(detail_url(product.pk))
    api_client.get(LIST_URL)
    staff_client.get(LIST_URL)

    after = cache_requests()
    assert {result: after[result] - before[result] for result in after} == {
        "hit": 1,
        "miss": 2,
        "bypass": 1,
    }
