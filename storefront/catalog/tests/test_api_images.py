import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from storefront.catalog.models import ProductImage
from storefront.catalog.tests.factories import ProductImageFactory, StockedProductFactory
from storefront.catalog.tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def upload_url(product) -> str:
    return f"/api/products/{product.pk}/images/"


def image_file(name: str = "photo.png", image_format: str = "PNG", size=(16, 8)):
    buffer = io.BytesIO()
    Image.new("RGB", size, "blue").save(buffer, format=image_format)
    return SimpleUploadedFile(name, buffer.getvalue())


def stored_files() -> set[Path]:
    folder = Path(settings.MEDIA_ROOT) / "products"
    return set(folder.iterdir()) if folder.exists() else set()


@pytest.fixture
def product(db):
    return StockedProductFactory()


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "WEBP", "GIF"])
def test_staff_upload_an_image(staff_client, product, image_format):
    response = staff_client.post(
        upload_url(product),
        {"image": image_file(f"photo.{image_format.lower()}", image_format), "alt": "Front"},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    image = ProductImage.objects.get(pk=body["id"])
    assert set(body) == {"id", "url", "alt", "sort_order"}
    assert (body["alt"], body["sort_order"], image.product) == ("Front", 0, product)
    assert body["url"] == f"http://testserver{image.image.url}"
    with Image.open(image.image.path) as stored:
        assert stored.format == image_format


def test_uploaded_images_show_on_the_product_in_sort_order(staff_client, product):
    for alt, order in (("Back", 5), ("Front", 1)):
        staff_client.post(
            upload_url(product),
            {"image": image_file(), "alt": alt, "sort_order": order},
            format="multipart",
        )

    images = staff_client.get(f"/api/products/{product.pk}/").json()["images"]

    assert [image["alt"] for image in images] == ["Front", "Back"]


def refused(client, product, data) -> dict:
    """Post `data`; assert a 400 on `image` and that no row and no file were stored."""
    files_before = stored_files()

    response = client.post(upload_url(product), data, format="multipart")

    error = assert_error(response, 400, "invalid")
    assert not ProductImage.objects.exists()
    assert stored_files() == files_before
    return error


def test_a_text_file_named_png_is_refused(staff_client, product):
    fake = SimpleUploadedFile("photo.png", b"this is not an image, just text\n" * 10)

    error = refused(staff_client, product, {"image": fake})

    assert error["message"].startswith("image: The file is not a valid image")


def test_a_corrupt_png_is_refused(staff_client, product):
    data = image_file().read()
    corrupt = SimpleUploadedFile("photo.png", data[:40] + b"\x00" * 40 + data[80:])

    refused(staff_client, product, {"image": corrupt})


def test_an_image_in_a_format_not_allowed_is_refused(staff_client, product):
    error = refused(staff_client, product, {"image": image_file("photo.bmp", "BMP")})

    assert "BMP is not allowed" in error["message"]


def test_an_image_over_the_size_limit_is_refused(staff_client, product, settings):
    upload = image_file(size=(64, 64))
    settings.PRODUCT_IMAGE_MAX_BYTES = upload.size - 1

    error = refused(staff_client, product, {"image": upload})

    assert "larger than" in error["message"]


def test_an_upload_without_a_file_is_refused(staff_client, product):
    error = refused(staff_client, product, {"alt": "No file"})

    assert "image" in error["fields"]


def test_a_negative_sort_order_is_refused(staff_client, product):
    refused(staff_client, product, {"image": image_file(), "sort_order": -1})


def test_uploading_to_an_unknown_product_is_404(staff_client):
    response = staff_client.post(
        "/api/products/999999/images/", {"image": image_file()}, format="multipart"
    )

    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("client_name", "status", "code"),
    [("api_client", 401, "not_authenticated"), ("customer_client", 403, "permission_denied")],
)
def test_only_staff_upload_images(request, product, client_name, status, code):
    client = request.getfixturevalue(client_name)

    response = client.post(upload_url(product), {"image": image_file()}, format="multipart")

    assert_error(response, status, code)
    assert not ProductImage.objects.exists()


def test_staff_delete_an_image_and_its_file(
    staff_client, product, django_capture_on_commit_callbacks
):
    image = ProductImageFactory(product=product)
    path = Path(image.image.path)
    assert path.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.delete(f"{upload_url(product)}{image.pk}/")

    assert response.status_code == 204
    assert not ProductImage.objects.filter(pk=image.pk).exists()
    assert not path.exists()


def test_an_image_of_another_product_cannot_be_deleted_through_this_one(staff_client, product):
    foreign = ProductImageFactory()

    response = staff_client.delete(f"{upload_url(product)}{foreign.pk}/")

    assert_error(response, 404, "not_found")
    assert ProductImage.objects.filter(pk=foreign.pk).exists()


def test_customers_cannot_delete_images(customer_client, product):
    image = ProductImageFactory(product=product)

    response = customer_client.delete(f"{upload_url(product)}{image.pk}/")

    assert_error(response, 403, "permission_denied")
    assert ProductImage.objects.filter(pk=image.pk).exists()


def test_deleting_a_product_removes_its_image_files(
    staff_client, product, django_capture_on_commit_callbacks
):
    path = Path(ProductImageFactory(product=product).image.path)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.delete(f"/api/products/{product.pk}/")

    assert response.status_code == 204
    assert not path.exists()
