"""Staff create a product with a variant and an image through the catalog admin."""

import io

import pytest
from PIL import Image

from storefront.accounts.tests.factories import StaffFactory
from storefront.catalog.models import Product
from storefront.catalog.tests.factories import CategoryFactory

from .helpers import log_in_to_admin

pytestmark = pytest.mark.django_db(transaction=True)


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_staff_create_a_product_with_a_variant_and_an_image(page):
    staff = StaffFactory(email="admin@example.com", is_superuser=True)
    CategoryFactory(name="Kitchen")

    log_in_to_admin(page, staff.email)
    page.goto("/admin/catalog/product/add/")
    page.fill("#id_name", "Copper kettle")
    page.press("#id_name", "Tab")
    assert page.input_value("#id_slug") == "copper-kettle"  # the admin's prepopulated field
    page.fill("#id_description", "Boils water, beautifully.")
    # The category is an autocomplete (select2) field: open it, search, pick.
    page.click("#id_category + .select2 .select2-selection")
    page.fill(".select2-search__field", "Kitch")
    page.click(".select2-results__option:has-text('Kitchen')")
    page.fill("#id_variants-0-sku", "KETTLE-CU")
    page.fill("#id_variants-0-name", "1.5 l")
    page.fill("#id_variants-0-price", "49.90")
    page.fill("#id_variants-0-stock_quantity", "12")
    page.click("#images-group .add-row a")
    page.set_input_files(
        "#id_images-0-image",
        files=[{"name": "kettle.png", "mimeType": "image/png", "buffer": png_bytes()}],
    )
    page.fill("#id_images-0-alt", "A copper kettle")
    page.click("input[name=_save]")

    page.wait_for_selector(".messagelist .success")
    product = Product.objects.get(slug="copper-kettle")
    assert product.category.name == "Kitchen"
    [variant] = product.variants.all()
    assert (variant.sku, variant.name, str(variant.price), variant.stock_quantity) == (
        "KETTLE-CU",
        "1.5 l",
        "49.90",
        12,
    )
    [image] = product.images.all()
    assert image.alt == "A copper kettle"
    assert image.image.read() == png_bytes()
