"""Storage settings of the catalog tables that the cold reads rely on (migration 0008)."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_autovacuum_visits_the_product_table_after_two_percent_of_changes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'catalog_product'")
        [options] = cursor.fetchone()

    assert sorted(options) == [
        "autovacuum_vacuum_insert_scale_factor=0.02",
        "autovacuum_vacuum_scale_factor=0.02",
    ]
