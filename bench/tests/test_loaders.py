"""Loading the generated catalog into Storefront's tables with COPY (real PostgreSQL)."""

import psycopg
import pytest
from django.db import connection

from bench.catalog import Catalog
from bench.loaders import load_floor, load_storefront, loaded_catalog
from storefront.catalog.models import Category, Product, ProductVariant

pytestmark = pytest.mark.django_db(transaction=True)


def _dsn() -> str:
    settings = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        dbname=settings["NAME"],
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"] or "postgres",
        password=settings["PASSWORD"] or None,
    )


def _indexes(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
        return {row[0] for row in cursor.fetchall()}


def _constraints(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass", [table])
        return {row[0] for row in cursor.fetchall()}


def test_loaded_category_tree_is_valid_for_treebeard():
    load_storefront(_dsn(), Catalog(products=50), log=lambda _: None)

    assert Category.objects.count() == 216
    assert all(problems == [] for problems in Category.objects.find_problems())


def test_every_generated_product_and_variant_is_loaded():
    catalog = Catalog(products=300)
    products = list(catalog.products_iter())

    load_storefront(_dsn(), catalog, log=lambda _: None)

    assert Product.objects.count() == 300
    assert ProductVariant.objects.count() == sum(len(p.variants) for p in products)
    assert Product.objects.published().count() == sum(p.is_published for p in products)


def test_products_of_a_root_category_are_found_through_its_descendants():
    catalog = Catalog(products=300)
    load_storefront(_dsn(), catalog, log=lambda _: None)
    root = Category.objects.get(path="0001")
    root_leaves = {c.id for c in catalog.categories if c.path.startswith("0001") and c.depth == 3}

    expected = sum(p.category_id in root_leaves for p in catalog.products_iter())

    assert Product.objects.in_category(root).count() == expected > 0


def test_loading_keeps_every_index_and_constraint():
    tables = ["catalog_product", "catalog_productvariant", "catalog_productimage"]
    before = {t: (_indexes(t), _constraints(t)) for t in tables}

    load_storefront(_dsn(), Catalog(products=20), log=lambda _: None)

    assert {t: (_indexes(t), _constraints(t)) for t in tables} == before


def test_ids_continue_after_the_loaded_rows():
    load_storefront(_dsn(), Catalog(products=20), log=lambda _: None)
    category = Category.objects.get(path="000100010001")

    product = Product.objects.create(name="New", slug="new-after-load", category=category)

    assert product.id == 21


def test_reloading_replaces_the_catalog_instead_of_adding_to_it():
    load_storefront(_dsn(), Catalog(products=40), log=lambda _: None)

    load_storefront(_dsn(), Catalog(products=25), log=lambda _: None)

    assert Product.objects.count() == 25
    assert loaded_catalog(_dsn(), "storefront")["products"] == 25


def test_floor_table_has_one_row_per_product_with_its_lowest_price():
    catalog = Catalog(products=30)
    load_floor(_dsn(), catalog, log=lambda _: None)
    first = next(catalog.products_iter())

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), min(price) FILTER (WHERE id = 1) FROM floor_product")
        count, price = cursor.fetchone()
        cursor.execute("DROP TABLE floor_product")

    assert count == 30
    assert price * 100 == first.min_price_cents
