"""ProductCount: the published and unpublished counts the triggers of migration 0009 keep, and
the unfiltered list that reads them."""

from functools import partial

import pytest
from django.db import connection, transaction

from storefront.catalog import stock
from storefront.catalog.models import Product, ProductCount
from storefront.catalog.selectors import visible_product_count
from storefront.catalog.tests.factories import CategoryFactory, ProductFactory, product_with
from storefront.catalog.tests.helpers import LIST_URL
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db


def counts() -> dict[bool, int]:
    return dict(ProductCount.objects.values_list("published", "products"))


def counted_exactly() -> bool:
    real = {
        published: Product.objects.filter(is_published=published).count()
        for published in (True, False)
    }
    return {key: counts().get(key, 0) for key in (True, False)} == real


def counter_row_version(published: bool) -> str:
    # xmin changes with every write of the row: the same xmin means it was not written.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT xmin::text FROM catalog_productcount WHERE published = %s", [published]
        )
        return cursor.fetchone()[0]


def test_inserts_deletes_and_publishing_keep_the_counts_exact():
    shown = ProductFactory.create_batch(3, is_published=True)
    hidden = ProductFactory(is_published=False)
    Product.objects.bulk_create(
        [Product(name="Bulk", slug=f"bulk-{i}", category=hidden.category) for i in range(4)]
    )
    assert counts() == {True: 7, False: 1}

    Product.objects.filter(pk__in=[shown[0].pk, shown[1].pk]).update(is_published=False)
    hidden.is_published = True
    hidden.save()
    assert counts() == {True: 6, False: 2}

    Product.objects.filter(pk=shown[2].pk).delete()
    Product.objects.filter(is_published=False).delete()
    assert counts() == {True: 5, False: 0}
    assert counted_exactly()


def test_an_update_that_publishes_nothing_does_not_write_the_counter():
    product = product_with(1)
    before = counter_row_version(True)

    Product.objects.filter(pk=product.pk).update(name="Renamed", is_published=True)
    [variant] = product.variants.all()
    stock.sell(lines=[(variant, 1)])  # its last unit: the product's in_stock flips

    product.refresh_from_db()
    assert product.in_stock is False
    assert counter_row_version(True) == before


@pytest.mark.django_db(transaction=True)
def test_truncate_empties_the_counter_and_the_next_insert_counts_again():
    ProductFactory.create_batch(2)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE catalog_product CASCADE")
    assert counts() == {}
    assert visible_product_count(user=None) == 0

    ProductFactory()
    assert counts() == {True: 1}


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_are_all_counted():
    category = CategoryFactory()

    def create(number: int) -> None:
        with transaction.atomic():
            Product.objects.create(name="P", slug=f"p-{number}", category=category)
            Product.objects.create(name="P", slug=f"p-{number}-b", category=category)

    outcomes = run_concurrently([partial(create, number) for number in range(6)])

    assert [outcome.error for outcome in outcomes] == [None] * 6
    assert counts() == {True: 12}


def test_the_unfiltered_list_counts_what_each_user_may_see(api_client, staff_client):
    ProductFactory.create_batch(3)
    ProductFactory(is_published=False)

    anonymous = api_client.get(LIST_URL).json()
    staff = staff_client.get(LIST_URL).json()

    assert (anonymous["count"], anonymous["count_is_exact"]) == (3, True)
    assert (staff["count"], staff["count_is_exact"]) == (4, True)
    assert len(anonymous["results"]) == 3 and len(staff["results"]) == 4
