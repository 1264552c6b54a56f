"""The purchasable rule (catalog/querysets.py): its ORM, SQL and in-memory forms agree."""

import pytest
from django.db import connection

from storefront.catalog.models import Product, ProductVariant
from storefront.catalog.querysets import purchasable_sql
from storefront.catalog.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def variants() -> list[ProductVariant]:
    # Stock plays no part: an out-of-stock variant of a published product is on sale.
    return [
        VariantFactory(product__is_published=True),
        VariantFactory(product__is_published=True, stock_quantity=0),
        VariantFactory(product__is_published=False),
        VariantFactory(product__is_published=False, stock_quantity=0),
    ]


def test_a_variant_is_purchasable_when_its_product_is_published(variants):
    assert [variant.is_purchasable for variant in variants] == [True, True, False, False]


def test_the_queryset_the_sql_and_the_model_agree(variants):
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT variant.id FROM {quote(ProductVariant._meta.db_table)} AS variant "
            f"JOIN {quote(Product._meta.db_table)} AS product ON product.id = variant.product_id "
            f"WHERE {purchasable_sql(product='product')}"
        )
        by_sql = {variant_id for (variant_id,) in cursor.fetchall()}

    by_queryset = set(ProductVariant.objects.purchasable().values_list("pk", flat=True))
    by_model = {variant.pk for variant in variants if variant.is_purchasable}
    by_products = set(
        ProductVariant.objects.filter(product__in=Product.objects.published()).values_list(
            "pk", flat=True
        )
    )
    assert by_sql == by_queryset == by_model == by_products == {v.pk for v in variants[:2]}
