"""The catalog importer on hand-made files with the dirt real exports have
(storefront/catalog/tests/import_files/): a BOM, semicolons, quoted newlines, currency
symbols, non-ASCII titles, Shopify's and WooCommerce's own layouts, a headerless file, and a
file of bad rows."""

import http.server
import io
import json
import threading
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from storefront.catalog.imports import importer, reader
from storefront.catalog.models import (
    Category,
    Collection,
    Product,
    ProductImage,
    ProductVariant,
    Tag,
)
from storefront.catalog.tests.factories import ProductFactory, VariantFactory
from storefront.catalog.tests.helpers import assert_derived_columns_exact
from storefront.catalog.tests.image_files import image_bytes
from storefront.notifications.models import LowStockAlert

FILES = Path(__file__).parent / "import_files"
SHOPIFY_COLUMNS = (
    "product_slug=Handle,name=Title,description=Body (HTML),category=Product Category,"
    "tags=Tags,published=Published,attribute1_name=Option1 Name,attribute1_value=Option1 Value,"
    "attribute2_name=Option2 Name,attribute2_value=Option2 Value,sku=Variant SKU,"
    "weight_grams=Variant Grams,stock_quantity=Variant Inventory Qty,price=Variant Price,"
    "images=Image Src"
)
WOOCOMMERCE_COLUMNS = (
    "product_key=Parent,sku=SKU,name=Name,published=Published,description=Description,"
    "stock_quantity=Stock,price=Regular price,category=Categories,tags=Tags,images=Images,"
    "attribute1_name=Attribute 1 name,attribute1_value=Attribute 1 value(s)"
)
HEADERLESS_COLUMNS = "name=4,sku=3,category=2,description=5,price=8,stock_quantity=9"

pytestmark = pytest.mark.django_db


def run(path: Path, *, dry_run: bool = False, **options) -> importer.Result:
    if isinstance(options.get("columns"), str):
        options["columns"] = reader.parse_columns(
            options["columns"], no_header=options.get("no_header", False)
        )
    return importer.import_catalog(
        lambda: reader.open_source(path), options=reader.Options(**options), dry_run=dry_run
    )


def table_counts() -> dict[str, int]:
    """Rows in every table of the database."""
    counts = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
    return counts


def messages(result: importer.Result) -> list[tuple]:
    return [(e["row"], e["column"], e["message"]) for e in result.errors]


@pytest.fixture
def image_server():
    """Serves a PNG at every path ending in .png, 404 elsewhere, on loopback."""
    png = image_bytes("PNG", size=(12, 12))
    served = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            served.append(self.path)
            if not self.path.endswith(".png"):
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.served = served
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    server.server_close()


def test_storefront_file_with_bom_semicolons_newlines_symbols_and_non_ascii_titles():
    result = run(FILES / "storefront_semicolon_bom.csv")

    assert result.errors == []
    assert (result.created, result.variants_created, result.applied) == (3, 4, True)
    shirt = Product.objects.get(variants__sku="SEV-S")
    assert shirt.name == "Футболка «Север»"
    assert shirt.slug == "futbolka-sever"
    assert shirt.description == "Хлопок.\nДве строки; с точкой с запятой."  # noqa: RUF001
    assert (
        shirt.category.name == "Футболки"
        and Category.objects.get_parent(shirt.category).name == "Одежда"
    )
    assert sorted(shirt.tags.values_list("name", flat=True)) == ["лето", "хлопок"]
    assert list(shirt.collections.values_list("name", flat=True)) == ["Summer Picks"]
    prices = dict(shirt.variants.values_list("sku", "price"))
    assert prices == {"SEV-S": Decimal("19.99"), "SEV-M": Decimal("19.99")}
    assert shirt.variants.get(sku="SEV-M").attributes == {"Size": "M"}
    mug = Product.objects.get(variants__sku="TKY-1")
    assert mug.slug == "dongjing-magukatpu"
    assert mug.description == "A mug, glazed\nin Tokyo"
    assert mug.variants.get().price == Decimal("12.50")
    book = Product.objects.get(slug="hacking-book")
    assert Category.objects.get_ancestors(book.category).count() == 2
    assert book.variants.get().price == Decimal("1299.00")
    assert not book.in_stock
    assert_derived_columns_exact()


def test_same_file_twice_changes_nothing_the_second_time():
    first = run(FILES / "storefront_semicolon_bom.csv")
    before = table_counts()

    second = run(FILES / "storefront_semicolon_bom.csv")

    assert (first.created, first.updated) == (3, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 3)
    assert (second.variants_created, second.variants_updated) == (0, 0)
    assert second.applied is False
    assert table_counts() == before


def test_dry_run_lists_the_changes_and_writes_nothing(tmp_path):
    before = table_counts()

    result = run(FILES / "storefront_semicolon_bom.csv", dry_run=True)

    assert table_counts() == before
    assert (result.created, result.variants_created, result.applied) == (3, 4, False)
    by_product = {entry["product"]: entry for entry in result.diff}
    assert by_product["hacking-book"]["action"] == "create"
    assert by_product["hacking-book"]["changes"]["category"] == "Books > Non-Fiction > Hacking"
    assert by_product["futbolka-sever"]["variants"][1] == {
        "sku": "SEV-M",
        "action": "create",
        "values": {"name": "M", "price": "19.99", "stock_quantity": 8, "attributes": {"Size": "M"}},
    }


def test_dry_run_of_an_update_shows_each_change_from_and_to(tmp_path):
    run(FILES / "storefront_semicolon_bom.csv")
    edited = tmp_path / "edited.csv"
    text = (FILES / "storefront_semicolon_bom.csv").read_text(encoding="utf-8-sig")
    edited.write_text(text.replace('"1,299.00";0', "1250.00;4"), encoding="utf-8")
    before = table_counts()

    result = run(edited, dry_run=True)

    assert table_counts() == before
    assert (result.updated, result.unchanged, result.variants_updated) == (1, 2, 1)
    assert result.diff == [
        {
            "row": 4,
            "product": "hacking-book",
            "action": "update",
            "changes": {},
            "variants": [
                {
                    "sku": "HACK-1",
                    "action": "update",
                    "changes": {
                        "price": {"from": "1299.00", "to": "1250.00"},
                        "stock_quantity": {"from": 0, "to": 4},
                    },
                }
            ],
        }
    ]


def test_shopify_export_loads_with_a_mapping(tmp_path, image_server):
    shopify = tmp_path / "products_export.csv"
    text = (FILES / "shopify.csv").read_text().replace("{image_server}", image_server.url)
    shopify.write_text(text)

    result = run(shopify, columns=SHOPIFY_COLUMNS)

    assert result.errors == []
    assert (result.created, result.variants_created) == (2, 4)
    shirt = Product.objects.get(slug="ocean-blue-shirt")
    assert shirt.description.startswith("<p>Ocean blue cotton shirt")
    assert shirt.category.name == "Shirts & Tops"
    assert [v.name for v in shirt.variants.order_by("sku")] == ["m", "s", "xs"]
    assert shirt.variants.get(sku="OBS-XS").attributes == {"Size": "xs"}
    assert shirt.variants.get(sku="OBS-M").stock_quantity == 0
    assert list(shirt.images.values_list("source", flat=True)) == [
        f"{image_server.url}/ocean-blue-shirt.png",
        f"{image_server.url}/ocean-blue-shirt-back.png",
    ]
    assert all(image.image.storage.exists(image.image.name) for image in shirt.images.all())
    top = Product.objects.get(slug="classic-varsity-top")
    # Shopify's "Title: Default Title" is the option of a product without options.
    assert top.variants.get().attributes == {}
    assert top.variants.get().weight_grams == 250

    again = run(shopify, columns=SHOPIFY_COLUMNS)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert len(image_server.served) == 2  # The images are fetched once.


def test_woocommerce_export_loads_with_a_mapping():
    result = run(FILES / "woocommerce.csv", columns=WOOCOMMERCE_COLUMNS)

    assert result.errors == []
    assert (result.created, result.variants_created) == (2, 4)
    hoodie = Product.objects.get(variants__sku="woo-hoodie-blue")
    assert hoodie.name == "Hoodie"
    assert hoodie.slug == "hoodie"
    assert hoodie.category.name == "Hoodies"
    assert sorted(hoodie.tags.values_list("name", flat=True)) == ["Cotton", "Warm"]
    variants = {
        v.sku: (v.name, v.price, v.stock_quantity, v.attributes) for v in hoodie.variants.all()
    }
    assert variants == {
        "woo-hoodie-blue": ("Blue", Decimal("45.00"), 10, {"Color": "Blue"}),
        "woo-hoodie-green": ("Green", Decimal("45.00"), 4, {"Color": "Green"}),
        "woo-hoodie-red": ("Red", Decimal("42.00"), 0, {"Color": "Red"}),
    }
    beanie = Product.objects.get(variants__sku="woo-beanie")
    assert beanie.variants.get().price == Decimal("20.00")

    again = run(FILES / "woocommerce.csv", columns=WOOCOMMERCE_COLUMNS)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_headerless_file_loads_with_positions():
    result = run(FILES / "headerless.csv", no_header=True, columns=HEADERLESS_COLUMNS)

    assert result.errors == []
    assert result.created == 2
    cup = Product.objects.get(variants__sku="CUP-TALL")
    assert (cup.name, cup.description) == ("Tall cup", "Tall, thin; holds 400 ml.")
    assert (
        cup.category.name == "Cups" and Category.objects.get_parent(cup.category).name == "Kitchen"
    )
    assert cup.variants.get().price == Decimal("7.25")


def test_every_bad_row_is_reported_at_its_row_and_column_and_nothing_is_applied():
    before = table_counts()

    result = run(FILES / "dirty.csv")

    assert table_counts() == before
    assert result.applied is False
    errors = messages(result)
    assert (3, "sku", "SKU 'DUP-1' is also on row 2 of the file.") in errors
    assert [e for e in errors if e[0] == 4 and e[1] is None and "stray line?" in e[2]]
    assert (5, "price", "Not an amount in USD: '12.3.4'.") in errors
    assert (6, "stock_quantity", "Must not be negative.") in errors
    assert (7, "name", "The name is empty.") in errors
    assert (8, "price", "Not an amount in USD: '€5.00'.") in errors
    assert (10, "price", "Not an amount in USD: 'abc'.") in errors
    assert result.errors_total == len(errors) == 7
    assert (result.skipped, result.created) == (6, 2)


def test_skip_invalid_applies_the_good_products_whole():
    result = run(FILES / "dirty.csv", skip_invalid=True)

    assert result.applied is True
    assert result.errors_total == 7
    assert sorted(Product.objects.values_list("slug", flat=True)) == ["dup-a", "good-one"]
    # good-two has a good row and a bad one: neither of its variants is written.
    assert not ProductVariant.objects.filter(sku__in=["GOOD-2", "GOOD-3"]).exists()


def test_sku_of_another_product_and_unknown_category_without_creating(tmp_path):
    other = ProductFactory(slug="other")
    VariantFactory(product=other, sku="TAKEN-1")
    path = tmp_path / "rows.csv"
    path.write_text(
        "product_slug,name,category,sku,price\n"
        "mine,Mine,Misc,TAKEN-1,5.00\n"
        "lost,Lost,Nowhere > Deeper,LOST-1,5.00\n"
    )

    result = run(path, create_categories=False)

    assert messages(result) == [
        (1, "sku", "SKU 'TAKEN-1' is already used by another product ('other')."),
        (2, "category", "No category 'Nowhere > Deeper' (creating categories is off)."),
    ]
    assert not Product.objects.filter(slug__in=["mine", "lost"]).exists()


def test_over_long_fields_are_row_errors(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(
        "product_slug,name,category,tags,sku,price\n"
        f"long,{'N' * 256},Misc,ok,LONG-1,5.00\n"
        f"tag,Tag,Misc,{'t' * 101},TAG-1,5.00\n"
        f"sku,Sku,Misc,ok,{'S' * 65},5.00\n"
    )

    result = run(path)

    assert messages(result) == [
        (1, "name", "At most 255 characters (256 given)."),
        (2, "tags", f"A name has at most 100 characters: {'t' * 40!r}..."),
        (3, "sku", "A SKU has at most 64 characters."),
    ]


def test_rows_of_one_product_must_be_consecutive(tmp_path):
    path = tmp_path / "split.csv"
    path.write_text(
        "product_slug,name,category,sku,price\n"
        "a,A,Misc,A-1,1.00\nb,B,Misc,B-1,1.00\na,A,Misc,A-2,1.00\n"
    )

    result = run(path)

    assert messages(result) == [
        (
            3,
            "product_slug",
            "Product 'a' already had rows from row 1: a product's rows must be consecutive.",
        )
    ]


def test_slugs_from_names_resolve_collisions_in_file_order(tmp_path):
    ProductFactory(slug="mug")
    path = tmp_path / "mugs.csv"
    path.write_text(
        "name,category,sku,price\n"
        "Mug,Misc,M-1,1.00\nCup,Misc,C-1,1.00\nMug,Misc,M-2,1.00\nMUG!,Misc,M-3,1.00\n"
    )

    run(path)

    skus = ["M-1", "C-1", "M-2", "M-3"]
    slugs = dict(ProductVariant.objects.filter(sku__in=skus).values_list("sku", "product__slug"))
    assert slugs == {"M-1": "mug-2", "C-1": "cup", "M-2": "mug-3", "M-3": "mug-4"}


def test_updates_write_only_what_differs_and_stock_goes_through_the_stock_module(
    tmp_path, settings
):
    settings.LOW_STOCK_THRESHOLD = 5
    product = ProductFactory(slug="kept", name="Kept", description="Staff wrote this.")
    variant = VariantFactory(
        product=product, sku="KEPT-1", price=Decimal("10.00"), stock_quantity=20
    )
    path = tmp_path / "stock.csv"
    # description absent: it is left as it is.
    path.write_text("product_slug,name,sku,price,stock_quantity\nkept,Kept,KEPT-1,10.00,2\n")

    result = run(path)

    assert (result.updated, result.variants_updated) == (1, 1)
    product.refresh_from_db()
    variant.refresh_from_db()
    assert product.description == "Staff wrote this."
    assert (variant.price, variant.stock_quantity) == (Decimal("10.00"), 2)
    assert LowStockAlert.objects.filter(variant=variant, resolved_at__isnull=True).exists()


def test_json_nested_flat_and_under_a_key(tmp_path):
    nested = tmp_path / "nested.json"
    nested.write_text(
        json.dumps(
            {
                "products": [
                    {
                        "product_slug": "lamp",
                        "name": "Lamp",
                        "category": "Home > Lighting",
                        "tags": ["brass", "warm light"],
                        "published": False,
                        "variants": [
                            {"sku": "LAMP-1", "price": "30.00", "stock_quantity": 3},
                            {"sku": "LAMP-2", "price": 35, "attributes": {"Finish": "Matte"}},
                        ],
                    }
                ]
            }
        )
    )
    flat = tmp_path / "flat.json"
    flat.write_text(
        json.dumps([{"Title": "Vase", "Code": "VASE-1", "Cost": 12.5, "category": "Home"}])
    )

    first = run(nested, records="products")
    second = run(flat, columns="name=Title,sku=Code,price=Cost")

    assert first.errors == [] and second.errors == []
    lamp = Product.objects.get(slug="lamp")
    assert lamp.is_published is False
    assert sorted(lamp.tags.values_list("name", flat=True)) == ["brass", "warm light"]
    assert lamp.variants.get(sku="LAMP-2").attributes == {"Finish": "Matte"}
    assert ProductVariant.objects.get(sku="VASE-1").price == Decimal("12.50")
    with pytest.raises(reader.FileError, match="--records"):
        run(nested)


def test_zip_with_images_and_a_missing_image(tmp_path):
    archive = tmp_path / "catalog.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(
            "catalog.csv",
            "product_slug,name,category,sku,price,images\n"
            "framed,Framed,Art,FR-1,40.00,photos/front.png\n"
            "unframed,Unframed,Art,UF-1,20.00,missing.png\n",
        )
        zipped.writestr("photos/front.png", image_bytes("PNG", size=(10, 10)))

    result = run(archive, skip_invalid=True)

    assert messages(result) == [(2, "images", "No file 'missing.png' in the ZIP.")]
    image = ProductImage.objects.get(product__slug="framed")
    assert image.source == "photos/front.png"
    assert image.image.storage.exists(image.image.name)
    assert not Product.objects.filter(slug="unframed").exists()


def test_image_url_that_fails_is_a_row_error_and_nothing_is_stored(tmp_path, image_server):
    path = tmp_path / "urls.csv"
    path.write_text(
        "product_slug,name,category,sku,price,images\n"
        f"good,Good,Art,G-1,1.00,{image_server.url}/good.png\n"
        f"gone,Gone,Art,G-2,1.00,{image_server.url}/gone.jpg\n"
    )

    result = run(path)

    assert messages(result)[0][:2] == (2, "images")
    assert "404" in messages(result)[0][2]
    assert ProductImage.objects.count() == 0
    assert not Product.objects.filter(slug="good").exists()


def test_file_that_is_not_utf8_or_not_json_fails_whole(tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,sku,price\nCaf\xe9,C-1,1.00\n".encode("latin-1"))
    broken = tmp_path / "broken.json"
    broken.write_text('[{"name": ')

    with pytest.raises(reader.FileError, match="not UTF-8"):
        run(latin)
    with pytest.raises(reader.FileError, match="not JSON"):
        run(broken)


def test_check_runs_a_fixed_number_of_queries_per_chunk(tmp_path):
    def catalog(products: int) -> Path:
        path = tmp_path / f"{products}.csv"
        rows = "".join(f"p{n},Product {n},Misc,P-{n},1.00\n" for n in range(products))
        path.write_text("product_slug,name,category,sku,price\n" + rows)
        return path

    def queries(path: Path) -> int:
        with CaptureQueriesContext(connection) as captured:
            run(path, dry_run=True)
        return len(captured)

    assert queries(catalog(3)) == queries(catalog(300))


def test_apply_of_a_chunk_runs_a_fixed_number_of_queries(tmp_path):
    def catalog(products: int, name: str) -> Path:
        path = tmp_path / f"{name}.csv"
        rows = "".join(
            f"{name}{n},Product {n},Misc,{name}-{n},1.00,5,tag{n % 3}\n" for n in range(products)
        )
        path.write_text("product_slug,name,category,sku,price,stock_quantity,tags\n" + rows)
        return path

    run(catalog(3, "warm"))  # Creates the category and the tags.
    with CaptureQueriesContext(connection) as small:
        run(catalog(3, "small"))
    with CaptureQueriesContext(connection) as large:
        run(catalog(300, "large"))

    assert len(small) == len(large)
    assert Product.objects.filter(slug__startswith="large").count() == 300
    assert_derived_columns_exact()


def test_zip_holding_only_a_catalog_file_in_a_folder(tmp_path):
    archive = tmp_path / "only.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("x/catalog.csv", "name,category,sku,price\nOne,Misc,ONE-1,1.00\n")
    archive.write_bytes(buffer.getvalue())

    result = run(archive)

    assert result.created == 1
    assert Tag.objects.count() == 0 and Collection.objects.count() == 0


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_the_demo_catalog_exported_and_imported_back_changes_nothing(tmp_path, kind):
    from storefront.catalog.demo import load_demo_catalog
    from storefront.catalog.exports import iter_catalog_csv, iter_catalog_json

    load_demo_catalog()
    export = tmp_path / f"catalog.{kind}"
    chunks = iter_catalog_csv() if kind == "csv" else iter_catalog_json()
    export.write_text("".join(chunks), encoding="utf-8")
    before = table_counts()

    result = run(export)

    assert result.errors == []
    assert (result.created, result.updated, result.unchanged) == (0, 0, 32)
    assert (result.variants_created, result.variants_updated, result.variants_unchanged) == (
        0,
        0,
        73,
    )
    assert table_counts() == before


def test_a_sku_taken_while_the_import_applies_rolls_it_back_with_a_reason(tmp_path, monkeypatch):
    path = tmp_path / "new.csv"
    path.write_text("product_slug,name,category,sku,price\nfresh,Fresh,Misc,FRESH-1,1.00\n")
    write = importer._Run._write

    def clashing_write(run, plans):
        VariantFactory(sku="FRESH-1")  # Another writer, after the apply matched the SKUs.
        write(run, plans)

    monkeypatch.setattr(importer._Run, "_write", clashing_write)

    result = run(path)

    assert result.applied is False
    assert messages(result) == [(None, None, importer.CLASHED)]
    assert not Product.objects.filter(slug="fresh").exists()
