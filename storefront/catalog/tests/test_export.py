"""The catalog export (storefront/catalog/exports.py): CSV and JSON that read back through
the importer's format unchanged, streamed in pages of a fixed number of queries; the API
view and the command."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.http import StreamingHttpResponse
from django.urls import reverse

from storefront.catalog import exports
from storefront.catalog.api.exports import ExportProductSerializer, ExportVariantSerializer
from storefront.catalog.imports import format
from storefront.catalog.imports.importer import import_catalog
from storefront.catalog.imports.reader import Options, open_source
from storefront.catalog.tests.factories import (
    CategoryFactory,
    CollectionFactory,
    ProductFactory,
    ProductImageFactory,
    TagFactory,
    VariantFactory,
)
from storefront.catalog.tests.helpers import assert_error

pytestmark = pytest.mark.django_db

URL_NAME = "catalog-export"


@pytest.fixture
def catalog() -> dict:
    """Two products: a mug in Home > Kitchen > Mugs (two tags, one with a comma; a
    collection; an uploaded image shown first and an imported one; two variants, the later
    one cheaper) and an unpublished draft in the root category, without tags or images."""
    home = CategoryFactory(name="Home")
    kitchen = CategoryFactory(name="Kitchen", parent=home)
    mugs = CategoryFactory(name="Mugs", parent=kitchen)
    mug = ProductFactory(
        slug="blue-mug", name="Blue mug", description='A "big" mug,\nfor tea.', category=mugs
    )
    mug.tags.set([TagFactory(name="Ceramic"), TagFactory(name="Blue, navy")])
    mug.collections.set([CollectionFactory(name="Summer Picks")])
    uploaded = ProductImageFactory(product=mug, sort_order=0)
    ProductImageFactory(product=mug, sort_order=1, source="https://img.example.com/mug.jpg")
    VariantFactory(
        product=mug,
        sku="MUG-S",
        name="Small",
        price=Decimal("12.50"),
        stock_quantity=7,
        weight_grams=350,
        attributes={"Size": "S", "Colour": "Blue"},
    )
    VariantFactory(product=mug, sku="MUG-L", name="Large", price=Decimal("9.99"), stock_quantity=0)
    draft = ProductFactory(
        slug="draft", name="Draft", description="", category=home, is_published=False
    )
    draft.tax_class = "reduced"
    draft.save()
    VariantFactory(product=draft, sku="DRAFT-1", name="", price=Decimal("100.00"))
    return {"mug": mug, "draft": draft, "uploaded_image": uploaded.image.name}


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def streamed(response) -> bytes:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content)


# --- CSV ----------------------------------------------------------------------------------


def test_csv_has_the_format_columns_in_order_and_one_row_per_variant(catalog):
    text = "".join(exports.iter_catalog_csv())

    assert next(csv.reader(io.StringIO(text))) == list(format.COLUMNS)
    assert [row["sku"] for row in csv_rows(text)] == ["MUG-S", "MUG-L", "DRAFT-1"]


def test_csv_cells_are_written_by_the_format_encoders(catalog):
    small, large, draft = csv_rows("".join(exports.iter_catalog_csv()))

    product_cells = {
        "product_slug": "blue-mug",
        "name": "Blue mug",
        "description": 'A "big" mug,\nfor tea.',
        "category": "Home > Kitchen > Mugs",
        "collections": "Summer Picks",
        "tags": "Blue\\, navy, Ceramic",
        "published": "true",
        "tax_class": "standard",
        "images": f"{catalog['uploaded_image']}, https://img.example.com/mug.jpg",
    }
    assert small == {
        **product_cells,
        "sku": "MUG-S",
        "variant_name": "Small",
        "price": "12.50",
        "stock_quantity": "7",
        "weight_grams": "350",
        "attributes": '{"Colour": "Blue", "Size": "S"}',
    }
    assert large == {
        **product_cells,
        "sku": "MUG-L",
        "variant_name": "Large",
        "price": "9.99",
        "stock_quantity": "0",
        "weight_grams": "",
        "attributes": "",
    }
    assert draft == {
        "product_slug": "draft",
        "name": "Draft",
        "description": "",
        "category": "Home",
        "collections": "",
        "tags": "",
        "published": "false",
        "tax_class": "reduced",
        "images": "",
        "sku": "DRAFT-1",
        "variant_name": "",
        "price": "100.00",
        "stock_quantity": "10",
        "weight_grams": "",
        "attributes": "",
    }


def test_csv_reads_back_through_the_format_parsers_to_the_stored_values(catalog):
    small = csv_rows("".join(exports.iter_catalog_csv()))[0]

    assert format.parse_category_path(small["category"]) == ["Home", "Kitchen", "Mugs"]
    assert format.parse_list(small["tags"]) == ["Blue, navy", "Ceramic"]
    assert format.parse_list(small["images"]) == [
        catalog["uploaded_image"],
        "https://img.example.com/mug.jpg",
    ]
    assert format.parse_bool(small["published"]) is True
    assert format.parse_price(small["price"]) == Decimal("12.50")
    assert format.parse_quantity(small["weight_grams"], maximum=10**6) == 350
    assert format.parse_attributes(small["attributes"]) == {"Size": "S", "Colour": "Blue"}


def test_a_product_without_variants_is_left_out():
    # The importer refuses a product without a price, which would fail the whole file.
    ProductFactory(slug="bare")
    VariantFactory(product__slug="sold")

    assert [row["product_slug"] for row in csv_rows("".join(exports.iter_catalog_csv()))] == [
        "sold"
    ]
    assert [p["product_slug"] for p in json.loads("".join(exports.iter_catalog_json()))] == ["sold"]


def test_an_empty_catalog_is_the_header_alone():
    assert "".join(exports.iter_catalog_csv()) == ",".join(format.COLUMNS) + "\r\n"
    assert "".join(exports.iter_catalog_json()) == "[]"


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_the_export_imports_back_with_no_change(catalog, tmp_path, kind):
    path = tmp_path / f"catalog.{kind}"
    call_command("export_catalog", "--format", kind, "--output", str(path))

    result = import_catalog(lambda: open_source(path), options=Options(), dry_run=True)

    assert result.errors == []
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert (result.variants_created, result.variants_updated) == (0, 0)
    assert result.variants_unchanged == 3


# --- JSON ---------------------------------------------------------------------------------


def test_json_nests_the_variants_with_json_values(catalog):
    mug, draft = json.loads("".join(exports.iter_catalog_json()))

    assert mug == {
        "product_slug": "blue-mug",
        "name": "Blue mug",
        "description": 'A "big" mug,\nfor tea.',
        "category": "Home > Kitchen > Mugs",
        "collections": ["Summer Picks"],
        "tags": ["Blue, navy", "Ceramic"],
        "published": True,
        "tax_class": "standard",
        "images": [catalog["uploaded_image"], "https://img.example.com/mug.jpg"],
        "variants": [
            {
                "sku": "MUG-S",
                "variant_name": "Small",
                "price": "12.50",
                "stock_quantity": 7,
                "weight_grams": 350,
                "attributes": {"Size": "S", "Colour": "Blue"},
            },
            {
                "sku": "MUG-L",
                "variant_name": "Large",
                "price": "9.99",
                "stock_quantity": 0,
                "weight_grams": None,
                "attributes": {},
            },
        ],
    }
    assert draft["published"] is False
    assert draft["tags"] == draft["images"] == []
    assert [variant["sku"] for variant in draft["variants"]] == ["DRAFT-1"]


def test_json_streams_an_array_chunk_by_chunk():
    for index in range(5):
        VariantFactory(product=ProductFactory(slug=f"p{index}"))

    chunks = list(exports.iter_catalog_json(page_size=2))

    assert chunks[0] == "[" and chunks[-1] == "]"
    assert len(chunks) == 2 + 3  # the brackets and 3 pages
    assert [p["product_slug"] for p in json.loads("".join(chunks))] == [f"p{i}" for i in range(5)]


def test_json_matches_the_schemas_declaration(catalog):
    documents = json.loads("".join(exports.iter_catalog_json()))

    assert tuple(ExportProductSerializer().fields) == exports.JSON_PRODUCT_KEYS
    assert tuple(ExportVariantSerializer().fields) == exports.JSON_VARIANT_KEYS
    for document in documents:
        assert tuple(document) == exports.JSON_PRODUCT_KEYS
        assert all(tuple(v) == exports.JSON_VARIANT_KEYS for v in document["variants"])
    serializer = ExportProductSerializer(data=documents, many=True)
    assert serializer.is_valid(), serializer.errors


# --- Pages and queries --------------------------------------------------------------------


def make_products(count: int) -> None:
    """`count` products, each in a category of its own with 2 variants, 2 images, a tag and
    a collection."""
    for _ in range(count):
        product = ProductFactory(category=CategoryFactory(parent=CategoryFactory()))
        VariantFactory.create_batch(2, product=product, attributes={"Size": "M"})
        ProductImageFactory.create_batch(2, product=product)
        product.tags.set([TagFactory()])
        product.collections.set([CollectionFactory()])


@pytest.mark.parametrize("export", [exports.iter_catalog_csv, exports.iter_catalog_json])
@pytest.mark.parametrize("count", [3, 30])
def test_one_page_costs_the_same_queries_whatever_it_holds(
    django_assert_num_queries, export, count
):
    make_products(count)

    # Category paths, then products, variants, images, tags, collections.
    with django_assert_num_queries(1 + 5):
        text = "".join(export())

    assert "SKU-" in text


@pytest.mark.parametrize("export", [exports.iter_catalog_csv, exports.iter_catalog_json])
def test_each_page_costs_five_queries(django_assert_num_queries, export):
    make_products(25)

    # 3 pages of 10, 10 and 5 products; the last, short, page ends the export.
    with django_assert_num_queries(1 + 3 * 5):
        "".join(export(page_size=10))


def test_a_full_last_page_costs_one_query_more(django_assert_num_queries):
    make_products(20)

    with django_assert_num_queries(1 + 2 * 5 + 1):
        rows = csv_rows("".join(exports.iter_catalog_csv(page_size=10)))

    assert len(rows) == 40


def test_pages_hold_every_product_once_in_id_order():
    make_products(7)

    slugs = [p["product_slug"] for p in json.loads("".join(exports.iter_catalog_json(page_size=3)))]

    assert slugs == sorted(slugs, key=lambda slug: int(slug.rsplit("-", 1)[1]))
    assert len(set(slugs)) == 7


# --- The API ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "content_type"), [("csv", "text/csv; charset=utf-8"), ("json", "application/json")]
)
def test_staff_download_the_export_as_an_attachment(staff_client, catalog, kind, content_type):
    response = staff_client.get(reverse(URL_NAME), {"format": kind})

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="catalog-')
    assert disposition.endswith(f'.{kind}"')
    body = streamed(response).decode()
    expected = exports.iter_catalog_csv() if kind == "csv" else exports.iter_catalog_json()
    assert body == "".join(expected)


def test_the_format_defaults_to_csv(staff_client, catalog):
    response = staff_client.get(reverse(URL_NAME))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert streamed(response).decode() == "".join(exports.iter_catalog_csv())


def test_the_filename_is_the_stores_date(staff_client, settings, time_machine):
    settings.TIME_ZONE = "Asia/Tokyo"  # UTC+9: 20:00 UTC on March 1 is March 2 there
    time_machine.move_to("2026-03-01T20:00:00Z", tick=False)

    response = staff_client.get(reverse(URL_NAME), {"format": "json"})

    assert response["Content-Disposition"] == 'attachment; filename="catalog-20260302.json"'


@pytest.mark.parametrize("kind", ["xml", "api", "CSV", "csv\x00"])
def test_an_unknown_format_is_a_400_in_the_error_shape(staff_client, kind):
    response = staff_client.get(reverse(URL_NAME), {"format": kind})

    error = assert_error(response, 400, "invalid")
    assert list(error["fields"]) == ["format"]


def test_an_unknown_query_parameter_is_a_400(staff_client):
    response = staff_client.get(reverse(URL_NAME), {"published": "true"})

    error = assert_error(response, 400, "invalid")
    assert list(error["fields"]) == ["published"]


def test_anonymous_callers_get_401(api_client):
    assert_error(api_client.get(reverse(URL_NAME), {"format": "csv"}), 401, "not_authenticated")


def test_customers_get_403(customer_client):
    assert_error(
        customer_client.get(reverse(URL_NAME), {"format": "json"}), 403, "permission_denied"
    )


def test_the_api_costs_the_exports_queries(staff_client, django_assert_num_queries):
    make_products(30)

    with django_assert_num_queries(1 + 5):
        streamed(staff_client.get(reverse(URL_NAME), {"format": "csv"}))


# --- The command --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_the_command_writes_the_bytes_the_api_answers(staff_client, catalog, tmp_path, kind):
    output = tmp_path / f"catalog.{kind}"

    call_command("export_catalog", "--format", kind, "--output", str(output), "--page-size", "1")

    assert output.read_bytes() == streamed(staff_client.get(reverse(URL_NAME), {"format": kind}))


def test_the_command_writes_to_standard_output_by_default(catalog):
    out = io.StringIO()

    call_command("export_catalog", stdout=out)

    assert out.getvalue() == "".join(exports.iter_catalog_csv())


def test_the_command_writes_utf8_bytes_to_a_binary_standard_output(capsysbinary):
    VariantFactory(product__name="Tasse à café ☕", sku="CAFÉ-1")

    call_command("export_catalog", "--format", "json")

    assert capsysbinary.readouterr().out == "".join(exports.iter_catalog_json()).encode("utf-8")
