from decimal import Decimal

import pytest
from knox.models import AuthToken

from storefront.catalog.api.serializers import VariantWriteSerializer
from storefront.catalog.models import Product, ProductVariant
from storefront.catalog.tests.factories import (
    CategoryFactory,
    CollectionFactory,
    ProductFactory,
    TagFactory,
    VariantFactory,
)
from storefront.catalog.tests.helpers import LIST_URL, assert_error, detail_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def payload(db) -> dict:
    category = CategoryFactory()
    return {
        "name": "Blue Shirt",
        "slug": "blue-shirt",
        "description": "A cotton shirt.",
        "category": category.pk,
        "collections": [CollectionFactory().pk],
        "tags": [TagFactory().pk, TagFactory().pk],
        "variants": [
            {
                "sku": "SHIRT-M",
                "name": "M",
                "price": "25.00",
                "stock_quantity": 4,
                "attributes": {"Size": "M"},
            },
            {"sku": "SHIRT-L", "name": "L", "price": "27.50", "stock_quantity": 0},
        ],
    }


def snapshot() -> tuple:
    """Everything a failed write must leave as it was."""
    return (
        sorted(Product.objects.values_list("id", "name", "slug", "category_id", "updated_at")),
        sorted(
            ProductVariant.objects.values_list("id", "product_id", "sku", "price", "stock_quantity")
        ),
        sorted(Product.tags.through.objects.values_list("product_id", "tag_id")),
        sorted(Product.collections.through.objects.values_list("product_id", "collection_id")),
    )


def product_with_variants(*skus: str, **kwargs) -> Product:
    product = ProductFactory(**kwargs)
    for sku in skus:
        VariantFactory(product=product, sku=sku)
    return product


# --- Create --------------------------------------------------------------------------------


def test_staff_create_a_product_with_its_variants(staff_client, payload):
    response = staff_client.post(LIST_URL, payload, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    product = Product.objects.get(slug="blue-shirt")
    assert body["id"] == product.pk
    assert body["price"] == "25.00"
    assert body["in_stock"] is True
    assert [v["sku"] for v in body["variants"]] == ["SHIRT-M", "SHIRT-L"]
    assert body["variants"][0]["attributes"] == {"Size": "M"}
    assert sorted(product.tags.values_list("pk", flat=True)) == sorted(payload["tags"])
    assert list(product.collections.values_list("pk", flat=True)) == payload["collections"]
    assert product.variants.get(sku="SHIRT-L").price == Decimal("27.50")


def test_a_created_product_is_published_unless_said_otherwise(staff_client, payload):
    payload["is_published"] = False

    staff_client.post(LIST_URL, payload, format="json")

    assert Product.objects.get(slug="blue-shirt").is_published is False


def test_a_created_product_is_taxed_at_the_standard_rate_unless_said_otherwise(
    staff_client, payload
):
    standard = staff_client.post(LIST_URL, payload, format="json")
    payload.update(slug="juice", tax_class="reduced")
    for variant in payload["variants"]:
        variant["sku"] += "-J"
    reduced = staff_client.post(LIST_URL, payload, format="json")

    assert (standard.status_code, reduced.status_code) == (201, 201), reduced.content
    assert (standard.json()["tax_class"], reduced.json()["tax_class"]) == ("standard", "reduced")
    assert dict(Product.objects.values_list("slug", "tax_class")) == {
        "blue-shirt": "standard",
        "juice": "reduced",
    }


def test_anonymous_visitors_cannot_create_products(api_client, payload):
    response = api_client.post(LIST_URL, payload, format="json")

    assert_error(response, 401, "not_authenticated")
    assert not Product.objects.exists()


def test_customers_cannot_create_products(customer_client, payload):
    response = customer_client.post(LIST_URL, payload, format="json")

    assert_error(response, 403, "permission_denied")
    assert not Product.objects.exists()


@pytest.mark.parametrize("variants", [[], None])
def test_a_product_without_variants_is_refused(staff_client, payload, variants):
    if variants is None:
        del payload["variants"]
    else:
        payload["variants"] = variants

    error = assert_error(staff_client.post(LIST_URL, payload, format="json"), 400, "invalid")

    assert "variants" in error["fields"]
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("variant_change", "field"),
    [
        ({"price": "-1.00"}, "price"),
        ({"price": "1.999"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"price": "12345678901.00"}, "price"),
        ({"stock_quantity": -1}, "stock_quantity"),
        ({"stock_quantity": 2**31}, "stock_quantity"),
        ({"sku": ""}, "sku"),
        ({"sku": "x" * 65}, "sku"),
        ({"sku": "A\x00B"}, "sku"),
        ({"attributes": ["not", "an", "object"]}, "attributes"),
        ({"attributes": {"Size": {"nested": "object"}}}, "attributes"),
        ({"attributes": {"Size": "M\x00"}}, "attributes"),
    ],
)
def test_invalid_variant_values_are_refused(staff_client, payload, variant_change, field):
    payload["variants"][0].update(variant_change)

    error = assert_error(staff_client.post(LIST_URL, payload, format="json"), 400, "invalid")

    assert field in error["fields"]["variants"]["0"]
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"Size": "M\x00"}, "Size: Null characters are not allowed."),
        ({"Size": ["S", "\ud800"]}, "Size: Surrogate characters are not allowed: U+D800."),
        ({"Si\x00ze": "M"}, "In a key: Null characters are not allowed."),
        ({"\udc00": "M"}, "In a key: Surrogate characters are not allowed: U+DC00."),
    ],
)
def test_variant_attributes_refuse_what_jsonb_cannot_store(attributes, message):
    serializer = VariantWriteSerializer(
        data={"sku": "A", "price": "1.00", "attributes": attributes}
    )
    assert not serializer.is_valid()
    assert serializer.errors == {"attributes": [message]}


@pytest.mark.parametrize("raw", [rb'{"Size": "\ud800"}', rb'{"\ud800": "M"}'])
def test_staff_setting_a_lone_surrogate_in_variant_attributes_is_a_400(staff_client, raw):
    variant = VariantFactory(attributes={"Size": "M"})
    body = b'{"variants": [{"id": %d, "attributes": %s}]}' % (variant.pk, raw)

    response = staff_client.generic(
        "PATCH", detail_url(variant.product_id), body, content_type="application/json"
    )

    error = assert_error(response, 400, "invalid")
    assert list(error["fields"]["variants"]["0"]) == ["attributes"]
    variant.refresh_from_db()
    assert variant.attributes == {"Size": "M"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"category": 999999}, "category"),
        ({"category": "abc"}, "category"),
        ({"collections": [999999]}, "collections"),
        ({"tags": [999999]}, "tags"),
        ({"slug": "not a slug"}, "slug"),
        ({"name": ""}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"description": "bad\x00text"}, "description"),
        ({"tax_class": "luxury"}, "tax_class"),
        ({"tax_class": "Standard"}, "tax_class"),
        ({"tax_class": None}, "tax_class"),
    ],
)
def test_invalid_product_values_are_refused(staff_client, payload, change, field):
    payload.update(change)

    error = assert_error(staff_client.post(LIST_URL, payload, format="json"), 400, "invalid")

    assert field in error["fields"]
    assert not Product.objects.exists()


def test_a_sku_listed_twice_is_refused(staff_client, payload):
    payload["variants"][1]["sku"] = "SHIRT-M"

    error = assert_error(staff_client.post(LIST_URL, payload, format="json"), 400, "invalid")

    assert "SHIRT-M" in error["message"]
    assert not Product.objects.exists()


def test_a_sku_of_another_product_is_refused(staff_client, payload):
    product_with_variants("SHIRT-L")
    before = snapshot()

    error = assert_error(staff_client.post(LIST_URL, payload, format="json"), 400, "invalid")

    assert "SHIRT-L" in error["message"]
    assert snapshot() == before


def test_a_slug_of_another_product_is_refused(staff_client, payload):
    ProductFactory(slug="blue-shirt")
    before = snapshot()

    error = assert_error(staff_client.post(LIST_URL, payload, format="json"), 400, "invalid")

    assert "slug" in error["fields"]
    assert snapshot() == before


def test_malformed_json_is_a_parse_error(staff_client):
    response = staff_client.post(LIST_URL, "{not json", content_type="application/json")

    assert_error(response, 400, "parse_error")


# --- Update --------------------------------------------------------------------------------


def test_staff_patch_product_fields_and_keep_its_variants(staff_client):
    product = product_with_variants("A-1", "A-2", name="Old")
    other_category = CategoryFactory()

    response = staff_client.patch(
        detail_url(product.pk),
        {"name": "New", "category": other_category.pk, "is_published": False},
        format="json",
    )

    assert response.status_code == 200, response.content
    product.refresh_from_db()
    assert (product.name, product.category, product.is_published) == ("New", other_category, False)
    assert sorted(product.variants.values_list("sku", flat=True)) == ["A-1", "A-2"]
    assert response.json()["name"] == "New"


@pytest.mark.parametrize("tax_class", ["zero", "reduced", "standard"])
def test_staff_patch_the_tax_class(staff_client, tax_class):
    product = product_with_variants(
        "A-1", tax_class="reduced" if tax_class != "reduced" else "zero"
    )

    response = staff_client.patch(detail_url(product.pk), {"tax_class": tax_class}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["tax_class"] == tax_class
    product.refresh_from_db()
    assert product.tax_class == tax_class
    assert list(product.variants.values_list("sku", flat=True)) == ["A-1"]


def test_a_bad_tax_class_on_update_is_refused_and_changes_nothing(staff_client):
    product = product_with_variants("A-1", tax_class="reduced")
    before = snapshot()

    response = staff_client.patch(
        detail_url(product.pk), {"name": "Renamed", "tax_class": "luxury"}, format="json"
    )

    error = assert_error(response, 400, "invalid")
    assert list(error["fields"]) == ["tax_class"]
    assert snapshot() == before
    product.refresh_from_db()
    assert product.tax_class == "reduced"


def test_put_without_a_tax_class_keeps_it_as_without_is_published(staff_client, payload):
    product = product_with_variants("OLD-SKU", tax_class="zero", is_published=False)

    response = staff_client.put(detail_url(product.pk), payload, format="json")

    assert response.status_code == 200, response.content
    product.refresh_from_db()
    assert (product.tax_class, product.is_published) == ("zero", False)


def test_sending_variants_replaces_them(staff_client):
    product = product_with_variants("KEEP", "DROP")
    keep = product.variants.get(sku="KEEP")
    drop = product.variants.get(sku="DROP")

    response = staff_client.patch(
        detail_url(product.pk),
        {
            "variants": [
                {"id": keep.pk, "price": "3.00", "stock_quantity": 7},
                {"sku": "NEW", "price": "4.00"},
            ]
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    keep.refresh_from_db()
    assert (keep.sku, keep.price, keep.stock_quantity) == ("KEEP", Decimal("3.00"), 7)
    assert not ProductVariant.objects.filter(pk=drop.pk).exists()
    assert sorted(product.variants.values_list("sku", flat=True)) == ["KEEP", "NEW"]
    assert response.json()["price"] == "3.00"


def test_put_replaces_the_whole_product(staff_client, payload):
    product = product_with_variants("OLD-SKU", slug="old-slug")
    product.tags.add(TagFactory())

    response = staff_client.put(detail_url(product.pk), payload, format="json")

    assert response.status_code == 200, response.content
    product.refresh_from_db()
    assert product.slug == "blue-shirt"
    assert sorted(product.variants.values_list("sku", flat=True)) == ["SHIRT-L", "SHIRT-M"]
    assert sorted(product.tags.values_list("pk", flat=True)) == sorted(payload["tags"])


def test_put_without_variants_is_refused(staff_client, payload):
    product = product_with_variants("OLD-SKU")
    del payload["variants"]
    before = snapshot()

    response = staff_client.put(detail_url(product.pk), payload, format="json")

    assert_error(response, 400, "invalid")
    assert snapshot() == before


def test_a_product_keeps_at_least_one_variant(staff_client):
    product = product_with_variants("ONLY")
    before = snapshot()

    response = staff_client.patch(detail_url(product.pk), {"variants": []}, format="json")

    assert_error(response, 400, "invalid")
    assert snapshot() == before


def test_a_variant_of_another_product_cannot_be_edited_through_this_one(staff_client):
    product = product_with_variants("MINE")
    foreign = product_with_variants("THEIRS").variants.get()
    before = snapshot()

    response = staff_client.patch(
        detail_url(product.pk),
        {"variants": [{"id": foreign.pk, "price": "0.00"}]},
        format="json",
    )

    error = assert_error(response, 400, "invalid")
    assert str(foreign.pk) in error["message"]
    assert snapshot() == before


def test_a_new_variant_needs_a_sku_and_a_price(staff_client):
    product = product_with_variants("MINE")
    before = snapshot()

    response = staff_client.patch(
        detail_url(product.pk), {"variants": [{"name": "No SKU"}]}, format="json"
    )

    error = assert_error(response, 400, "invalid")
    assert set(error["fields"]["variants"]["0"]) == {"sku", "price"}
    assert snapshot() == before


def test_taking_the_sku_of_another_product_on_update_is_refused(staff_client):
    product = product_with_variants("MINE")
    product_with_variants("THEIRS")
    before = snapshot()

    response = staff_client.patch(
        detail_url(product.pk), {"variants": [{"sku": "THEIRS", "price": "1.00"}]}, format="json"
    )

    error = assert_error(response, 400, "invalid")
    assert "THEIRS" in error["message"]
    assert snapshot() == before


def test_swapping_skus_between_variants_is_a_400_not_a_500(staff_client):
    product = product_with_variants("A", "B")
    a, b = product.variants.get(sku="A"), product.variants.get(sku="B")
    before = snapshot()

    response = staff_client.patch(
        detail_url(product.pk),
        {"variants": [{"id": a.pk, "sku": "B"}, {"id": b.pk, "sku": "A"}]},
        format="json",
    )

    assert_error(response, 400, "invalid")
    assert snapshot() == before


def test_customers_cannot_update_products(customer_client):
    product = product_with_variants("MINE", name="Old")

    response = customer_client.patch(detail_url(product.pk), {"name": "New"}, format="json")

    assert_error(response, 403, "permission_denied")
    product.refresh_from_db()
    assert product.name == "Old"


def test_updating_an_unknown_product_is_404(staff_client):
    response = staff_client.patch(detail_url(999999), {"name": "New"}, format="json")

    assert_error(response, 404, "not_found")


# --- Delete --------------------------------------------------------------------------------


def test_staff_delete_a_product_with_its_variants(staff_client):
    product = product_with_variants("GONE")

    response = staff_client.delete(detail_url(product.pk))

    assert response.status_code == 204
    assert not Product.objects.exists()
    assert not ProductVariant.objects.exists()


@pytest.mark.parametrize(
    ("client_name", "status", "code"),
    [("api_client", 401, "not_authenticated"), ("customer_client", 403, "permission_denied")],
)
def test_only_staff_delete_products(request, client_name, status, code):
    product = product_with_variants("STAYS")

    assert_error(request.getfixturevalue(client_name).delete(detail_url(product.pk)), status, code)
    assert Product.objects.filter(pk=product.pk).exists()


# --- Real token authentication (the tests above use force_authenticate) -----------------------


def test_a_staff_token_authenticates_a_write(api_client, staff, payload):
    _, token = AuthToken.objects.create(staff)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert api_client.post(LIST_URL, payload, format="json").status_code == 201


def test_a_bad_token_is_401(api_client, payload):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert_error(api_client.post(LIST_URL, payload, format="json"), 401, "authentication_failed")
    assert not Product.objects.exists()
