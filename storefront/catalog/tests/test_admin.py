import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from storefront.accounts.models import User
from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import CartItem
from storefront.catalog.models import Category, Product, ProductImage, ProductVariant
from storefront.catalog.tests.factories import (
    CategoryFactory,
    CollectionFactory,
    ProductImageFactory,
    StockedProductFactory,
    TagFactory,
    VariantFactory,
)
from storefront.catalog.tests.image_files import PHP, image_bytes, png_bomb, png_with_idat
from storefront.notifications.models import LowStockAlert

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
        "tax_class": "standard",
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


def variant_list_edit(variant, *, price: str, stock: str, shown_stock: str | None = None) -> dict:
    """The POST of the admin's variant list saving one row: `price`, `stock` (units), and the
    stock the page showed (default: the variant's)."""
    return {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "_save": "Save",
        "form-0-id": str(variant.pk),
        "form-0-price": price,
        "form-0-stock_quantity": stock,
        "initial-form-0-stock_quantity": shown_stock or str(variant.stock_quantity),
    }


def test_admin_stock_edits_go_through_the_stock_module(admin_client, catalog, settings):
    """Lowered from the list: a low-stock alert; raised on the variant's page: resolved."""
    settings.LOW_STOCK_THRESHOLD = 5
    variant = catalog.variants.get()
    listed = variant_list_edit(variant, price=str(variant.price), stock="2")
    page = {
        "product": catalog.pk,
        "sku": variant.sku,
        "name": variant.name,
        "price": "3.00",
        "stock_quantity": "30",
        "initial-stock_quantity": "2",
        "attributes": "{}",
    }

    lowered = admin_client.post("/admin/catalog/productvariant/", listed)
    alert = LowStockAlert.objects.get(variant=variant)
    raised = admin_client.post(f"/admin/catalog/productvariant/{variant.pk}/change/", page)

    assert (lowered.status_code, raised.status_code) == (302, 302)
    assert (alert.stock_quantity, alert.resolved_at) == (2, None)
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    variant.refresh_from_db()
    assert (str(variant.price), variant.stock_quantity) == ("3.00", 30)


def change_form(product: Product, variants: list[dict], **fields) -> dict:
    """The POST of the product's change page: its fields (`fields` override them), one
    inline row per item of `variants` (existing ones carry their `id`) and its images
    unchanged. A stock value is sent with the hidden initial the page showed beside it."""
    data = {
        "name": product.name,
        "slug": product.slug,
        "description": product.description,
        "category": product.category_id,
        "is_published": "on",
        "tax_class": product.tax_class,
        "collections": [c.pk for c in product.collections.all()],
        "tags": [t.pk for t in product.tags.all()],
        "variants-TOTAL_FORMS": str(len(variants)),
        "variants-INITIAL_FORMS": str(sum("id" in v for v in variants)),
        "variants-MIN_NUM_FORMS": "1",
        "variants-MAX_NUM_FORMS": "1000",
        **fields,
    }
    images = list(product.images.all())
    data.update({"images-TOTAL_FORMS": str(len(images)), "images-INITIAL_FORMS": str(len(images))})
    data.update({"images-MIN_NUM_FORMS": "0", "images-MAX_NUM_FORMS": "1000"})
    for index, image in enumerate(images):
        data.update({f"images-{index}-id": image.pk, f"images-{index}-product": product.pk})
        data.update({f"images-{index}-alt": image.alt, f"images-{index}-sort_order": "0"})
    for index, variant in enumerate(variants):
        row = {"product": product.pk, "attributes": "{}", **variant}
        row["initial-stock_quantity"] = row.pop("stock_shown", row.get("stock_quantity", "0"))
        for field, value in row.items():
            if field.startswith("initial-"):
                data[f"initial-variants-{index}-{field.removeprefix('initial-')}"] = value
            else:
                data[f"variants-{index}-{field}"] = value
    return data


def variant_row(variant, **changes) -> dict:
    row = {"id": variant.pk, "sku": variant.sku, "name": variant.name}
    row.update(price=str(variant.price), stock_quantity=str(variant.stock_quantity))
    return {**row, **changes}


def test_admin_product_edit_updates_deletes_and_adds_variants_and_logs_them(admin_client, catalog):
    kept = catalog.variants.get()
    removed = VariantFactory(product=catalog)
    rows = [
        variant_row(kept, price="5.00"),
        variant_row(removed, DELETE="on"),
        {"sku": "ADM-NEW", "name": "XL", "price": "7.00", "stock_quantity": "2"},
    ]

    response = admin_client.post(
        f"/admin/catalog/product/{catalog.pk}/change/",
        change_form(catalog, rows, name="Renamed"),
    )

    assert response.status_code == 302, response.content
    catalog.refresh_from_db()
    assert catalog.name == "Renamed"
    assert sorted(catalog.variants.values_list("sku", "price", "stock_quantity")) == [
        ("ADM-NEW", Decimal("7.00"), 2),
        (kept.sku, Decimal("5.00"), 10),
    ]
    # Images, tags and collections stay as they were.
    assert (catalog.images.count(), catalog.tags.count(), catalog.collections.count()) == (1, 1, 1)
    [entry] = LogEntry.objects.filter(object_id=str(catalog.pk))
    message = entry.get_change_message()
    assert "Changed Name." in message
    assert all(word in message for word in ("Added", "Changed Price", "Deleted"))


def test_admin_product_edit_of_the_name_alone_keeps_the_variants(admin_client, catalog):
    variant = catalog.variants.get()

    response = admin_client.post(
        f"/admin/catalog/product/{catalog.pk}/change/",
        change_form(catalog, [variant_row(variant)], name="Renamed"),
    )

    assert response.status_code == 302, response.content
    catalog.refresh_from_db()
    assert catalog.name == "Renamed"
    assert list(catalog.variants.values_list("pk", "stock_quantity")) == [(variant.pk, 10)]


def test_admin_product_edit_of_the_tax_class_is_saved(admin_client, catalog):
    """The change is written by services.update_product, which writes PRODUCT_FIELDS only."""
    variant = catalog.variants.get()

    response = admin_client.post(
        f"/admin/catalog/product/{catalog.pk}/change/",
        change_form(catalog, [variant_row(variant)], tax_class="reduced"),
    )

    assert response.status_code == 302, response.content
    catalog.refresh_from_db()
    assert catalog.tax_class == "reduced"


def test_admin_product_edit_by_staff_who_may_not_change_variants(catalog):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__endswith="_product"))
    client = Client()
    client.force_login(staff)
    form = change_form(catalog, [], name="Renamed")
    form = {k: v for k, v in form.items() if not k.startswith(("variants-", "images-"))}

    response = client.post(f"/admin/catalog/product/{catalog.pk}/change/", form)

    assert response.status_code == 302, response.content
    catalog.refresh_from_db()
    assert (catalog.name, catalog.variants.count()) == ("Renamed", 1)


def test_admin_product_edit_of_a_price_keeps_the_units_sold_since_the_page_was_shown(
    admin_client, catalog
):
    variant = catalog.variants.get()
    shown = variant_row(variant, price="5.00")  # The page showed 10 units.
    ProductVariant.objects.filter(pk=variant.pk).update(stock_quantity=7)  # A sale of 3.

    response = admin_client.post(
        f"/admin/catalog/product/{catalog.pk}/change/", change_form(catalog, [shown])
    )

    assert response.status_code == 302, response.content
    variant.refresh_from_db()
    assert (variant.price, variant.stock_quantity) == (Decimal("5.00"), 7)


def test_admin_variant_list_edit_of_a_price_keeps_the_units_sold_since_the_page_was_shown(
    admin_client, catalog
):
    variant = catalog.variants.get()
    # The page showed 10 units; a sale of 3 happens before staff save.
    data = variant_list_edit(variant, price="1.23", stock="10", shown_stock="10")
    ProductVariant.objects.filter(pk=variant.pk).update(stock_quantity=7)

    response = admin_client.post("/admin/catalog/productvariant/", data)

    assert response.status_code == 302, response.content
    variant.refresh_from_db()
    assert (str(variant.price), variant.stock_quantity) == ("1.23", 7)


def test_admin_deletes_a_variant_with_the_cart_items_holding_it(admin_client, catalog):
    variant = VariantFactory(product=catalog)
    CartItem.objects.create(cart=UserFactory().cart, variant=variant, quantity=1)

    response = admin_client.post(
        f"/admin/catalog/productvariant/{variant.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302, response.content
    assert not ProductVariant.objects.filter(pk=variant.pk).exists()
    assert not CartItem.objects.exists()


def test_admin_deletes_selected_products_with_their_variants(admin_client, catalog):
    other = StockedProductFactory()

    response = admin_client.post(
        "/admin/catalog/product/",
        {"action": "delete_selected", "post": "yes", "_selected_action": [catalog.pk, other.pk]},
    )

    assert response.status_code == 302, response.content
    assert not Product.objects.exists()
    assert not ProductVariant.objects.exists()
