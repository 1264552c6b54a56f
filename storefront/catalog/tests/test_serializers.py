from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from storefront.catalog import selectors
from storefront.catalog.api.serializers import ProductSerializer
from storefront.catalog.tests.factories import (
    CollectionFactory,
    ProductFactory,
    ProductImageFactory,
    TagFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("with_request", [True, False])
def test_hand_built_product_json_equals_the_declared_fields(with_request):
    """ProductSerializer.to_representation is written out for speed; it must say exactly
    what its declared fields (and so the OpenAPI schema) say."""
    product = ProductFactory(description="Text")
    VariantFactory(product=product, price=Decimal("7.5"), attributes={"Size": ["S", "M"]})
    VariantFactory(product=product, price=Decimal("3.10"), stock_quantity=0)
    ProductImageFactory.create_batch(2, product=product)
    product.tags.add(TagFactory(), TagFactory())
    product.collections.add(CollectionFactory())
    request = Request(APIRequestFactory().get("/api/products/"))
    context = {"request": request} if with_request else {}
    product = selectors.product_detail(user=AnonymousUser(), product_id=product.pk)
    serializer = ProductSerializer(context=context)

    fast = serializer.to_representation(product)
    generic = serializers.ModelSerializer.to_representation(serializer, product)

    assert fast == dict(generic)
    assert list(fast) == list(generic)


def test_product_without_variants_has_no_price():
    product = selectors.product_detail(user=AnonymousUser(), product_id=ProductFactory().pk)

    data = ProductSerializer(product).data

    assert (data["price"], data["in_stock"], data["variants"]) == (None, False, [])
