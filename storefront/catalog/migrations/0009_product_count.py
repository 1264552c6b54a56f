"""catalog_productcount: how many products are published and unpublished, kept by triggers.

The unfiltered product list (the shop's front page, and every page of it by its `next` link)
counted its rows on every request: at most 10,001 of them, about 1 ms at 10k products, and an
estimate past that. It now reads one row. The triggers run in the writing transaction, after
each statement on catalog_product (transition tables):

- INSERT adds the new rows, DELETE subtracts the old ones, per `is_published`;
- UPDATE changes the counts only for rows whose `is_published` changed, and when there are
  none (a price edit, the stock flag a sale flips) does not write the counter at all;
- TRUNCATE of catalog_product empties the counter (a missing row counts 0).

Counts are upserted, so a counter table emptied by a test's flush is rebuilt by the next
write. The existing rows are counted here, once.
"""

from django.db import migrations, models

CREATE = """
CREATE FUNCTION catalog_product_count_add(deltas catalog_productcount[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO catalog_productcount (published, products)
    SELECT d.published, d.products FROM unnest(deltas) AS d WHERE d.products <> 0
    ORDER BY d.published
    ON CONFLICT (published)
    DO UPDATE SET products = catalog_productcount.products + EXCLUDED.products;
$$;

CREATE FUNCTION catalog_product_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    deltas catalog_productcount[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM catalog_productcount;
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(ROW(is_published, n)::catalog_productcount) INTO deltas
        FROM (SELECT is_published, count(*) AS n FROM new_rows GROUP BY is_published) AS c;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(ROW(is_published, -n)::catalog_productcount) INTO deltas
        FROM (SELECT is_published, count(*) AS n FROM old_rows GROUP BY is_published) AS c;
    ELSE
        SELECT array_agg(ROW(published, n)::catalog_productcount) INTO deltas
        FROM (
            SELECT changed.published, sum(changed.n) AS n
            FROM new_rows AS new_row
            JOIN old_rows AS old_row ON old_row.id = new_row.id
            CROSS JOIN LATERAL (VALUES (new_row.is_published, 1), (old_row.is_published, -1))
                AS changed (published, n)
            WHERE new_row.is_published <> old_row.is_published
            GROUP BY changed.published
        ) AS c;
    END IF;
    IF deltas IS NOT NULL THEN
        PERFORM catalog_product_count_add(deltas);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER catalog_product_count_insert
    AFTER INSERT ON catalog_product
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_product_count();
CREATE TRIGGER catalog_product_count_update
    AFTER UPDATE ON catalog_product
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_product_count();
CREATE TRIGGER catalog_product_count_delete
    AFTER DELETE ON catalog_product
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_product_count();
CREATE TRIGGER catalog_product_count_truncate
    AFTER TRUNCATE ON catalog_product
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_product_count();

INSERT INTO catalog_productcount (published, products)
SELECT is_published, count(*) FROM catalog_product GROUP BY is_published;
"""

DROP = """
DROP TRIGGER catalog_product_count_truncate ON catalog_product;
DROP TRIGGER catalog_product_count_delete ON catalog_product;
DROP TRIGGER catalog_product_count_update ON catalog_product;
DROP TRIGGER catalog_product_count_insert ON catalog_product;
DROP FUNCTION catalog_product_count();
DROP FUNCTION catalog_product_count_add(catalog_productcount[]);
"""


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0008_product_autovacuum"),
    ]

    operations = [
        migrations.CreateModel(
            name="ProductCount",
            fields=[
                ("published", models.BooleanField(primary_key=True, serialize=False)),
                ("products", models.BigIntegerField()),
            ],
        ),
        migrations.RunSQL(CREATE, reverse_sql=DROP),
    ]
