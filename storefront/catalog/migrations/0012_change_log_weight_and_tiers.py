"""The catalog change log (migration 0004) learns of two more things the catalog shows:

- a variant's weight_grams (0011): a variant UPDATE that changes it is not a stock-only
  change, so catalog_log_variant_update compares it too (test_change_log.py checks that
  every column shown is compared);
- the membership tiers (pricing 0003): a member's prices follow its tier's percentage, so a
  write to pricing_membershiptier logs a change of everything, as a write to a catalog
  table does. The API and admin invalidate after commit as well; the log is what keeps the
  cache right when that process dies after its commit (storefront/catalog/cache.py).
"""

from django.db import migrations

VARIANT_UPDATE = """
CREATE OR REPLACE FUNCTION catalog_log_variant_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- As migration 0004's, with weight_grams among the columns compared.
    INSERT INTO catalog_catalogchange (xid, product_ids, created_at)
    SELECT pg_current_xact_id()::text::bigint,
           CASE WHEN bool_and(
                    (new_row.stock_quantity > 0) = (old_row.stock_quantity > 0)
                    AND (new_row.product_id, new_row.sku, new_row.name, new_row.price,
                         new_row.attributes, new_row.created_at, new_row.weight_grams)
                        IS NOT DISTINCT FROM
                        (old_row.product_id, old_row.sku, old_row.name, old_row.price,
                         old_row.attributes, old_row.created_at, old_row.weight_grams))
                THEN to_jsonb(array_agg(DISTINCT new_row.product_id)) END,
           clock_timestamp()
    FROM new_rows AS new_row JOIN old_rows AS old_row ON old_row.id = new_row.id
    HAVING count(*) > 0;
    RETURN NULL;
END $$;
"""
VARIANT_UPDATE_BEFORE = """
CREATE OR REPLACE FUNCTION catalog_log_variant_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
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
"""
TIERS = """
CREATE TRIGGER catalog_log_change
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pricing_membershiptier
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_log_change();
"""
TIERS_DROP = "DROP TRIGGER catalog_log_change ON pricing_membershiptier;"


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0011_variant_weight"),
        ("pricing", "0003_discounts"),
    ]

    operations = [
        migrations.RunSQL(VARIANT_UPDATE, VARIANT_UPDATE_BEFORE),
        migrations.RunSQL(TIERS, TIERS_DROP),
    ]
