"""Load Saleor's demo catalog (data/saleor/, BSD-3-Clause, see its README.txt) into the catalog.

`load_demo_catalog()` reads the files below, then creates in one transaction whatever is
missing: 16 categories (3 levels), 2 collections, the tags, 32 products, 73 variants (SKUs,
prices in USD) and 50 product images, whose files are copied into MEDIA_ROOT.

- categories_flat.json: the category tree (parent by Saleor pk), slugs as given;
- populatedb_data.json (the raw Saleor fixture): category and collection descriptions, and
  which products each collection holds;
- products_flat.json: products with their category, product type, attributes and variants;
- product_images_mapping.json + images/products/*.png: each product's pictures, in order.

Rows are matched by natural key: categories, collections, tags and products by slug. A row
that already exists is left as it is, so staff edits and stock sold survive the next
`make run`; variants, collection and tag links and images are only added to products the run
creates. A second run therefore creates nothing.

The same transaction gives the demo shop a default shipping setup (storefront/pricing,
docs/shipping.md), so that its checkout charges shipping: a "Domestic" zone holding the store
country (settings.STORE_COUNTRY, read at load time) with methods `standard` (4.99, free from a
50.00 subtotal, 3-5 days) and `express` (14.99, 1-2 days), and the rest-of-the-world zone
"International" with `international` (24.99, 7-14 days). Zones are matched by name and, like
products, left as they are when they exist; their country and methods are only added with a
zone the run creates, and whatever another zone already holds (the country, a method code,
the rest of the world) stays there.

It also gives the store country (settings.STORE_COUNTRY, read at load time) sample tax rates
(docs/taxes.md): for "US", a US-style sales tax on net prices (PRICES_INCLUDE_TAX off, the
default), the standard rate 0.0725 of region "CA" named "Sales tax" (the rest of the country
untaxed); for any other country, VAT as in the EU (prices gross: PRICES_INCLUDE_TAX on), the
standard rate 0.2000, reduced 0.0550 and zero 0.0000, each named "VAT". Rates are matched by
(country, region ignoring case, tax class), as the API matches them; one that exists is left
as it is, so staff edits survive, and one deleted is created again.

And the voucher WELCOME10 (DEMO_VOUCHER: 10 % off the order, no usage limit, for everyone),
unless a voucher has that code, so that a quote in the demo shop shows every kind of
amount: member prices (the tiers of pricing migration 0003), shipping, tax and a voucher.
"""

import base64
import binascii
import html
import json
from dataclasses import dataclass, fields, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils.html import strip_tags
from django.utils.text import slugify

from storefront.catalog import cache
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

# The demo prices are read in this currency; the rest of the store uses STORE_CURRENCY.
DEMO_CURRENCY = "USD"
CENT = Decimal("0.01")

# product_images_mapping.json lists saleor-team-tee-front.png twice for product 135 (Team
# Shirt): an upstream quirk noted in data/saleor/README.txt, where team-tee-back is the
# picture no product gets. The second entry is meant to be the back. The raw fixture's
# productmedia for product 135 are the dash-shirt pair (saleor-dash-tee-front/back.png), so
# Team Shirt gets those two as well.
IMAGE_FILES_OVERRIDE = {
    135: (
        "saleor-team-tee-front.png",
        "saleor-team-tee-back.png",
        "saleor-dash-tee-front.png",
        "saleor-dash-tee-back.png",
    ),
}

# Saleor's demo data names the single variant of some products with its GraphQL global ID,
# base64 of "ProductVariant:<pk>", which means nothing to a shopper.
DEFAULT_VARIANT_NAME = "Standard"


class DemoDataError(ValueError):
    """The demo data files are missing, malformed, or contradict each other."""


@dataclass(frozen=True)
class DemoCategory:
    slug: str
    name: str
    description: str
    parent_slug: str | None
    level: int  # 0 for a root


@dataclass(frozen=True)
class DemoCollection:
    slug: str
    name: str
    description: str
    product_slugs: tuple[str, ...]


@dataclass(frozen=True)
class DemoVariant:
    sku: str
    name: str
    price: Decimal  # in DEMO_CURRENCY, 2 decimal places
    stock_quantity: int
    attributes: dict[str, Any]


@dataclass(frozen=True)
class DemoProduct:
    slug: str
    name: str
    description: str
    category_slug: str
    tag_slugs: tuple[str, ...]
    variants: tuple[DemoVariant, ...]
    image_files: tuple[Path, ...]


@dataclass(frozen=True)
class DemoCatalog:
    """The demo catalog as read from disk, validated, not yet in the database."""

    categories: tuple[DemoCategory, ...]
    collections: tuple[DemoCollection, ...]
    tags: dict[str, str]  # slug -> name
    products: tuple[DemoProduct, ...]


@dataclass(frozen=True)
class CatalogCounts:
    categories: int = 0
    collections: int = 0
    tags: int = 0
    products: int = 0
    variants: int = 0
    images: int = 0
    shipping_zones: int = 0
    shipping_methods: int = 0
    tax_rates: int = 0
    vouchers: int = 0

    def __str__(self) -> str:
        return ", ".join(
            f"{getattr(self, f.name)} {f.name.replace('_', ' ')}" for f in fields(self)
        )

    def is_zero(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self))


@dataclass(frozen=True)
class DemoShippingZone:
    name: str
    rest_of_world: bool
    countries: tuple[str, ...]  # ISO 3166-1 alpha-2
    methods: tuple[dict[str, Any], ...]  # ShippingMethod field values; amounts in DEMO_CURRENCY


def demo_shipping_zones() -> tuple[DemoShippingZone, ...]:
    """The demo shop's shipping setup (module docstring), for the store country as the
    settings give it now."""
    return (
        DemoShippingZone(
            name="Domestic",
            rest_of_world=False,
            countries=(settings.STORE_COUNTRY,),
            methods=(
                {
                    "code": "standard",
                    "name": "Standard",
                    "price": Decimal("4.99"),
                    "free_shipping_threshold": Decimal("50.00"),
                    "min_days": 3,
                    "max_days": 5,
                    "position": 0,
                },
                {
                    "code": "express",
                    "name": "Express",
                    "price": Decimal("14.99"),
                    "min_days": 1,
                    "max_days": 2,
                    "position": 1,
                },
            ),
        ),
        DemoShippingZone(
            name="International",
            rest_of_world=True,
            countries=(),
            methods=(
                {
                    "code": "international",
                    "name": "International",
                    "price": Decimal("24.99"),
                    "min_days": 7,
                    "max_days": 14,
                    "position": 0,
                },
            ),
        ),
    )


@dataclass(frozen=True)
class DemoTaxRate:
    country: str  # ISO 3166-1 alpha-2
    region: str  # "" for the whole country
    tax_class: str  # a TaxClass value
    rate: Decimal  # a fraction: 0.2000 is 20 %
    name: str


def demo_tax_rates() -> tuple[DemoTaxRate, ...]:
    """The demo shop's tax rates (module docstring), for the store country as the settings
    give it now: a Californian sales tax for "US", VAT for any other country."""
    country = settings.STORE_COUNTRY
    if country == "US":
        return (DemoTaxRate(country, "CA", TaxClass.STANDARD, Decimal("0.0725"), "Sales tax"),)
    return (
        DemoTaxRate(country, "", TaxClass.STANDARD, Decimal("0.2000"), "VAT"),
        DemoTaxRate(country, "", TaxClass.REDUCED, Decimal("0.0550"), "VAT"),
        DemoTaxRate(country, "", TaxClass.ZERO, Decimal("0.0000"), "VAT"),
    )


# The demo voucher (module docstring): its code, and what Voucher.objects.create gets.
DEMO_VOUCHER = {
    "code": "WELCOME10",
    "name": "Welcome: 10 % off",
    "kind": Voucher.Kind.PERCENTAGE,
    "value": Decimal("10.00"),
}


@dataclass(frozen=True)
class DemoCatalogResult:
    """What a load created, next to what the demo catalog holds in all."""

    created: CatalogCounts
    total: CatalogCounts

    @property
    def already_loaded(self) -> bool:
        return self.created.is_zero()


def default_data_dir() -> Path:
    """The demo data shipped with the repository: <project>/data/saleor."""
    return Path(settings.BASE_DIR) / "data" / "saleor"


def load_demo_catalog(*, data_dir: Path | None = None) -> DemoCatalogResult:
    """Create whatever part of the demo catalog is missing, in one transaction.

    Image files are copied into the default storage (MEDIA_ROOT) under products/; a file
    already there with the same bytes and no image row pointing at it (left by a database
    that was reset) is reused rather than copied again. If the transaction fails, the files
    this call copied are deleted again.

    Also creates the missing part of the demo shipping setup (demo_shipping_zones()) and of
    the demo tax rates (demo_tax_rates()), for settings.STORE_COUNTRY as it is now, and
    the voucher DEMO_VOUCHER when no voucher has its code.

    Raises DemoDataError if the files under `data_dir` (default: default_data_dir()) are
    missing or malformed.
    """
    catalog = read_demo_catalog(data_dir=data_dir or default_data_dir())
    shipping = demo_shipping_zones()
    taxes = demo_tax_rates()
    storage = ProductImage._meta.get_field("image").storage
    written: list[str] = []
    try:
        with transaction.atomic():
            created = _create_missing(catalog, written=written)
            if not created.is_zero():
                # Rows come from bulk_create, which sends no post_save.
                cache.invalidate_catalog()
            zones, methods = _create_missing_shipping(shipping)
            tax_rates = _create_missing_tax_rates(taxes)
            vouchers = _create_missing_voucher(DEMO_VOUCHER)
    except BaseException:
        for name in written:
            storage.delete(name)
        raise
    total = CatalogCounts(
        categories=len(catalog.categories),
        collections=len(catalog.collections),
        tags=len(catalog.tags),
        products=len(catalog.products),
        variants=sum(len(p.variants) for p in catalog.products),
        images=sum(len(p.image_files) for p in catalog.products),
        shipping_zones=len(shipping),
        shipping_methods=sum(len(z.methods) for z in shipping),
        tax_rates=len(taxes),
        vouchers=1,
    )
    created = replace(
        created,
        shipping_zones=zones,
        shipping_methods=methods,
        tax_rates=tax_rates,
        vouchers=vouchers,
    )
    return DemoCatalogResult(created=created, total=total)


def read_demo_catalog(*, data_dir: Path) -> DemoCatalog:
    """Read and check the demo data files in `data_dir`; touch no database.

    Raises DemoDataError if a file is missing or unreadable, or the data contradicts itself
    (unknown category, duplicate SKU, missing USD price, missing image file).
    """
    data_dir = Path(data_dir)
    try:
        categories_flat = _read_json(data_dir / "categories_flat.json")
        products_flat = _read_json(data_dir / "products_flat.json")
        images_mapping = _read_json(data_dir / "product_images_mapping.json")
        fixture = _read_json(data_dir / "populatedb_data.json")
        return _build_catalog(
            categories_flat=categories_flat,
            products_flat=products_flat,
            images_mapping=images_mapping,
            fixture=fixture,
            images_dir=data_dir / "images" / "products",
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise DemoDataError(f"Malformed demo data in {data_dir}: {exc!r}") from exc


def _read_json(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        raise DemoDataError(f"Cannot read demo data file {path}: {exc}") from exc


def _plain_text(text: str | None) -> str:
    """Text without HTML tags or entities ("&nbsp;" becomes a plain space), trimmed."""
    return html.unescape(strip_tags(text or "")).replace("\xa0", " ").strip()


def _editorjs_text(document: dict | None) -> str:
    """The text of an EditorJS document's blocks, as plain text."""
    blocks = (document or {}).get("blocks", [])
    return _plain_text(" ".join(b.get("data", {}).get("text", "") for b in blocks))


def _is_global_id(name: str, pk: int) -> bool:
    try:
        decoded = base64.b64decode(name, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return decoded == f"ProductVariant:{pk}"


def _build_catalog(
    *,
    categories_flat: list[dict],
    products_flat: list[dict],
    images_mapping: dict[str, list[str]],
    fixture: list[dict],
    images_dir: Path,
) -> DemoCatalog:
    by_model: dict[str, list[dict]] = {}
    for obj in fixture:
        by_model.setdefault(obj["model"], []).append(obj)

    # categories_flat.json has no descriptions; the raw fixture does.
    category_descriptions = {
        obj["pk"]: _plain_text(obj["fields"]["description_plaintext"])
        for obj in by_model.get("product.category", [])
    }
    slug_by_category_pk = {c["saleor_pk"]: c["slug"] for c in categories_flat}
    categories = tuple(
        DemoCategory(
            slug=c["slug"],
            name=c["name"],
            description=category_descriptions.get(c["saleor_pk"], ""),
            parent_slug=slug_by_category_pk[c["parent_pk"]] if c["parent_pk"] else None,
            level=c["level"],
        )
        for c in categories_flat
    )

    product_slug_by_pk = {p["saleor_pk"]: p["slug"] for p in products_flat}
    products_by_collection: dict[int, list[str]] = {}
    for link in by_model.get("product.collectionproduct", []):
        products_by_collection.setdefault(link["fields"]["collection"], []).append(
            product_slug_by_pk[link["fields"]["product"]]
        )
    collections = tuple(
        DemoCollection(
            slug=obj["fields"]["slug"],
            name=obj["fields"]["name"],
            description=_editorjs_text(obj["fields"]["description"]),
            product_slugs=tuple(products_by_collection.get(obj["pk"], [])),
        )
        for obj in by_model.get("product.collection", [])
    )

    tags: dict[str, str] = {}
    products = []
    category_slugs = {c.slug for c in categories}
    for p in products_flat:
        if p["category_slug"] not in category_slugs:
            raise DemoDataError(
                f"Product {p['slug']!r} is in unknown category {p['category_slug']!r}."
            )
        tag_names = [p["product_type"]] + [v for vs in p["attributes"].values() for v in vs]
        tag_slugs = []
        for name in tag_names:
            slug = slugify(name)
            tags.setdefault(slug, name)
            if slug not in tag_slugs:
                tag_slugs.append(slug)
        file_names = IMAGE_FILES_OVERRIDE.get(p["saleor_pk"]) or images_mapping.get(
            str(p["saleor_pk"]), []
        )
        products.append(
            DemoProduct(
                slug=p["slug"],
                name=p["name"],
                description=_plain_text(p["description_plaintext"]),
                category_slug=p["category_slug"],
                tag_slugs=tuple(tag_slugs),
                variants=tuple(_build_variant(v, product_slug=p["slug"]) for v in p["variants"]),
                image_files=tuple(images_dir / name for name in file_names),
            )
        )

    skus = [v.sku for p in products for v in p.variants]
    if len(set(skus)) != len(skus):
        raise DemoDataError("The demo data gives two variants the same SKU.")
    image_files = [f for p in products for f in p.image_files]
    # Each image row gets a file of its own, so deleting one image never breaks another.
    if len(set(image_files)) != len(image_files):
        raise DemoDataError("The demo data gives two images the same file.")
    missing = [str(f) for f in image_files if not f.is_file()]
    if missing:
        raise DemoDataError(f"Missing demo image files: {', '.join(missing)}")
    return DemoCatalog(
        categories=categories, collections=collections, tags=tags, products=tuple(products)
    )


def _build_variant(v: dict, *, product_slug: str) -> DemoVariant:
    # Some upstream variants have no SKU, but a SKU is what identifies a variant here. The
    # product slug plus the upstream variant pk is unique (slugs are unique, pks are unique)
    # and stable from one load to the next, so a second load finds the same variant.
    sku = v["sku"] or f"{product_slug}-{v['saleor_pk']}"
    name = v["name"] or ""
    if _is_global_id(name, v["saleor_pk"]):
        name = DEFAULT_VARIANT_NAME
    try:
        raw_price = Decimal(v["prices"][DEMO_CURRENCY])
    except (KeyError, InvalidOperation) as exc:
        raise DemoDataError(f"Variant {sku!r} has no valid {DEMO_CURRENCY} price.") from exc
    price = raw_price.quantize(CENT)
    if price != raw_price:
        raise DemoDataError(f"Variant {sku!r} costs {raw_price}, more precise than a cent.")
    return DemoVariant(
        sku=sku,
        name=name,
        price=price,
        stock_quantity=int(v["stock"] or 0),
        attributes=dict(v["attributes"] or {}),
    )


def _create_missing(catalog: DemoCatalog, *, written: list[str]) -> CatalogCounts:
    """Create the missing rows; append the name of every image file copied to `written`."""
    categories, created_categories = _create_missing_categories(catalog.categories)
    collections, created_collections = _create_missing_by_slug(
        Collection,
        {c.slug: {"name": c.name, "description": c.description} for c in catalog.collections},
    )
    tags, created_tags = _create_missing_by_slug(
        Tag, {slug: {"name": name} for slug, name in catalog.tags.items()}
    )

    existing = set(
        Product.objects.filter(slug__in=[p.slug for p in catalog.products]).values_list(
            "slug", flat=True
        )
    )
    new_products = [p for p in catalog.products if p.slug not in existing]
    if not new_products:
        return CatalogCounts(
            categories=created_categories, collections=created_collections, tags=created_tags
        )

    created = Product.objects.bulk_create(
        Product(
            name=p.name,
            slug=p.slug,
            description=p.description,
            category=categories[p.category_slug],
            is_published=True,
        )
        for p in new_products
    )
    product_ids = {product.slug: product.pk for product in created}

    variants = _new_variants(new_products, product_ids)
    ProductVariant.objects.bulk_create(variants)

    Product.collections.through.objects.bulk_create(
        Product.collections.through(
            product_id=product_ids[slug], collection_id=collections[c.slug].pk
        )
        for c in catalog.collections
        for slug in c.product_slugs
        if slug in product_ids
    )
    Product.tags.through.objects.bulk_create(
        Product.tags.through(product_id=product_ids[p.slug], tag_id=tags[slug].pk)
        for p in new_products
        for slug in p.tag_slugs
    )
    images = _new_images(new_products, product_ids, written=written)
    ProductImage.objects.bulk_create(images)

    return CatalogCounts(
        categories=created_categories,
        collections=created_collections,
        tags=created_tags,
        products=len(new_products),
        variants=len(variants),
        images=len(images),
    )


def _create_missing_shipping(demo_zones: tuple[DemoShippingZone, ...]) -> tuple[int, int]:
    """Create the demo zones no zone is named as yet, with their countries and methods;
    return how many zones and methods were created. One query when every zone exists.

    What another zone holds stays there (staff may have moved it; the unique constraints of
    storefront/pricing/models.py would refuse it, and failing here would stop `make run`):
    a country another zone lists, a method code another zone uses, and the rest of the world
    (then the rest-of-the-world demo zone is not created).
    """
    existing = set(
        ShippingZone.objects.filter(name__in=[z.name for z in demo_zones]).values_list(
            "name", flat=True
        )
    )
    missing = [z for z in demo_zones if z.name not in existing]
    if not missing:
        return 0, 0
    if ShippingZone.objects.filter(rest_of_world=True).exists():
        missing = [z for z in missing if not z.rest_of_world]
    countries = [code for z in missing for code in z.countries]
    taken_countries = set(
        ShippingZoneCountry.objects.filter(country__in=countries).values_list("country", flat=True)
    )
    codes = [m["code"] for z in missing for m in z.methods]
    taken_codes = set(ShippingMethod.objects.filter(code__in=codes).values_list("code", flat=True))
    methods = 0
    for demo_zone in missing:
        zone = ShippingZone.objects.create(
            name=demo_zone.name, rest_of_world=demo_zone.rest_of_world
        )
        ShippingZoneCountry.objects.bulk_create(
            ShippingZoneCountry(zone=zone, country=code)
            for code in demo_zone.countries
            if code not in taken_countries
        )
        new_methods = ShippingMethod.objects.bulk_create(
            ShippingMethod(zone=zone, **values)
            for values in demo_zone.methods
            if values["code"] not in taken_codes
        )
        methods += len(new_methods)
    return len(missing), methods


def _create_missing_voucher(voucher: dict) -> int:
    """Create `voucher` (Voucher fields) unless a voucher has its code; return how many were
    created (0 or 1). One query when it exists."""
    _, created = Voucher.objects.get_or_create(code=voucher["code"], defaults=voucher)
    return int(created)


def _create_missing_tax_rates(demo_rates: tuple[DemoTaxRate, ...]) -> int:
    """Create the demo rates whose (country, region, tax class) has no rate yet, regions
    compared ignoring case (as the API and quotes compare them); return how many were
    created. One query when every rate exists."""
    countries = {r.country for r in demo_rates}
    existing = {
        (country, region.upper(), tax_class)
        for country, region, tax_class in TaxRate.objects.filter(country__in=countries).values_list(
            "country", "region", "tax_class"
        )
    }
    missing = [r for r in demo_rates if (r.country, r.region.upper(), r.tax_class) not in existing]
    TaxRate.objects.bulk_create(
        TaxRate(country=r.country, region=r.region, tax_class=r.tax_class, rate=r.rate, name=r.name)
        for r in missing
    )
    return len(missing)


def _create_missing_categories(
    demo_categories: tuple[DemoCategory, ...],
) -> tuple[dict[str, Category], int]:
    categories = {
        c.slug: c for c in Category.objects.filter(slug__in=[c.slug for c in demo_categories])
    }
    created = 0
    # Parents before children; by name within a level, so that treebeard's sorted insertion
    # (node_order_by = name) appends instead of shifting the paths of earlier siblings.
    for c in sorted(demo_categories, key=lambda c: (c.level, c.name)):
        if c.slug in categories:
            continue
        kwargs = {"name": c.name, "slug": c.slug, "description": c.description}
        if c.parent_slug is None:
            categories[c.slug] = Category.objects.add_root(kwargs)
        else:
            categories[c.slug] = Category.objects.add_child(categories[c.parent_slug], kwargs)
        created += 1
    return categories, created


def _create_missing_by_slug(model, rows: dict[str, dict[str, Any]]) -> tuple[dict, int]:
    """Create the rows of `model` (slug -> field values) whose slug is not taken yet."""
    by_slug = {obj.slug: obj for obj in model.objects.filter(slug__in=rows)}
    missing = [model(slug=slug, **values) for slug, values in rows.items() if slug not in by_slug]
    if missing:
        by_slug.update((obj.slug, obj) for obj in model.objects.bulk_create(missing))
    return by_slug, len(missing)


def _new_variants(
    new_products: list[DemoProduct], product_ids: dict[str, int]
) -> list[ProductVariant]:
    skus = [v.sku for p in new_products for v in p.variants]
    # A SKU still held by another product (e.g. a demo product whose slug staff changed)
    # stays there: SKUs are unique, and failing here would stop `make run`.
    taken = set(ProductVariant.objects.filter(sku__in=skus).values_list("sku", flat=True))
    return [
        ProductVariant(
            product_id=product_ids[p.slug],
            sku=v.sku,
            name=v.name,
            price=v.price,
            stock_quantity=v.stock_quantity,
            attributes=v.attributes,
        )
        for p in new_products
        for v in p.variants
        if v.sku not in taken
    ]


def _new_images(
    new_products: list[DemoProduct], product_ids: dict[str, int], *, written: list[str]
) -> list[ProductImage]:
    field = ProductImage._meta.get_field("image")
    targets = {
        source: field.generate_filename(ProductImage(), source.name)
        for p in new_products
        for source in p.image_files
    }
    in_use = set(
        ProductImage.objects.filter(image__in=targets.values()).values_list("image", flat=True)
    )
    images = []
    for p in new_products:
        for index, source in enumerate(p.image_files):
            name = _store_file(field.storage, source, targets[source], in_use, written=written)
            images.append(
                ProductImage(
                    product_id=product_ids[p.slug],
                    image=name,
                    alt=f"{p.name} {index + 1}",
                    sort_order=index,
                )
            )
    return images


def _store_file(storage, source: Path, name: str, in_use: set[str], *, written: list[str]) -> str:
    """Copy `source` to `name` in `storage` and return the name it was stored under.

    A file already at `name` with the same bytes that no image row uses is reused; any other
    file there is kept, and the storage picks a free name for the copy.
    """
    content = source.read_bytes()
    if name not in in_use and storage.exists(name):
        with storage.open(name, "rb") as existing:
            if existing.read() == content:
                return name
    with source.open("rb") as fh:
        stored = storage.save(name, File(fh, name=source.name))
    written.append(stored)
    return stored
