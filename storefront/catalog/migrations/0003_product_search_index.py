"""GIN index for product search.

The indexed expression must be the one ProductQuerySet.search() filters on
(storefront.catalog.querysets.product_search_vector): PostgreSQL only uses an expression
index for a query that repeats the expression exactly. It is written out here, not imported,
so this migration keeps building the same index whatever the code becomes;
storefront/catalog/tests/test_search.py checks that the two still match.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

INDEX_NAME = "catalog_product_search"


def search_index() -> GinIndex:
    return GinIndex(
        SearchVector("name", weight="A", config="english")
        + SearchVector("description", weight="B", config="english"),
        name=INDEX_NAME,
    )


def create_search_index(apps, schema_editor):
    schema_editor.add_index(apps.get_model("catalog", "Product"), search_index())


def drop_search_index(apps, schema_editor):
    schema_editor.remove_index(apps.get_model("catalog", "Product"), search_index())


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_indexes"),
    ]

    operations = [
        migrations.RunPython(create_search_index, drop_search_index),
    ]
