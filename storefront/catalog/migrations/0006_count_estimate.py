"""catalog_count_estimate(query): the number of rows PostgreSQL's planner expects `query` to
return (EXPLAIN, which plans without running it), for the product list's count past 10,000
matches (storefront/catalog/api/pagination.py). The query text is built by the application
with its parameters quoted by the driver, never taken from a client."""

from django.db import migrations

CREATE = """
CREATE FUNCTION catalog_count_estimate(query text) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric::bigint;
END $$;
"""

DROP = "DROP FUNCTION catalog_count_estimate(text);"


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0005_product_derived_columns"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
