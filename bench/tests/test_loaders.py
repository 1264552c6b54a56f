"""Loading the generated catalog into Storefront's tables with COPY (real PostgreSQL)."""

import psycopg
import pytest
from django.db import connection

from bench import loaders
from bench.catalog import Catalog
from bench.loaders import derived_mismatches, load_floor, load_storefront, loaded_catalog
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


def _triggers(tables: list[str]) -> dict[tuple[str, str], str]:
    """{(table, trigger): tgenabled} of the user triggers of `tables` ("O": enabled)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger
            WHERE tgrelid = ANY (%s::regclass[]) AND NOT tgisinternal
            """,
            [tables],
        )
        return {(table, name): enabled for table, name, enabled in cursor.fetchall()}


CATALOG_TABLES = [*loaders.STOREFRONT_TABLES, *loaders.STOREFRONT_SMALL]


def _derived() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, min_price, in_stock FROM catalog_product ORDER BY id")
        return cursor.fetchall()


def test_loaded_min_price_and_in_stock_are_what_the_triggers_compute():
    catalog = Catalog(products=300)
    products = list(catalog.products_iter())

    load_storefront(_dsn(), catalog, log=lambda _: None)
    loaded = _derived()
    with connection.cursor() as cursor:
        # Every product row through the BEFORE UPDATE trigger: it recomputes both columns.
        cursor.execute("UPDATE catalog_product SET in_stock = in_stock")
    with psycopg.connect(_dsn()) as conn:
        mismatches = derived_mismatches(conn)

    assert _derived() == loaded
    assert mismatches == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(products) FROM catalog_productcount")
        assert cursor.fetchone()[0] == len(products)
    assert sum(in_stock for _, _, in_stock in loaded) == sum(p.total_stock > 0 for p in products)
    assert not all(in_stock for _, _, in_stock in loaded)  # some products are sold out


def test_a_load_whose_derived_columns_are_wrong_fails_and_is_not_recorded(monkeypatch):
    from bench.catalog import ProductRow

    monkeypatch.setattr(ProductRow, "total_stock", property(lambda product: 0))

    with pytest.raises(RuntimeError, match="min_price or in_stock"):
        load_storefront(_dsn(), Catalog(products=30), log=lambda _: None)
    assert loaded_catalog(_dsn(), "storefront") is None


def test_search_vector_is_computed_by_postgresql_on_load():
    catalog = Catalog(products=50)
    first = next(catalog.products_iter())

    load_storefront(_dsn(), catalog, log=lambda _: None)

    assert not Product.objects.filter(search_vector__isnull=True).exists()
    noun = first.name.split()[-1].lower()
    assert first.id in set(Product.objects.search(noun).values_list("id", flat=True))


def test_triggers_are_on_after_the_load_and_keep_in_stock():
    before = _triggers(CATALOG_TABLES)

    load_storefront(_dsn(), Catalog(products=30), log=lambda _: None)
    product = Product.objects.filter(in_stock=True).first()
    ProductVariant.objects.filter(product=product).update(stock_quantity=0)

    assert _triggers(CATALOG_TABLES) == before
    assert set(before.values()) == {"O"}
    assert len(before) >= len(CATALOG_TABLES)
    product.refresh_from_db()
    assert product.in_stock is False


def test_a_failed_load_turns_the_triggers_back_on_and_leaves_no_record(monkeypatch):
    load_storefront(_dsn(), Catalog(products=20), log=lambda _: None)
    before = _triggers(CATALOG_TABLES)

    def broken(*args, **kwargs):
        raise RuntimeError("generator failed")

    monkeypatch.setattr(loaders, "_stream", broken)
    with pytest.raises(RuntimeError, match="generator failed"):
        load_storefront(_dsn(), Catalog(products=20), log=lambda _: None)

    assert _triggers(CATALOG_TABLES) == before
    assert loaded_catalog(_dsn(), "storefront") is None


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
