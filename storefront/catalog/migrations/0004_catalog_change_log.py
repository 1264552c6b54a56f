"""The catalog change log: triggers record every committed write to the catalog tables.

Each statement that writes a catalog table inserts one catalog_catalogchange row in its own
transaction (statement-level AFTER triggers: a checkout's one UPDATE of its variants adds one
row, and no round trip). The row holds the transaction's id (pg_current_xact_id()), which the
response cache compares with the snapshot of its previous check (pg_visible_in_snapshot) to
find exactly the writes committed since (storefront/catalog/cache.py). A variant UPDATE that
changed only stock, with no variant running out or coming back, names its products; any
other write (prices, names, publishing, images, the tree, collections, tags, new or deleted
rows, TRUNCATE, raw SQL or COPY alike) leaves product_ids NULL: everything may be stale.

pg_current_xact_id needs PostgreSQL 13 or newer.
"""

from django.db import migrations, models

# The tables whose writes may change a cached product list or detail (the variants' UPDATEs
# have a trigger of their own, below).
TABLES = (
    "catalog_category",
    "catalog_collection",
    "catalog_tag",
    "catalog_product",
    "catalog_product_collections",
    "catalog_product_tags",
    "catalog_productimage",
)

CREATE = """
CREATE FUNCTION catalog_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO catalog_catalogchange (xid, product_ids, created_at)
    VALUES (pg_current_xact_id()::text::bigint, NULL, clock_timestamp());
    RETURN NULL;
END $$;

CREATE FUNCTION catalog_log_variant_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Stock alone changed (and updated_at), on the same side of zero for every row: only
    -- the responses showing these products are stale. Every other column is compared by
    -- name (a third of the cost of comparing whole rows as jsonb, on the checkout's path);
    -- a new column shown by the API belongs in this list (test_change_log.py checks it).
    INSERT INTO catalog_catalogchange (xid, product_ids, created_at)
    SELECT pg_current_xact_id()::text::bigint,
           CASE WHEN bool_and(
                    (new_row.stock_quantity > 0) = (old_row.stock_quantity > 0)
                    AND (new_row.product_id, new_row.sku, new_row.name, new_row.price,
                         new_row.attributes, new_row.created_at)
                        IS NOT DISTINCT FROM
                        (old_row.product_id, old_row.sku, old_row.name, old_row.price,
                         old_row.attributes, old_row.created_at))
                THEN to_jsonb(array_agg(DISTINCT new_row.product_id)) END,
           clock_timestamp()
    FROM new_rows AS new_row JOIN old_rows AS old_row ON old_row.id = new_row.id
    HAVING count(*) > 0;
    RETURN NULL;
END $$;

CREATE TRIGGER catalog_log_variant_update
    AFTER UPDATE ON catalog_productvariant
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_log_variant_update();
CREATE TRIGGER catalog_log_change
    AFTER INSERT OR DELETE OR TRUNCATE ON catalog_productvariant
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_log_change();
"""
CREATE_PER_TABLE = """
CREATE TRIGGER catalog_log_change
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_log_change();
"""
DROP = """
DROP TRIGGER catalog_log_variant_update ON catalog_productvariant;
DROP TRIGGER catalog_log_change ON catalog_productvariant;
DROP FUNCTION catalog_log_variant_update();
"""
DROP_PER_TABLE = "DROP TRIGGER catalog_log_change ON {table};"


def create_triggers(apps, schema_editor):
    schema_editor.execute(CREATE)
    for table in TABLES:
        schema_editor.execute(CREATE_PER_TABLE.format(table=table))


def drop_triggers(apps, schema_editor):
    for table in TABLES:
        schema_editor.execute(DROP_PER_TABLE.format(table=table))
    schema_editor.execute(DROP)
    schema_editor.execute("DROP FUNCTION catalog_log_change();")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_product_search_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="CatalogChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("xid", models.BigIntegerField()),
                ("product_ids", models.JSONField(null=True)),
                ("created_at", models.DateTimeField()),
            ],
            options={
                "indexes": [models.Index(fields=["xid"], name="catalog_change_xid")],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
