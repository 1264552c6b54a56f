"""The product JSON built by PostgreSQL (catalog/documents.py) says exactly what the fields
ProductSerializer declares (and so the OpenAPI schema) say, computed by DRF from instances."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Prefetch
from django.test import override_settings
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from storefront.catalog.api.serializers import ProductSerializer
from storefront.catalog.documents import product_documents
from storefront.catalog.models import (
    Collection,
    Product,
    ProductImage,
    ProductVariant,
    Tag,
)
from storefront.catalog.tests.factories import (
    CollectionFactory,
    ProductFactory,
    ProductImageFactory,
    TagFactory,
    VariantFactory,
)
from storefront.pricing.models import MembershipTier, TaxClass

pytestmark = pytest.mark.django_db


def declared(product: Product, request, percentage: Decimal | None = None) -> dict:
    """DRF's rendering of the declared fields, from instances loaded with their relations,
    for a viewer whose tier takes `percentage` off (None: an anonymous visitor)."""
    loaded = (
        Product.objects.select_related("category")
        .prefetch_related(
            Prefetch("variants", queryset=ProductVariant.objects.order_by("price", "id")),
            Prefetch("images", queryset=ProductImage.objects.order_by("sort_order", "id")),
            Prefetch("collections", queryset=Collection.objects.order_by("name", "id")),
            Prefetch("tags", queryset=Tag.objects.order_by("name", "id")),
        )
        .get(pk=product.pk)
    )
    context = {"request": request} if request is not None else {}
    if percentage is not None:
        context["percentage"] = percentage
    return ProductSerializer(loaded, context=context).data


def a_full_product() -> Product:
    product = ProductFactory(
        description="Text with “quotes”, é and a\nnewline", tax_class=TaxClass.REDUCED
    )
    VariantFactory(
        product=product,
        price=Decimal("7.5"),
        attributes={"Size": ["S", "M"], "Weight": 1.25, "Organic": True, "Note": None},
    )
    VariantFactory(product=product, price=Decimal("3.10"), stock_quantity=0)
    VariantFactory(product=product, price=Decimal("3.10"), stock_quantity=2)
    ProductImageFactory(product=product, sort_order=2)
    ProductImageFactory(product=product, sort_order=1, alt="Front")
    product.tags.add(TagFactory(name="Zinc"), TagFactory(name="Alpha"))
    product.collections.add(CollectionFactory())
    return product


@pytest.mark.parametrize("with_request", [True, False])
def test_documents_equal_the_declared_fields(with_request):
    product = a_full_product()
    request = Request(APIRequestFactory().get("/api/products/")) if with_request else None

    [document] = product_documents([product.pk], request=request, published_only=True)

    expected = declared(product, request)
    assert document == dict(expected)
    assert list(document) == list(expected)
    assert [list(image) for image in document["images"]] == [["id", "url", "alt"]] * 2


@pytest.mark.parametrize(
    ("membership", "percentage"),
    [
        ("bronze", Decimal("0")),
        ("silver", Decimal("5")),
        ("gold", Decimal("10")),
        ("gold", Decimal("33.33")),
        ("gold", Decimal("100")),
    ],
)
def test_documents_equal_the_declared_fields_at_a_members_prices(membership, percentage):
    product = a_full_product()
    MembershipTier.objects.update_or_create(
        code=membership, defaults={"name": membership, "discount_percentage": percentage}
    )

    [document] = product_documents(
        [product.pk], request=None, published_only=True, membership=membership
    )

    expected = declared(product, None, percentage)
    assert document == dict(expected)
    assert list(document) == list(expected)
    assert [list(variant) for variant in document["variants"]] == [
        list(variant) for variant in expected["variants"]
    ]
    assert document["list_price"] == "3.10"


def test_a_product_without_variants_has_no_price_and_no_stock():
    product = ProductFactory()

    [document] = product_documents([product.pk], request=None, published_only=True)

    assert (document["price"], document["list_price"]) == (None, None)
    assert (document["in_stock"], document["variants"]) == (False, [])
    assert document == dict(declared(product, None))


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC),  # no microseconds: none written
        dt.datetime(2026, 3, 1, 12, 0, 0, 120, tzinfo=dt.UTC),
        dt.datetime(2026, 7, 1, 23, 59, 59, 999999, tzinfo=dt.UTC),
    ],
)
@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/St_Johns", "Asia/Kolkata"])
def test_timestamps_are_written_as_drf_writes_them_in_any_time_zone(moment, zone):
    product = ProductFactory()
    Product.objects.filter(pk=product.pk).update(created_at=moment, updated_at=moment)

    with override_settings(TIME_ZONE=zone), timezone.override(zone):
        [document] = product_documents([product.pk], request=None, published_only=True)
        expected = declared(product, None)

    assert (document["created_at"], document["updated_at"]) == (
        expected["created_at"],
        expected["updated_at"],
    )


@pytest.mark.parametrize(
    "name",
    [
        "products/plain-name_1.jpg",
        "products/with space.jpg",
        "products/ümlaut.png",
        "products/../escape.png",
        "products/./here.png",
        "/products/leading-slash.png",
        "products/what?.png",
        "products/hash#.png",
        "products/percent%20.png",
        "products/colon:x.png",
    ],
)
def test_image_urls_are_what_the_storage_gives_for_any_stored_name(name):
    product = ProductFactory()
    image = ProductImageFactory(product=product)
    ProductImage.objects.filter(pk=image.pk).update(image=name)
    request = Request(APIRequestFactory().get("/api/products/"))

    [document] = product_documents([product.pk], request=request, published_only=True)

    assert document["images"] == declared(product, request)["images"]


def test_another_storage_gets_its_own_urls():
    product = ProductFactory()
    ProductImageFactory(product=product)
    storages = {"default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}

    with override_settings(STORAGES=storages, MEDIA_URL="https://cdn.example/m/"):
        [document] = product_documents([product.pk], request=None, published_only=True)
        expected = declared(product, None)

    assert document["images"][0]["url"].startswith("https://cdn.example/m/")
    assert document["images"] == expected["images"]


def test_documents_keep_the_order_asked_and_leave_out_what_may_not_be_seen():
    first, second = ProductFactory(), ProductFactory()
    hidden = ProductFactory(is_published=False)
    ids = [second.pk, hidden.pk, first.pk, 2**62]

    shown = product_documents(ids, request=None, published_only=True)
    for_staff = product_documents(ids, request=None, published_only=False)

    assert [d["id"] for d in shown] == [second.pk, first.pk]
    assert [d["id"] for d in for_staff] == [second.pk, hidden.pk, first.pk]
    assert product_documents([], request=None, published_only=True) == []
