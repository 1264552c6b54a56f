"""Derived product columns for the catalog's reads: `min_price`, `in_stock`, `search_vector`.

`search_vector` is a stored generated column (GIN-indexed) replacing the expression index of
0003: ranking reads it instead of recomputing to_tsvector for every match.

`min_price` and `in_stock` are kept by two triggers, so that they are exact in the writing
transaction whatever writes (storefront/catalog/models.py, Product):

- catalog_product_derive, BEFORE INSERT OR UPDATE of each product row: sets both from the
  product's variants (two index probes), overriding what the statement wrote;
- catalog_variant_derive_*, AFTER each statement on the variants (transition tables): the
  products whose lowest price or stock flag may have changed (a variant inserted or deleted,
  its price or product changed, its stock moved across zero) are locked FOR NO KEY UPDATE in
  ascending id, then, in a statement that sees what committed meanwhile, those whose stored
  values differ from their variants' are updated (which runs the first trigger). A sale that
  leaves units on the shelf touches no product: one query over the statement's own rows.

Locking before recomputing is what makes concurrent writers exact: two checkouts that sell
the last units of a product's two variants each see the other's sale once they hold the
product, so the last one to commit writes `in_stock = false`. This adds a step to the lock
order of docs/checkout.md (products after their variants, for a statement that changes
their derived values); a deadlock with a staff edit of the same product (product, then
variants) is retried by RetryOnConflictMiddleware.

The existing rows are filled in here, once.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations, models

CREATE = """
CREATE FUNCTION catalog_product_derive() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.min_price := (SELECT min(price) FROM catalog_productvariant WHERE product_id = NEW.id);
    NEW.in_stock := EXISTS (
        SELECT 1 FROM catalog_productvariant WHERE product_id = NEW.id AND stock_quantity > 0
    );
    RETURN NEW;
END $$;

CREATE FUNCTION catalog_refresh_products(product_ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    stale bigint[];
BEGIN
    IF product_ids IS NULL THEN
        RETURN;
    END IF;
    PERFORM 1 FROM catalog_product WHERE id = ANY (product_ids) ORDER BY id FOR NO KEY UPDATE;
    SELECT array_agg(p.id) INTO stale
    FROM catalog_product p
    WHERE p.id = ANY (product_ids)
      AND (p.min_price IS DISTINCT FROM (
               SELECT min(v.price) FROM catalog_productvariant v WHERE v.product_id = p.id)
           OR p.in_stock IS DISTINCT FROM EXISTS (
               SELECT 1 FROM catalog_productvariant v
               WHERE v.product_id = p.id AND v.stock_quantity > 0));
    IF stale IS NOT NULL THEN
        -- The BEFORE trigger computes both columns.
        UPDATE catalog_product SET in_stock = in_stock WHERE id = ANY (stale);
    END IF;
END $$;

CREATE FUNCTION catalog_variant_derive() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    product_ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT product_id) INTO product_ids FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT product_id) INTO product_ids FROM old_rows;
    ELSE
        SELECT array_agg(DISTINCT touched.product_id) INTO product_ids
        FROM new_rows AS new_row
        JOIN old_rows AS old_row ON old_row.id = new_row.id
        CROSS JOIN LATERAL (VALUES (new_row.product_id), (old_row.product_id))
            AS touched (product_id)
        WHERE (new_row.stock_quantity > 0) <> (old_row.stock_quantity > 0)
           OR new_row.price <> old_row.price
           OR new_row.product_id <> old_row.product_id;
    END IF;
    PERFORM catalog_refresh_products(product_ids);
    RETURN NULL;
END $$;

CREATE TRIGGER catalog_product_derive
    BEFORE INSERT OR UPDATE ON catalog_product
    FOR EACH ROW EXECUTE FUNCTION catalog_product_derive();
CREATE TRIGGER catalog_variant_derive_insert
    AFTER INSERT ON catalog_productvariant
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_variant_derive();
CREATE TRIGGER catalog_variant_derive_update
    AFTER UPDATE ON catalog_productvariant
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_variant_derive();
CREATE TRIGGER catalog_variant_derive_delete
    AFTER DELETE ON catalog_productvariant
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_variant_derive();

UPDATE catalog_product SET in_stock = in_stock;
"""

DROP = """
DROP TRIGGER catalog_variant_derive_delete ON catalog_productvariant;
DROP TRIGGER catalog_variant_derive_update ON catalog_productvariant;
DROP TRIGGER catalog_variant_derive_insert ON catalog_productvariant;
DROP TRIGGER catalog_product_derive ON catalog_product;
DROP FUNCTION catalog_variant_derive();
DROP FUNCTION catalog_refresh_products(bigint[]);
DROP FUNCTION catalog_product_derive();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_catalog_change_log"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="in_stock",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddField(
            model_name="product",
            name="min_price",
            field=models.DecimalField(
                decimal_places=2, editable=False, max_digits=12, null=True
            ),
        ),
        migrations.AddField(
            model_name="product",
            name="search_vector",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.contrib.postgres.search.CombinedSearchVector(
                    django.contrib.postgres.search.SearchVector(
                        "name", config="english", weight="A"
                    ),
                    "||",
                    django.contrib.postgres.search.SearchVector(
                        "description", config="english", weight="B"
                    ),
                    django.contrib.postgres.search.SearchConfig("english"),
                ),
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.RunSQL(
            "DROP INDEX catalog_product_search",
            "CREATE INDEX catalog_product_search ON catalog_product USING gin ("
            "(setweight(to_tsvector('english'::regconfig, COALESCE(name, '')), 'A')"
            " || setweight(to_tsvector('english'::regconfig, COALESCE(description, '')), 'B')))",
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                fields=["category", "min_price"],
                include=("in_stock", "is_published"),
                name="catalog_product_browse",
            ),
        ),
        migrations.AddIndex(
            model_name="product",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_vector"], name="catalog_product_search_vector"
            ),
        ),
        migrations.RunSQL(CREATE, DROP),
    ]
