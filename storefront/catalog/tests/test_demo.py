"""The demo catalog loader (storefront/catalog/demo.py) and `manage.py load_demo_catalog`."""

import base64
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from storefront.catalog.models import (
    Category,
    Collection,
    Product,
    ProductImage,
    ProductVariant,
    Tag,
)
from storefront.pricing.models import (
    ShippingMethod,
    ShippingZone,
    ShippingZoneCountry,
    TaxClass,
    TaxRate,
    Voucher,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    """A MEDIA_ROOT of this test's own, so file counts are exact."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def load(**options) -> str:
    out = StringIO()
    call_command("load_demo_catalog", stdout=out, **options)
    return out.getvalue()


def media_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def loaded(media_root) -> str:
    return load()


def test_first_load_prints_a_one_line_summary_of_what_it_created(media_root):
    output = load()

    assert output.strip() == (
        "Loaded the demo catalog: created 16 categories, 2 collections, 21 tags, "
        "32 products, 73 variants, 50 images, 2 shipping zones, 3 shipping methods, "
        "1 tax rates, 1 vouchers."
    )


def test_loads_16_categories_in_a_tree_of_3_levels(loaded):
    assert Category.objects.count() == 16
    roots = Category.objects.get_root_nodes()
    assert [c.name for c in roots] == ["Accessories", "Apparel", "Groceries"]
    assert {c.depth for c in Category.objects.all()} == {1, 2, 3}


def test_categories_keep_their_upstream_parents_and_slugs(loaded):
    beanies = Category.objects.get(slug="beanies")
    headware = Category.objects.get_parent(beanies)
    assert headware.slug == "headware"
    assert Category.objects.get_parent(headware).slug == "apparel"
    polo = Category.objects.get(slug="polo-shirts-2")
    assert polo.name == "Polo shirts"
    assert Category.objects.get_parent(polo).slug == "shirts"
    assert [
        c.slug for c in Category.objects.get_children(Category.objects.get(slug="groceries"))
    ] == ["juices"]


def test_category_description_has_html_entities_unescaped(loaded):
    homewares = Category.objects.get(slug="homewares")

    assert homewares.description == "Everything a programmer's comfort requires"


def test_loads_the_two_collections_with_their_products(loaded):
    featured = Collection.objects.get(slug="featured-products")
    summer = Collection.objects.get(slug="summer-picks")

    assert Collection.objects.count() == 2
    assert featured.name == "Featured Products"
    assert featured.description == "Team's favourites"
    assert set(featured.products.values_list("slug", flat=True)) == {
        "white-plimsolls",
        "ascii-tee",
        "mighty-mug",
        "cubes-fountain-tee",
    }
    assert summer.name == "Summer Picks"
    assert set(summer.products.values_list("slug", flat=True)) == {
        "blue-plimsolls",
        "darko-polo",
        "dry-sunglasses",
        "cubes-fountain-tee",
    }


def test_loads_32_published_products_in_their_categories(loaded):
    assert Product.objects.count() == 32
    assert Product.objects.published().count() == 32
    plimsolls = Product.objects.get(slug="white-plimsolls")
    assert plimsolls.name == "White Plimsolls"
    assert plimsolls.category.slug == "sneakers"
    assert Product.objects.get(slug="pirates-beanie").category.slug == "beanies"
    assert Product.objects.get(slug="apple-juice").category.slug == "juices"


def test_product_descriptions_are_plain_text_without_entities(loaded):
    dash_force = Product.objects.get(slug="dash-force")
    ascii_tee = Product.objects.get(slug="ascii-tee")

    assert dash_force.description == (
        "Step into summer with the right balance. Every time your head goes down, you see "
        "these beauties, and your mood bounces right back up."
    )
    # The upstream text ends with "&nbsp;": unescaped, then stripped.
    assert ascii_tee.description.endswith("command line kung-fu moves!")
    assert not Product.objects.filter(description__contains="&").exists()
    assert not Product.objects.filter(description__contains="\xa0").exists()


def test_loads_73_variants_with_73_unique_skus(loaded):
    skus = list(ProductVariant.objects.values_list("sku", flat=True))

    assert len(skus) == 73
    assert len(set(skus)) == 73
    assert ProductVariant.objects.filter(product__slug="white-plimsolls").count() == 7


def test_variant_without_upstream_sku_gets_product_slug_and_upstream_pk(loaded):
    hoodie = ProductVariant.objects.get(product__slug="grey-hoodie")
    gift_card = ProductVariant.objects.get(product__slug="gift-card-500")

    assert hoodie.sku == "grey-hoodie-345"
    assert gift_card.sku == "gift-card-500-400"


def test_variant_prices_are_the_usd_prices_of_the_data(loaded):
    prices = dict(ProductVariant.objects.values_list("sku", "price"))

    assert prices["918223582"] == Decimal("80.00")  # White Plimsolls, 39
    assert prices["818223583"] == Decimal("75.00")  # Blue Plimsolls, 41
    assert prices["118223581"] == Decimal("50.00")  # Paul's Balance 420 (PLN 209.96)
    assert prices["113223582"] == Decimal("8.99")  # Enterprise Cloud, Vinyl
    assert prices["124223581"] == Decimal("2.00")  # Own your stack, iTunes
    assert prices["mighty-mug-382"] == Decimal("11.99")
    assert prices["apple-juice-384"] == Decimal("1.99")
    assert prices["gift-card-500-400"] == Decimal("500.00")


def test_variant_stock_quantities_and_attributes_come_from_the_data(loaded):
    dark_tee = ProductVariant.objects.get(sku="112223580")
    book = ProductVariant.objects.get(sku="9018223583")
    juice = ProductVariant.objects.get(sku="apple-juice-384")

    assert (dark_tee.name, dark_tee.stock_quantity, dark_tee.attributes) == (
        "S",
        695,
        {"Size": "S"},
    )
    assert (book.name, book.stock_quantity, book.attributes) == (
        "iTunes",
        700,
        {"Medium": "iTunes"},
    )
    assert (juice.stock_quantity, juice.attributes) == (0, {})


def test_base64_variant_names_are_replaced_with_a_readable_name(loaded):
    hoodie = ProductVariant.objects.get(sku="grey-hoodie-345")
    names = ProductVariant.objects.values_list("name", flat=True)

    assert hoodie.name == "Standard"
    assert base64.b64encode(b"ProductVariant:345").decode() not in names
    assert not [n for n in names if n.startswith("UHJvZHVjdFZhcmlhbnQ6")]


def test_tags_are_the_product_types_and_attribute_values_once_each(loaded):
    names = list(Tag.objects.values_list("name", flat=True))

    assert len(names) == 21
    assert {"Shoe", "Juice", "Beanies & Scarfs", "Cotton", "Saleor Loom", "Frutello"} <= set(names)
    assert Tag.objects.get(name="Beanies & Scarfs").slug == "beanies-scarfs"
    assert Tag.objects.get(slug="saleor-loom").products.count() == 18


def test_product_is_tagged_with_its_type_and_attribute_values(loaded):
    hoodie = Product.objects.get(slug="grey-hoodie")
    juice = Product.objects.get(slug="banana-juice")

    assert set(hoodie.tags.values_list("name", flat=True)) == {
        "Sweatshirt",
        "Cotton",
        "Saleor Loom",
    }
    assert set(juice.tags.values_list("name", flat=True)) == {"Juice", "Banana", "Frutello"}


def test_attaches_50_images_whose_files_are_in_media_root_and_open(loaded, media_root):
    images = list(ProductImage.objects.all())

    assert len(images) == 50
    assert len({i.image.name for i in images}) == 50
    for image in images:
        path = Path(image.image.path)
        assert path.is_relative_to(media_root)
        with Image.open(path) as picture:
            picture.verify()
            assert picture.format == "PNG"
    assert len(media_files(media_root)) == 50


def test_product_images_follow_the_mapping_order_with_alt_text(loaded):
    images = ProductImage.objects.filter(product__slug="white-plimsolls")

    assert [(i.image.name, i.alt, i.sort_order) for i in images] == [
        (f"products/saleor-white-plimsolls-{n}.png", f"White Plimsolls {n}", n - 1)
        for n in range(1, 5)
    ]


def test_team_shirt_gets_the_team_tee_and_dash_tee_images(loaded):
    images = ProductImage.objects.filter(product__slug="team-shirt")

    assert [i.image.name for i in images] == [
        "products/saleor-team-tee-front.png",
        "products/saleor-team-tee-back.png",
        "products/saleor-dash-tee-front.png",
        "products/saleor-dash-tee-back.png",
    ]


def test_digital_product_image_is_left_unattached(loaded, media_root):
    assert not ProductImage.objects.filter(image__contains="digital-product").exists()
    assert not list(media_root.rglob("*digital-product*"))


def test_second_load_creates_nothing_and_says_so(loaded, media_root):
    models = [
        Category,
        Collection,
        Tag,
        Product,
        ProductVariant,
        ProductImage,
        ShippingZone,
        ShippingZoneCountry,
        ShippingMethod,
        TaxRate,
        Voucher,
    ]
    counts = [m.objects.count() for m in models]
    files = media_files(media_root)

    output = load()

    assert [m.objects.count() for m in models] == counts
    assert media_files(media_root) == files
    assert output.strip() == (
        "Demo catalog already loaded (16 categories, 2 collections, 21 tags, 32 products, "
        "73 variants, 50 images, 2 shipping zones, 3 shipping methods, 1 tax rates, "
        "1 vouchers); "
        "nothing created."
    )


def test_second_load_takes_a_handful_of_queries(loaded, django_assert_num_queries):
    # One read each of categories, collections, tags, products, shipping zones, tax rates and
    # the voucher, and the savepoint and its release that stand for the transaction inside
    # the test's own.
    with django_assert_num_queries(9):
        load()


def test_second_load_keeps_staff_edits(loaded):
    ProductVariant.objects.filter(sku="918223582").update(price=Decimal("70.00"), stock_quantity=3)
    Product.objects.filter(slug="white-plimsolls").update(name="White Plimsolls (sale)")

    load()

    variant = ProductVariant.objects.get(sku="918223582")
    assert (variant.price, variant.stock_quantity) == (Decimal("70.00"), 3)
    assert Product.objects.get(slug="white-plimsolls").name == "White Plimsolls (sale)"


def test_deleted_product_is_recreated_with_its_variants_links_and_images(loaded, media_root):
    Product.objects.filter(slug="cubes-fountain-tee").delete()

    output = load()

    tee = Product.objects.get(slug="cubes-fountain-tee")
    assert output.strip() == (
        "Loaded the demo catalog: created 0 categories, 0 collections, 0 tags, "
        "1 products, 5 variants, 2 images, 0 shipping zones, 0 shipping methods, 0 tax rates, "
        "0 vouchers."
    )
    assert tee.variants.count() == 5
    assert tee.collections.count() == 2
    assert tee.tags.count() == 3
    assert tee.images.count() == 2


def test_reload_into_an_empty_database_reuses_the_image_files_already_in_media_root(
    loaded, media_root
):
    files = media_files(media_root)
    Product.objects.all().delete()

    load()

    assert ProductImage.objects.count() == 50
    assert media_files(media_root) == files


def test_image_file_of_another_name_in_media_root_is_not_overwritten(media_root):
    taken = media_root / "products" / "saleor-mighty-mug.png"
    taken.parent.mkdir(parents=True)
    taken.write_bytes(b"not the demo picture")

    load()

    mug = ProductImage.objects.get(product__slug="mighty-mug")
    assert taken.read_bytes() == b"not the demo picture"
    assert mug.image.name != "products/saleor-mighty-mug.png"
    with Image.open(mug.image.path) as picture:
        picture.verify()


def test_failed_load_leaves_no_rows_and_no_copied_files(media_root, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(ProductImage.objects, "bulk_create", fail)

    with pytest.raises(RuntimeError):
        load()

    assert Category.objects.count() == 0
    assert Product.objects.count() == 0
    assert media_files(media_root) == []


def shipping_setup() -> list[tuple]:
    return [
        (
            zone.name,
            zone.rest_of_world,
            [c.country.code for c in zone.countries.all()],
            [
                (m.code, m.name, m.price, m.free_shipping_threshold, m.min_days, m.max_days)
                for m in zone.methods.all()
            ],
        )
        for zone in ShippingZone.objects.order_by("name")
    ]


def test_load_creates_the_default_shipping_setup_for_the_store_country(loaded):
    assert shipping_setup() == [
        (
            "Domestic",
            False,
            ["US"],
            [
                ("standard", "Standard", Decimal("4.99"), Decimal("50.00"), 3, 5),
                ("express", "Express", Decimal("14.99"), None, 1, 2),
            ],
        ),
        (
            "International",
            True,
            [],
            [("international", "International", Decimal("24.99"), None, 7, 14)],
        ),
    ]
    assert ShippingMethod.objects.filter(is_active=True).count() == 3


def test_the_domestic_zone_holds_the_store_country_as_set_at_load_time(media_root, settings):
    settings.STORE_COUNTRY = "FR"

    load()

    assert [c.country.code for c in ShippingZone.objects.get(name="Domestic").countries.all()] == [
        "FR"
    ]


def test_second_load_keeps_staff_edits_of_the_shipping_setup(loaded):
    domestic = ShippingZone.objects.get(name="Domestic")
    domestic.methods.filter(code="express").delete()
    ShippingMethod.objects.filter(code="standard").update(price=Decimal("5.99"))
    domestic.countries.all().delete()

    output = load()

    assert "nothing created" in output
    assert list(domestic.methods.values_list("code", "price")) == [("standard", Decimal("5.99"))]
    assert not domestic.countries.exists()


def test_a_deleted_demo_zone_is_recreated_leaving_what_other_zones_hold(loaded):
    """Staff moved the store country and the `express` code to a zone of their own, made it
    the rest of the world, and deleted both demo zones: the load recreates Domestic without
    them, and no second rest-of-the-world zone."""
    ShippingZone.objects.all().delete()
    usa = ShippingZone.objects.create(name="USA")
    ShippingZoneCountry.objects.create(zone=usa, country="US")
    ShippingMethod.objects.create(zone=usa, code="express", name="Express", price=Decimal("9"))
    ShippingZone.objects.create(name="World", rest_of_world=True)

    output = load()

    assert "1 shipping zones, 1 shipping methods" in output
    domestic = ShippingZone.objects.get(name="Domestic")
    assert not domestic.countries.exists()
    assert list(domestic.methods.values_list("code", flat=True)) == ["standard"]
    assert not ShippingZone.objects.filter(name="International").exists()
    assert ShippingMethod.objects.get(code="express").zone == usa


def tax_setup() -> list[tuple]:
    return list(
        TaxRate.objects.order_by("country", "region", "tax_class").values_list(
            "country", "region", "tax_class", "rate", "name"
        )
    )


def test_load_creates_a_californian_sales_tax_for_a_us_store(loaded, settings):
    assert settings.STORE_COUNTRY == "US"
    assert tax_setup() == [("US", "CA", "standard", Decimal("0.0725"), "Sales tax")]


def test_load_creates_standard_reduced_and_zero_vat_for_any_other_store_country(
    media_root, settings
):
    settings.STORE_COUNTRY = "FR"

    output = load()

    assert "3 tax rates, 1 vouchers." in output
    assert tax_setup() == [
        ("FR", "", "reduced", Decimal("0.0550"), "VAT"),
        ("FR", "", "standard", Decimal("0.2000"), "VAT"),
        ("FR", "", "zero", Decimal("0.0000"), "VAT"),
    ]


def test_second_load_keeps_staff_edits_of_the_tax_rates_and_recreates_deleted_ones(
    media_root, settings
):
    settings.STORE_COUNTRY = "FR"
    load()
    TaxRate.objects.filter(tax_class=TaxClass.STANDARD).update(rate=Decimal("0.2100"))
    TaxRate.objects.filter(tax_class=TaxClass.ZERO).delete()

    output = load()

    assert "0 shipping methods, 1 tax rates, 0 vouchers." in output
    assert tax_setup() == [
        ("FR", "", "reduced", Decimal("0.0550"), "VAT"),
        ("FR", "", "standard", Decimal("0.2100"), "VAT"),
        ("FR", "", "zero", Decimal("0.0000"), "VAT"),
    ]
    assert "nothing created" in load()


def test_a_rate_staff_wrote_in_another_case_of_the_region_is_the_demo_rate(media_root):
    """Regions are compared ignoring case, as quotes compare them: "ca" is California."""
    TaxRate.objects.create(country="US", region="ca", rate=Decimal("0.0800"), name="CA tax")

    output = load()

    assert "0 tax rates" in output
    assert tax_setup() == [("US", "ca", "standard", Decimal("0.0800"), "CA tax")]


def test_tax_rates_follow_the_store_country_at_load_time(loaded, settings):
    """A store moved from the US gets the new country's rates; the old ones stay."""
    settings.STORE_COUNTRY = "DE"

    load()

    assert [(c, r, t) for c, r, t, *_ in tax_setup()] == [
        ("DE", "", "reduced"),
        ("DE", "", "standard"),
        ("DE", "", "zero"),
        ("US", "CA", "standard"),
    ]


def test_missing_data_folder_is_a_command_error(media_root, tmp_path):
    with pytest.raises(CommandError, match="Cannot read demo data file"):
        load(data_dir=tmp_path / "nowhere")

    assert Product.objects.count() == 0


def test_load_creates_the_welcome_voucher_once_and_keeps_staff_edits(loaded):
    voucher = Voucher.objects.get()
    assert (voucher.code, voucher.kind, voucher.value) == ("WELCOME10", "percentage", Decimal("10"))
    assert (voucher.usage_limit, voucher.per_customer_limit, voucher.tiers) == (None, None, [])
    Voucher.objects.update(value=Decimal("15"))

    load()

    assert list(Voucher.objects.values_list("code", "value")) == [("WELCOME10", Decimal("15"))]
