"""The catalog change log (CatalogChange rows written by triggers, migration 0004): what each
write records, which the catalog cache's check turns into invalidations."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from storefront.catalog import tasks
from storefront.catalog.cache import CHANGE_LOG_RETENTION
from storefront.catalog.models import CatalogChange, ProductVariant
from storefront.catalog.tests.factories import ProductFactory, TagFactory, VariantFactory

pytestmark = pytest.mark.django_db

EVERYTHING = None


def changes_of(write) -> list:
    """The product_ids of the rows that `write()` adds to the log, each distinct value once:
    a write that changes a product's derived columns (migration 0005) also writes the
    product row, which logs its own row."""
    before = CatalogChange.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    write()
    changes = []
    for product_ids in (
        CatalogChange.objects.filter(pk__gt=before)
        .order_by("pk")
        .values_list("product_ids", flat=True)
    ):
        if product_ids not in changes:
            changes.append(product_ids)
    return changes


def test_a_sale_names_the_products_sold():
    variant = VariantFactory(stock_quantity=5)
    sold = ProductVariant.objects.filter(pk=variant.pk)

    assert changes_of(lambda: sold.update(stock_quantity=4)) == [[variant.product_id]]


def test_a_variant_running_out_or_coming_back_changes_everything():
    variant = VariantFactory(stock_quantity=1)
    rows = ProductVariant.objects.filter(pk=variant.pk)

    assert changes_of(lambda: rows.update(stock_quantity=0)) == [EVERYTHING]
    assert changes_of(lambda: rows.update(stock_quantity=3)) == [EVERYTHING]


def test_an_update_of_no_row_records_nothing():
    assert changes_of(lambda: ProductVariant.objects.filter(pk=-1).update(price=1)) == []


# A new value for every variant column but the stock (and the timestamps the updates set):
# a column added to the model must be added here and to the trigger's comparison.
CHANGED_COLUMNS = {
    "product": lambda variant: ProductFactory(),
    "sku": lambda variant: "ANOTHER-SKU",
    "name": lambda variant: "Another name",
    "price": lambda variant: variant.price + Decimal("1.00"),
    "attributes": lambda variant: {"Size": "XL"},
    "created_at": lambda variant: variant.created_at - dt.timedelta(days=1),
    "weight_grams": lambda variant: 250,
}


def test_the_log_compares_every_variant_column():
    columns = {field.name for field in ProductVariant._meta.concrete_fields}
    assert columns - {"id", "stock_quantity", "updated_at"} == set(CHANGED_COLUMNS)


@pytest.mark.parametrize("column", sorted(CHANGED_COLUMNS))
def test_any_other_variant_change_changes_everything(column):
    variant = VariantFactory(stock_quantity=5)
    value = CHANGED_COLUMNS[column](variant)
    rows = ProductVariant.objects.filter(pk=variant.pk)

    assert changes_of(lambda: rows.update(**{column: value})) == [EVERYTHING]


def test_writes_to_the_other_catalog_tables_change_everything():
    product = VariantFactory().product
    tag = TagFactory()
    products = type(product).objects.filter(pk=product.pk)

    assert changes_of(lambda: products.update(name="Renamed")) == [EVERYTHING]
    assert changes_of(lambda: product.tags.add(tag)) == [EVERYTHING]
    # A new product with its category: a few statements, each logged.
    assert set(changes_of(ProductFactory)) == {EVERYTHING}


def test_raw_sql_is_logged_too():
    variant = VariantFactory(stock_quantity=5)

    def raw_update():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE catalog_productvariant SET price = price * 2 WHERE id = %s", [variant.pk]
            )

    assert changes_of(raw_update) == [EVERYTHING]


def test_a_row_records_its_transaction():
    variant = VariantFactory(stock_quantity=5)
    ProductVariant.objects.filter(pk=variant.pk).update(stock_quantity=4)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        [xid] = cursor.fetchone()
    assert CatalogChange.objects.order_by("-pk").first().xid == xid


def test_the_hourly_prune_deletes_rows_older_than_the_retention(settings):
    now = timezone.now()
    old = CatalogChange.objects.create(
        xid=1, created_at=now - CHANGE_LOG_RETENTION - dt.timedelta(seconds=1)
    )
    recent = CatalogChange.objects.create(
        xid=1, created_at=now - CHANGE_LOG_RETENTION + dt.timedelta(seconds=5)
    )

    assert tasks.prune_change_log() >= 1

    assert not CatalogChange.objects.filter(pk=old.pk).exists()
    assert CatalogChange.objects.filter(pk=recent.pk).exists()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks.prune_change_log.name in scheduled


def test_a_membership_tier_write_changes_everything():
    """Member prices follow the tiers (catalog migration 0012)."""
    from storefront.pricing.models import MembershipTier
    from storefront.pricing.tests.factories import membership_tiers

    membership_tiers()
    gold = MembershipTier.objects.filter(code="gold")

    assert changes_of(lambda: gold.update(discount_percentage=Decimal("12"))) == [EVERYTHING]
