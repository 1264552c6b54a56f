import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from storefront.accounts.models import User
from storefront.catalog.models import Category, Product, ProductImage
from storefront.catalog.tests.factories import (
    CategoryFactory,
    CollectionFactory,
    ProductImageFactory,
    StockedProductFactory,
    TagFactory,
    VariantFactory,
)
from storefront.catalog.tests.image_files import PHP, image_bytes, png_bomb, png_with_idat

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("admin@example.com", "pw-for-tests-only"))
    return client


@pytest.fixture
def catalog(db):
    root = CategoryFactory(name="Apparel")
    product = StockedProductFactory(category=CategoryFactory(parent=root))
    product.tags.add(TagFactory())
    product.collections.add(CollectionFactory())
    ProductImageFactory(product=product)
    return product


@pytest.mark.parametrize(
    "path",
    [
        "/admin/catalog/category/",
        "/admin/catalog/category/add/",
        "/admin/catalog/product/",
        "/admin/catalog/product/?is_published__exact=1&o=3",
        "/admin/catalog/product/?q=product",
        "/admin/catalog/product/add/",
        "/admin/catalog/productvariant/",
        "/admin/catalog/collection/",
        "/admin/catalog/tag/",
    ],
)
def test_admin_pages_open(admin_client, catalog, path):
    assert admin_client.get(path).status_code == 200


def test_admin_product_change_page_opens(admin_client, catalog):
    assert admin_client.get(f"/admin/catalog/product/{catalog.pk}/change/").status_code == 200


def test_admin_category_change_page_opens(admin_client, catalog):
    response = admin_client.get(f"/admin/catalog/category/{catalog.category.pk}/change/")

    assert response.status_code == 200


def test_admin_category_form_adds_a_child_at_its_sorted_place(admin_client, catalog):
    apparel = Category.objects.get(name="Apparel")

    response = admin_client.post(
        "/admin/catalog/category/add/",
        {
            "name": "Aprons",
            "slug": "aprons",
            "description": "",
            "treebeard_position": "sorted-child",
            "treebeard_ref_node": apparel.pk,
        },
    )

    assert response.status_code == 302, response.content
    aprons = Category.objects.get(slug="aprons")
    assert Category.objects.get_parent(aprons) == apparel
    assert Category.objects.get_children(apparel).first() == aprons


def product_form(category: Category, *, variants: list[dict]) -> dict:
    data = {
        "name": "Admin Shirt",
        "slug": "admin-shirt",
        "description": "",
        "category": category.pk,
        "is_published": "on",
        "variants-TOTAL_FORMS": str(len(variants)),
        "variants-INITIAL_FORMS": "0",
        "variants-MIN_NUM_FORMS": "1",
        "variants-MAX_NUM_FORMS": "1000",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
    }
    for index, variant in enumerate(variants):
        for field, value in variant.items():
            data[f"variants-{index}-{field}"] = value
    return data


def test_admin_creates_a_product_with_a_variant(admin_client, catalog):
    variant = {"sku": "ADM-1", "name": "M", "price": "9.99", "stock_quantity": "3"}
    variant["attributes"] = "{}"

    response = admin_client.post(
        "/admin/catalog/product/add/", product_form(catalog.category, variants=[variant])
    )

    assert response.status_code == 302, response.content
    assert Product.objects.get(slug="admin-shirt").variants.get().sku == "ADM-1"


def product_with_image(category: Category, name: str, data: bytes) -> dict:
    variant = {"sku": "ADM-1", "name": "M", "price": "9.99", "stock_quantity": "3"}
    form = product_form(category, variants=[{**variant, "attributes": "{}"}])
    form.update(
        {
            "images-TOTAL_FORMS": "1",
            "images-0-image": SimpleUploadedFile(name, data),
            "images-0-alt": "Front",
            "images-0-sort_order": "0",
        }
    )
    return form


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("bomb.png", png_bomb(13_000, 13_000), "more than the 40000000 pixels allowed"),
        ("cut.png", png_with_idat(lambda pixels: pixels[:-100]), "not a valid image"),
    ],
    ids=["decompression-bomb", "does-not-decode"],
)
def test_admin_refuses_the_images_the_api_refuses(admin_client, catalog, name, data, message):
    images_before = set(ProductImage.objects.values_list("pk", flat=True))

    response = admin_client.post(
        "/admin/catalog/product/add/", product_with_image(catalog.category, name, data)
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Product.objects.filter(slug="admin-shirt").exists()
    assert set(ProductImage.objects.values_list("pk", flat=True)) == images_before


def test_admin_stores_an_image_re_encoded_without_what_was_appended(admin_client, catalog):
    data = image_bytes("PNG") + PHP

    response = admin_client.post(
        "/admin/catalog/product/add/", product_with_image(catalog.category, "shot.png", data)
    )

    assert response.status_code == 302, response.content
    product = Product.objects.get(slug="admin-shirt")
    image = product.images.get()
    assert re.fullmatch(rf"products/{product.pk}-[0-9a-f]{{32}}\.png", image.image.name)
    content = Path(image.image.path).read_bytes()
    assert PHP not in content
    with Image.open(image.image.path) as stored:
        assert (stored.format, stored.size) == ("PNG", (16, 8))


def test_admin_keeps_an_existing_image_when_other_fields_change(admin_client, catalog):
    image, variant = catalog.images.get(), catalog.variants.get()
    name = image.image.name
    data = product_form(catalog.category, variants=[])
    data.update(
        {
            "variants-TOTAL_FORMS": "1",
            "variants-INITIAL_FORMS": "1",
            "variants-0-id": variant.pk,
            "variants-0-product": catalog.pk,
            "variants-0-sku": variant.sku,
            "variants-0-name": variant.name,
            "variants-0-price": str(variant.price),
            "variants-0-stock_quantity": str(variant.stock_quantity),
            "variants-0-attributes": "{}",
            "images-TOTAL_FORMS": "1",
            "images-INITIAL_FORMS": "1",
            "images-0-id": image.pk,
            "images-0-product": catalog.pk,
            "images-0-alt": "New alt",
            "images-0-sort_order": "0",
        }
    )

    response = admin_client.post(f"/admin/catalog/product/{catalog.pk}/change/", data)

    assert response.status_code == 302, response.content
    image.refresh_from_db()
    assert (image.alt, image.image.name) == ("New alt", name)


def test_admin_refuses_a_product_without_variants(admin_client, catalog):
    response = admin_client.post(
        "/admin/catalog/product/add/", product_form(catalog.category, variants=[])
    )

    assert response.status_code == 200
    assert not Product.objects.filter(slug="admin-shirt").exists()


def test_admin_edits_variant_price_and_stock_from_the_list(admin_client, catalog):
    variant = catalog.variants.get()
    other = VariantFactory()
    data = {
        "form-TOTAL_FORMS": "2",
        "form-INITIAL_FORMS": "2",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for index, row in enumerate(
        sorted([variant, other], key=lambda v: (v.product.name, v.price, v.pk))
    ):
        data[f"form-{index}-id"] = str(row.pk)
        data[f"form-{index}-price"] = "1.23" if row == variant else str(row.price)
        data[f"form-{index}-stock_quantity"] = "42" if row == variant else str(row.stock_quantity)

    response = admin_client.post("/admin/catalog/productvariant/", data)

    assert response.status_code == 302, response.content
    variant.refresh_from_db()
    assert (str(variant.price), variant.stock_quantity) == ("1.23", 42)
