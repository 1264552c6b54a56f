"""Autovacuum visits catalog_product after 2 % of its rows changed or were inserted, not 20 %.

The list's count, the facets and the deep pages read `catalog_product_browse` and
`catalog_product_pub_new` with index-only scans, which skip the table only for pages the
visibility map marks all-visible; a write (a sale that empties a product, a staff edit)
clears its page's mark until the next vacuum. With PostgreSQL's defaults a 1M-product
catalog waited for 200,000 changed rows; now 20,000 (docs/deployment.md, "PostgreSQL").
"""

from django.db import migrations

SETTINGS = ("autovacuum_vacuum_scale_factor", "autovacuum_vacuum_insert_scale_factor")


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0007_browse_index_includes_id"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE catalog_product SET ("
            + ", ".join(f"{name} = 0.02" for name in SETTINGS)
            + ")",
            reverse_sql="ALTER TABLE catalog_product RESET (" + ", ".join(SETTINGS) + ")",
        ),
    ]
