import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageSequence

from storefront.catalog.models import ProductImage
from storefront.catalog.tests.factories import ProductImageFactory, StockedProductFactory
from storefront.catalog.tests.helpers import assert_error
from storefront.catalog.tests.image_files import (
    HTML,
    PHP,
    animated_gif,
    image_bytes,
    jpeg_with_exif,
    noisy_png,
    png_bomb,
    png_with_idat,
    png_with_text,
)

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


def test_a_decompression_bomb_is_refused(staff_client, product):
    # 13000 x 13000 = 169 megapixels in about 20 KB; Pillow itself only warns below 179 MP.
    bomb = png_bomb(13_000, 13_000)
    assert len(bomb) < 25_000

    error = refused(staff_client, product, {"image": SimpleUploadedFile("bomb.png", bomb)})

    assert error["fields"] == {"image": ["The image has more than the 40000000 pixels allowed."]}


def test_the_pixel_limit_is_a_setting(staff_client, product, settings):
    settings.PRODUCT_IMAGE_MAX_PIXELS = 16 * 8 - 1

    error = refused(staff_client, product, {"image": image_file(size=(16, 8))})

    assert "more than the 127 pixels allowed" in error["message"]


def test_a_png_that_does_not_decode_is_refused(staff_client, product):
    # Every chunk is well formed (lengths, CRCs), so only decoding finds the pixels cut short.
    data = png_with_idat(lambda pixels: pixels[: len(pixels) // 2])

    error = refused(staff_client, product, {"image": SimpleUploadedFile("cut.png", data)})

    assert error["message"].startswith("image: The file is not a valid image")


def test_a_truncated_png_is_refused(staff_client, product):
    data = noisy_png()

    refused(staff_client, product, {"image": SimpleUploadedFile("cut.png", data[: len(data) // 2])})


@pytest.mark.parametrize(
    ("name", "data", "payload"),
    [
        ("polyglot.gif", image_bytes("GIF") + HTML, HTML),
        ("polyglot.png", image_bytes("PNG") + PHP, PHP),
        ("polyglot.png", png_with_text(PHP), PHP),
    ],
    ids=["gif-html-appended", "png-php-appended", "png-php-in-a-text-chunk"],
)
def test_polyglots_are_stored_without_their_payload(staff_client, product, name, data, payload):
    response = staff_client.post(
        upload_url(product), {"image": SimpleUploadedFile(name, data)}, format="multipart"
    )

    assert response.status_code == 201, response.content
    stored = Path(ProductImage.objects.get().image.path)
    assert payload not in stored.read_bytes()
    assert b"<?php" not in stored.read_bytes() and b"<script" not in stored.read_bytes()
    with Image.open(stored) as image:
        assert (image.format, image.size) == (Image.open(io.BytesIO(data)).format, (16, 8))


def test_exif_is_stripped_and_the_orientation_applied(staff_client, product):
    data = jpeg_with_exif(size=(40, 20), orientation=6)

    response = staff_client.post(
        upload_url(product), {"image": SimpleUploadedFile("photo.jpg", data)}, format="multipart"
    )

    assert response.status_code == 201, response.content
    stored = Path(ProductImage.objects.get().image.path)
    content = stored.read_bytes()
    for secret in (b"SpyCam", b"Jane Doe", b"shot at home", b"Exif"):
        assert secret not in content
    with Image.open(stored) as image:
        assert (image.format, image.size) == ("JPEG", (20, 40))  # Turned upright.
        assert not image.getexif()
        # The left half was red: turned 90 degrees clockwise, it is the top half.
        top, bottom = image.getpixel((10, 5)), image.getpixel((10, 35))
        assert top[0] > 200 and top[2] < 60
        assert bottom[2] > 200 and bottom[0] < 60


def test_an_animated_gif_keeps_its_frames_and_timing(staff_client, product):
    response = staff_client.post(
        upload_url(product),
        {"image": SimpleUploadedFile("spin.gif", animated_gif((100, 200, 300)))},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    stored = Path(ProductImage.objects.get().image.path)
    assert b"tracker" not in stored.read_bytes()
    with Image.open(stored) as image:
        durations = []
        for frame in ImageSequence.Iterator(image):
            frame.load()
            durations.append(frame.info["duration"])
        assert (image.n_frames, durations, image.info["loop"]) == (3, [100, 200, 300], 0)


def test_the_frames_of_an_animation_count_towards_the_pixel_limit(staff_client, product, settings):
    settings.PRODUCT_IMAGE_MAX_PIXELS = 12 * 12 * 2  # Two of the three frames.

    error = refused(
        staff_client, product, {"image": SimpleUploadedFile("spin.gif", animated_gif())}
    )

    assert "more than the 288 pixels allowed" in error["message"]


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
