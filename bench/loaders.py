"""Load one generated catalog (bench.catalog) into each system's own tables with COPY.

- Storefront: catalog_* tables (category tree, collections, tags, products, variants, images,
  the two many-to-many tables). Schema from Storefront's migrations.
- Oscar: catalogue_* / partner_* tables. Every product is an Oscar "parent" product whose
  variants are "child" products with one stock record each (Oscar's own variant model); the
  parent keeps the Storefront product id, child i of the catalog gets id N + variant id.
  Oscar has no tags or collections: those are skipped. Schema from Oscar's migrations.
- Floor: one flat table `floor_product`, created here, one row per product (lowest price,
  in-stock flag and category name denormalized).

Each loader empties the catalog tables first (TRUNCATE ... CASCADE: carts and orders of a
previous run go too), streams products once, rebuilds indexes and constraints, resets id
sequences and VACUUMs (ANALYZE): as autovacuum would in time, which sets the visibility map
so that index-only scans read no table page (every system gets the same). It records what it
loaded in `zz_bench_meta`, so a later run with the same size and seed can skip loading; the
record is deleted before the tables are emptied, so an interrupted load is never reused.

Storefront's products carry derived columns (storefront/catalog/models.py, Product): the
loader writes `min_price` and `in_stock` from the generated variants, and PostgreSQL computes
the generated `search_vector` itself. The catalog tables' own triggers (the change log of
migration 0004, the derived columns of migration 0005) are disabled while loading: the
variants' statement triggers would otherwise recompute every product of the COPY in one pass
at its end (and log millions of changes). `derived_mismatches` checks after each load that
the loaded values are those the triggers keep.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import contextmanager

import psycopg

from bench.catalog import Catalog, ProductRow, cents
from bench.copyload import CopySinks, Progress, copy_rows, deferred_indexes, reset_sequences

# 3: Storefront's products carry min_price and in_stock (migration 0005).
GENERATOR_VERSION = 3
ORIGIN = "2024-01-01 00:00:00+00"

Log = Callable[[str], None]


def _ts(product: ProductRow) -> str:
    return product.created_at.isoformat(sep=" ")


def _check_columns(conn: psycopg.Connection, table: str, columns: list[str]) -> None:
    """Fail clearly if the table gained a NOT NULL column without default that isn't loaded."""
    rows = conn.execute(
        """
        SELECT column_name FROM information_schema.columns
        WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL
          AND is_identity = 'NO' AND is_generated = 'NEVER'
        """,
        [table],
    ).fetchall()
    missing = sorted({name for (name,) in rows} - set(columns) - {"id"})
    if missing:
        raise RuntimeError(
            f"{table} has required columns the benchmark loader does not fill: {missing}. "
            "Teach bench/loaders.py about them."
        )


def _ensure_meta(conn: psycopg.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS zz_bench_meta (
            system text PRIMARY KEY, products integer NOT NULL, seed bigint NOT NULL,
            generator integer NOT NULL, seconds double precision NOT NULL,
            rows jsonb NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now())
        """
    )


def loaded_catalog(dsn: str, system: str) -> dict | None:
    """What `load(...)` last recorded for `system` in that database, or None."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        _ensure_meta(conn)
        row = conn.execute(
            "SELECT products, seed, generator, seconds, rows FROM zz_bench_meta WHERE system = %s",
            [system],
        ).fetchone()
    if row is None:
        return None
    return dict(zip(["products", "seed", "generator", "seconds", "rows"], row, strict=True))


def _record(conn, system: str, catalog: Catalog, seconds: float, rows: dict) -> None:
    _ensure_meta(conn)
    conn.execute(
        """
        INSERT INTO zz_bench_meta (system, products, seed, generator, seconds, rows)
        VALUES (%s, %s, %s, %s, %s, %s)
        ON CONFLICT (system) DO UPDATE SET products = EXCLUDED.products, seed = EXCLUDED.seed,
            generator = EXCLUDED.generator, seconds = EXCLUDED.seconds, rows = EXCLUDED.rows,
            loaded_at = now()
        """,
        [system, catalog.products, catalog.seed, GENERATOR_VERSION, seconds, json.dumps(rows)],
    )


def _forget(conn, system: str) -> None:
    """Delete `system`'s record before its tables are emptied: a load that does not finish
    leaves no record, so the next run loads again instead of reusing a partial catalog."""
    _ensure_meta(conn)
    conn.execute("DELETE FROM zz_bench_meta WHERE system = %s", [system])


@contextmanager
def triggers_disabled(conn: psycopg.Connection, tables: list[str]):
    """Disable the user triggers of `tables` (ALTER TABLE ... DISABLE TRIGGER USER: foreign
    keys' internal triggers stay) and enable them again afterwards, also on failure. `conn`
    must be in autocommit mode, so that the other connections of the load see them off."""
    for table in tables:
        conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    try:
        yield
    finally:
        for table in tables:
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def _stream(
    dsn: str, catalog: Catalog, tables: dict[str, list[str]], emit, label: str
) -> dict[str, int]:
    progress = Progress(label, catalog.products)
    with CopySinks(dsn, tables) as sinks:
        for product in catalog.products_iter():
            emit(sinks, product)
            if product.id % 2000 == 0:
                progress.update(product.id)
        progress.update(catalog.products)
    progress.finish()
    return dict(sinks.rows)


# --- Storefront ----------------------------------------------------------------------------

STOREFRONT_TABLES = {
    # search_vector is generated: PostgreSQL computes it from name and description.
    "catalog_product": [
        "id", "created_at", "updated_at", "name", "slug", "description", "is_published",
        "category_id", "min_price", "in_stock", "tax_class", "rating_count", "rating_sum",
    ],
    "catalog_productvariant": [
        "id", "created_at", "updated_at", "sku", "name", "price", "stock_quantity", "attributes",
        "product_id",
    ],
    "catalog_productimage": ["id", "image", "alt", "sort_order", "source", "product_id"],
    "catalog_product_tags": ["id", "product_id", "tag_id"],
    "catalog_product_collections": ["id", "product_id", "collection_id"],
}  # fmt: skip


STOREFRONT_SMALL = ["catalog_category", "catalog_collection", "catalog_tag"]


def load_storefront(dsn: str, catalog: Catalog, *, log: Log = print) -> dict:
    """Load `catalog` into Storefront's catalog tables at `dsn`; return timings and row counts.

    The tables' triggers are off while loading (triggers_disabled) and on again afterwards;
    a loaded `min_price` or `in_stock` that differs from what they compute is a RuntimeError
    (and the load is not recorded).
    """
    started = time.monotonic()
    tables = [*STOREFRONT_TABLES, *STOREFRONT_SMALL]
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table, columns in STOREFRONT_TABLES.items():
            _check_columns(conn, table, columns)
        _forget(conn, "storefront")
        with triggers_disabled(conn, tables):
            rows = _load_storefront_rows(conn, dsn, catalog, log)
        count_products(conn)
        reset_sequences(conn, tables)
        conn.execute("VACUUM (ANALYZE) " + ", ".join(tables))
        # About 5 s at 1M products: a wrong derived column would skew every filtered read.
        mismatches = derived_mismatches(conn)
        if mismatches:
            raise RuntimeError(
                f"{mismatches} loaded products have a min_price or in_stock that differs from "
                "their variants' (or product counts that differ from the products)"
            )
        seconds = time.monotonic() - started
        _record(conn, "storefront", catalog, seconds, rows)
    return {"seconds": round(seconds, 2), "rows": rows}


def count_products(conn: psycopg.Connection) -> None:
    """Write the published and unpublished counts that catalog migration 0009's triggers
    keep (catalog_productcount), which a load with the triggers disabled does not."""
    conn.execute("DELETE FROM catalog_productcount")
    conn.execute(
        "INSERT INTO catalog_productcount (published, products)"
        " SELECT is_published, count(*) FROM catalog_product GROUP BY is_published"
    )


def derived_mismatches(conn: psycopg.Connection) -> int:
    """Products whose `min_price` or `in_stock` differ from what migration 0005's triggers
    compute from the variants (the same expressions as catalog_product_derive), plus 1 for
    each of the product counts (migration 0009) that differs from the products."""
    return conn.execute(
        """
        SELECT (SELECT count(*) FROM catalog_product p
                WHERE p.min_price IS DISTINCT FROM (
                          SELECT min(v.price) FROM catalog_productvariant v
                          WHERE v.product_id = p.id)
                   OR p.in_stock IS DISTINCT FROM EXISTS (
                          SELECT 1 FROM catalog_productvariant v
                          WHERE v.product_id = p.id AND v.stock_quantity > 0))
             + (SELECT count(*) FROM (VALUES (true), (false)) AS flag (published)
                WHERE (SELECT count(*) FROM catalog_product WHERE is_published = flag.published)
                      <> COALESCE((SELECT products FROM catalog_productcount AS c
                                   WHERE c.published = flag.published), 0))
        """
    ).fetchone()[0]


def _load_storefront_rows(conn, dsn: str, catalog: Catalog, log: Log) -> dict[str, int]:
    """Empty the catalog tables and COPY the catalog in; return the rows per product table."""
    conn.execute(
        "TRUNCATE "
        + ", ".join([*STOREFRONT_TABLES, *STOREFRONT_SMALL])
        + " RESTART IDENTITY CASCADE"
    )
    copy_rows(
        conn,
        "catalog_category",
        ["id", "path", "depth", "numchild", "name", "slug", "description"],
        (
            (c.id, c.path, c.depth, c.numchild, c.name, c.slug, f"All {c.name.lower()}.")
            for c in catalog.categories
        ),
    )
    copy_rows(
        conn,
        "catalog_collection",
        ["id", "name", "slug", "description"],
        ((i, name, slug, "") for i, name, slug in catalog.collections),
    )
    copy_rows(conn, "catalog_tag", ["id", "name", "slug"], catalog.tags)
    counters = {"tag": 0, "collection": 0}

    def emit(sinks: CopySinks, p: ProductRow) -> None:
        ts = _ts(p)
        sinks.add(
            "catalog_product",
            (p.id, ts, ts, p.name, p.slug, p.description, p.is_published, p.category_id,
             cents(p.min_price_cents), p.total_stock > 0, "standard", 0, 0),
        )  # fmt: skip
        for v in p.variants:
            attributes = f'{{"size": "{v.size}", "colour": "{v.colour}"}}'
            sinks.add(
                "catalog_productvariant",
                (v.id, ts, ts, v.sku, v.name, cents(v.price_cents), v.stock, attributes, p.id),
            )
        for image in p.images:
            sinks.add(
                "catalog_productimage",
                (image.id, image.path, image.alt, image.sort_order, "", p.id),
            )
        for tag_id in p.tag_ids:
            counters["tag"] += 1
            sinks.add("catalog_product_tags", (counters["tag"], p.id, tag_id))
        for collection_id in p.collection_ids:
            counters["collection"] += 1
            sinks.add("catalog_product_collections", (counters["collection"], p.id, collection_id))

    with deferred_indexes(conn, list(STOREFRONT_TABLES), log=log):
        return _stream(dsn, catalog, STOREFRONT_TABLES, emit, "storefront catalog")


# --- django-oscar --------------------------------------------------------------------------

OSCAR_TABLES = {
    "catalogue_product": [
        "id", "structure", "upc", "title", "slug", "description", "date_created",
        "date_updated", "is_discountable", "parent_id", "product_class_id", "is_public",
        "priority",
    ],
    "catalogue_productcategory": ["id", "category_id", "product_id"],
    "partner_stockrecord": [
        "id", "partner_sku", "price_currency", "price", "num_in_stock", "num_allocated",
        "date_created", "date_updated", "partner_id", "product_id",
    ],
    "catalogue_productimage": [
        "id", "original", "caption", "display_order", "date_created", "product_id",
    ],
}  # fmt: skip
OSCAR_SMALL = ["catalogue_category", "catalogue_productclass", "partner_partner", "address_country"]


def oscar_child_id(catalog: Catalog, variant_id: int) -> int:
    """Oscar product id of the child product that stands for catalog variant `variant_id`."""
    return catalog.products + variant_id


def load_oscar(dsn: str, catalog: Catalog, *, log: Log = print) -> dict:
    """Load `catalog` into Oscar's catalogue and partner tables at `dsn` (parents + children)."""
    started = time.monotonic()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table, columns in OSCAR_TABLES.items():
            _check_columns(conn, table, columns)
        _forget(conn, "oscar")
        conn.execute(
            "TRUNCATE " + ", ".join([*OSCAR_TABLES, *OSCAR_SMALL]) + " RESTART IDENTITY CASCADE"
        )
        copy_rows(
            conn,
            "catalogue_category",
            [
                "id", "path", "depth", "numchild", "name", "description", "slug",
                "ancestors_are_public", "is_public",
            ],
            (
                (c.id, c.path, c.depth, c.numchild, c.name, f"All {c.name.lower()}.", c.slug,
                 True, True)
                for c in catalog.categories
            ),
        )  # fmt: skip
        copy_rows(
            conn,
            "catalogue_productclass",
            ["id", "name", "slug", "requires_shipping", "track_stock"],
            [(1, "Bench goods", "bench-goods", True, True)],
        )
        copy_rows(conn, "partner_partner", ["id", "code", "name"], [(1, "bench", "Bench")])
        copy_rows(
            conn,
            "address_country",
            [
                "iso_3166_1_a2", "iso_3166_1_a3", "iso_3166_1_numeric", "printable_name", "name",
                "display_order", "is_shipping_country",
            ],
            [("US", "USA", "840", "United States", "United States of America", 0, True)],
        )  # fmt: skip
        counters = {"productcategory": 0}

        def emit(sinks: CopySinks, p: ProductRow) -> None:
            ts = _ts(p)
            sinks.add(
                "catalogue_product",
                (p.id, "parent", None, p.name, p.slug, p.description, ts, ts, True, None, 1,
                 p.is_published, 0),
            )  # fmt: skip
            for v in p.variants:
                child_id = oscar_child_id(catalog, v.id)
                sinks.add(
                    "catalogue_product",
                    (child_id, "child", None, v.name, f"{p.slug}-{v.size.lower()}", "", ts, ts,
                     True, p.id, None, True, 0),
                )  # fmt: skip
                sinks.add(
                    "partner_stockrecord",
                    (v.id, v.sku, "USD", cents(v.price_cents), v.stock, 0, ts, ts, 1, child_id),
                )
            counters["productcategory"] += 1
            sinks.add(
                "catalogue_productcategory", (counters["productcategory"], p.category_id, p.id)
            )
            for image in p.images:
                sinks.add(
                    "catalogue_productimage",
                    (image.id, image.path, image.alt, image.sort_order, ts, p.id),
                )

        with deferred_indexes(conn, list(OSCAR_TABLES), log=log):
            rows = _stream(dsn, catalog, OSCAR_TABLES, emit, "oscar catalog")
        reset_sequences(conn, [*OSCAR_TABLES, *OSCAR_SMALL[:3]])
        conn.execute("VACUUM (ANALYZE) " + ", ".join([*OSCAR_TABLES, *OSCAR_SMALL]))
        seconds = time.monotonic() - started
        _record(conn, "oscar", catalog, seconds, rows)
    return {"seconds": round(seconds, 2), "rows": rows}


# --- Framework floor -----------------------------------------------------------------------

FLOOR_COLUMNS = [
    "id", "name", "slug", "description", "category_id", "category_name", "price", "currency",
    "in_stock", "is_published", "created_at", "updated_at",
]  # fmt: skip


def load_floor(dsn: str, catalog: Catalog, *, log: Log = print) -> dict:
    """(Re)create `floor_product`, one denormalized row per catalog product, and load it."""
    started = time.monotonic()
    names = {c.id: c.name for c in catalog.categories}
    with psycopg.connect(dsn, autocommit=True) as conn:
        _forget(conn, "floor")
        conn.execute("DROP TABLE IF EXISTS floor_product")
        conn.execute(
            """
            CREATE TABLE floor_product (
                id bigint PRIMARY KEY, name varchar(255) NOT NULL,
                slug varchar(255) NOT NULL UNIQUE, description text NOT NULL,
                category_id bigint NOT NULL, category_name varchar(255) NOT NULL,
                price numeric(12, 2) NOT NULL, currency varchar(3) NOT NULL,
                in_stock boolean NOT NULL, is_published boolean NOT NULL,
                created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)
            """
        )
        # The list's order (newest first), as Storefront's Product.Meta.ordering.
        conn.execute("CREATE INDEX floor_product_created ON floor_product (created_at, id)")

        def emit(sinks: CopySinks, p: ProductRow) -> None:
            ts = _ts(p)
            sinks.add(
                "floor_product",
                (p.id, p.name, p.slug, p.description, p.category_id, names[p.category_id],
                 cents(p.min_price_cents), "USD", p.total_stock > 0, p.is_published, ts, ts),
            )  # fmt: skip

        with deferred_indexes(conn, ["floor_product"], log=log):
            rows = _stream(dsn, catalog, {"floor_product": FLOOR_COLUMNS}, emit, "floor table")
        conn.execute("VACUUM (ANALYZE) floor_product")
        seconds = time.monotonic() - started
        _record(conn, "floor", catalog, seconds, rows)
    return {"seconds": round(seconds, 2), "rows": rows}


LOADERS = {"storefront": load_storefront, "oscar": load_oscar, "floor": load_floor}
