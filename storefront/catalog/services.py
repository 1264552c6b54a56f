"""Catalog writes: products with their variants, the category tree, product images.

Prices are Decimal amounts in the store currency (settings.STORE_CURRENCY); stock quantities
are units on hand. Input shapes are validated by the API serializers; the rules here are the
ones that need the database (SKUs unique across products, tree moves, image contents).
Errors: django.core.exceptions.ValidationError keyed by field (HTTP 400), ProtectedError
(HTTP 409), ProductImageNotFound (HTTP 404); see storefront/catalog/exceptions.py.
"""

import uuid
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypedDict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, DecimalField, F, When
from django.utils import timezone
from PIL import Image
from treebeard.exceptions import InvalidMoveToDescendant, PathOverflow

from storefront.carts.models import CartItem
from storefront.catalog import cache, images, stock
from storefront.catalog.exceptions import (
    CategoryHasProducts,
    CategoryNotFound,
    ProductImageNotFound,
    ProductNotFound,
)
from storefront.catalog.models import (
    Category,
    Collection,
    Product,
    ProductImage,
    ProductVariant,
    Tag,
)
from storefront.pricing.models import TaxClass
from storefront.webhooks import services as webhooks
from storefront.webhooks.models import EventType


class VariantData(TypedDict, total=False):
    """One variant (SKU) as written: `id` only to update an existing variant of the product."""

    id: int
    sku: str
    name: str
    price: Decimal
    stock_quantity: int
    attributes: dict[str, Any]
    weight_grams: int | None


VARIANT_FIELDS = ("sku", "name", "price", "stock_quantity", "attributes", "weight_grams")
PRODUCT_FIELDS = ("name", "slug", "description", "category", "is_published", "tax_class")

# Marks a keyword argument the caller did not pass (None is a meaningful value).
UNCHANGED: Any = object()

DUPLICATE_MESSAGE = (
    "Another product already uses this slug or one of these SKUs (or the change clashes "
    "with a concurrent one); nothing was saved."
)


@contextmanager
def _atomic_reporting_duplicates() -> Iterator[None]:
    """A transaction whose unique-constraint violations come out as a 400, not a 500.

    The checks before writing catch the common cases with a precise message; this catches
    what they cannot (two requests racing, SKUs swapped between variants of one product).
    """
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        raise ValidationError(DUPLICATE_MESSAGE, code="unique") from exc


def _check_skus_free(*, skus: Iterable[str], product: Product | None) -> None:
    """Raise ValidationError(variants) if a SKU belongs to a variant of another product."""
    taken = ProductVariant.objects.filter(sku__in=list(skus))
    if product is not None:
        taken = taken.exclude(product=product)
    taken_skus = sorted(taken.values_list("sku", flat=True))
    if taken_skus:
        raise ValidationError(
            {"variants": [f"SKU already used by another product: {', '.join(taken_skus)}."]},
            code="unique",
        )


def create_product(
    *,
    name: str,
    slug: str,
    category: Category,
    variants: Sequence[VariantData],
    description: str = "",
    collections: Iterable[Collection] = (),
    tags: Iterable[Tag] = (),
    is_published: bool = True,
    tax_class: str = TaxClass.STANDARD,
) -> Product:
    """Create a product with its variants (at least one), collections and tags, taxed at
    its `tax_class` (a pricing.models.TaxClass value: which of a country's rates applies).

    Raises ValidationError: no variant; a SKU used by another product; slug or SKU taken
    meanwhile. Nothing is saved on error.
    """
    if not variants:
        raise ValidationError({"variants": ["A product needs at least one variant."]})
    _check_skus_free(skus=[v["sku"] for v in variants], product=None)
    with _atomic_reporting_duplicates():
        product = Product.objects.create(
            name=name,
            slug=slug,
            category=category,
            description=description,
            is_published=is_published,
            tax_class=tax_class,
        )
        product.collections.set(collections)
        product.tags.set(tags)
        ProductVariant.objects.bulk_create(
            ProductVariant(product=product, **{f: v[f] for f in VARIANT_FIELDS if f in v})
            for v in variants
        )
        webhooks.emit(EventType.PRODUCT_CREATED, _product_data(product))
    return product


def update_product(
    *,
    product: Product,
    changes: Mapping[str, Any],
    collections: Iterable[Collection] | None = None,
    tags: Iterable[Tag] | None = None,
    variants: Sequence[VariantData] | None = None,
    deleted_variants: Iterable[int] | None = None,
) -> Product:
    """Apply `changes` (any of PRODUCT_FIELDS: name, slug, description, category,
    is_published, tax_class) to `product`.

    `collections` / `tags`, when given, replace the product's. `variants`, when given: an
    item with `id` updates that variant, an item without creates one. Variants are deleted
    (cart items holding them go too; order items keep their snapshot) as `deleted_variants`
    says: the ids to delete; when it is None and `variants` is given, every variant not
    listed (the API's replace semantics). Only the columns whose value changes are written;
    a stock quantity of an existing variant through catalog/stock.py's set_stock (low-stock
    alert, cache), like every change of stock.
    Raises ProductNotFound if the product was deleted meanwhile; ValidationError: empty
    `variants` (or every variant deleted); an `id` that is not a variant of this product; a
    SKU used by another product; slug or SKU taken meanwhile. Nothing is saved on error.

    Locks follow the lock order of docs/checkout.md: the product's staff write lock
    (lock_product: staff edits of one product apply one after the other, while checkouts'
    foreign-key checks against it pass), then the variants in id order, and the product's
    own UPDATE last, so a new slug (a key change, FOR UPDATE) is only written once no
    checkout waits on this edit.
    """
    if variants is not None:
        if not variants:
            raise ValidationError({"variants": ["A product needs at least one variant."]})
        _check_skus_free(skus=[v["sku"] for v in variants if "sku" in v], product=product)
    with _atomic_reporting_duplicates():
        locked = lock_product(product=product)
        if variants is not None or deleted_variants is not None:
            _write_variants(product=locked, variants=variants or (), deleted=deleted_variants)
        fields = {field: changes[field] for field in PRODUCT_FIELDS if field in changes}
        changed = _assign_changes(locked, fields)
        locked.save(update_fields=[*changed, "updated_at"])
        if collections is not None:
            locked.collections.set(collections)
        if tags is not None:
            locked.tags.set(tags)
        given = {"variants": variants, "collections": collections, "tags": tags}
        changed += [name for name, value in given.items() if value is not None]
        if deleted_variants is not None and "variants" not in changed:
            changed.append("variants")
        webhooks.emit(EventType.PRODUCT_UPDATED, {**_product_data(locked), "changed": changed})
    return locked


def _product_data(product: Product) -> dict:
    """What product.created and product.updated say of the product (docs/webhooks.md)."""
    return {
        "id": product.pk,
        "slug": product.slug,
        "name": product.name,
        "is_published": product.is_published,
        "category_id": product.category_id,
        "tax_class": product.tax_class,
    }


def lock_product(*, product: Product) -> Product:
    """Take the staff write lock of `product` until the transaction ends; return it freshly
    read.

    The first lock of every staff write to a product (see update_product), step 2 of the lock
    order: a transaction-level advisory lock on the product's id (the only advisory locks
    of this database), so staff writes to one product apply one after the other. Not the
    product row: a sale that empties a variant (or a restock that refills one) writes its
    product's derived columns (catalog migration 0005) while holding that variant, and a
    staff write holding the row while waiting for the variant would close a cycle. Raises
    ProductNotFound if it was deleted meanwhile. Call it inside a transaction.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [product.pk])
    locked = Product.objects.filter(pk=product.pk).first()
    if locked is None:
        raise ProductNotFound()
    return locked


def lock_variants(
    *, kept: Iterable[int], deleted: Iterable[int] = (), product: Product | None = None
) -> dict[int, ProductVariant]:
    """Lock variants for a staff write, in the lock order of docs/checkout.md; return the
    `kept` ones (those to update), freshly read, by id.

    Ascending id, as a checkout locks them; each `deleted` variant's cart items are locked
    just before it, because a checkout holding one of them waits for its variant next.
    `kept` variants are locked FOR NO KEY UPDATE, `deleted` ones FOR UPDATE. With `product`,
    only its variants are locked. Ids that match no variant (deleted meanwhile) are skipped.
    Call it inside a transaction, after lock_product when the product is written too.
    """
    kept, deleted = set(kept), set(deleted)
    variants = ProductVariant.objects.all() if product is None else product.variants.all()
    locked: dict[int, ProductVariant] = {}
    run: list[int] = []

    def lock_run() -> None:
        """One statement for a run of kept variants with no deleted one between them."""
        locked.update(
            (variant.pk, variant)
            for variant in variants.select_for_update(no_key=True).filter(pk__in=run).order_by("pk")
        )
        run.clear()

    for pk in sorted(kept | deleted):
        if pk not in deleted:
            run.append(pk)
            continue
        if run:
            lock_run()
        list(
            CartItem.objects.select_for_update()
            .filter(variant_id=pk)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        list(variants.select_for_update().filter(pk=pk).values_list("pk", flat=True))
    if run:
        lock_run()
    return locked


def _write_variants(
    *, product: Product, variants: Sequence[VariantData], deleted: Iterable[int] | None
) -> None:
    """update_product's variant writes: lock, then delete, then update and create in the
    order given (a SKU one variant gives up can be taken by a variant listed after it), then
    set the stock of the variants updated (catalog/stock.py)."""
    existing = set(product.variants.values_list("pk", flat=True))
    listed = {v["id"] for v in variants if "id" in v}
    deleted = existing - listed if deleted is None else set(deleted)
    unknown = sorted((listed | deleted) - existing)
    if unknown:
        ids = ", ".join(str(pk) for pk in unknown)
        raise ValidationError({"variants": [f"Not a variant of this product: {ids}."]})
    if deleted & listed:
        raise ValidationError({"variants": ["A variant cannot be both kept and deleted."]})
    if deleted and deleted == existing and all("id" in v for v in variants):
        raise ValidationError({"variants": ["A product needs at least one variant."]})
    locked = lock_variants(kept=listed, deleted=deleted, product=product)
    gone = sorted(listed - locked.keys())
    if gone:
        ids = ", ".join(str(pk) for pk in gone)
        raise ValidationError({"variants": [f"Not a variant of this product: {ids}."]})
    if deleted:
        product.variants.filter(pk__in=deleted).delete()
    stock_set: dict[int, int] = {}
    for data in variants:
        values = {f: data[f] for f in VARIANT_FIELDS if f in data}
        if "id" not in data:
            ProductVariant.objects.create(product=product, **values)
            continue
        variant = locked[data["id"]]
        if "stock_quantity" in values:
            stock_set[variant.pk] = values.pop("stock_quantity")
        changed = _assign_changes(variant, values)
        if changed:
            variant.save(update_fields=[*changed, "updated_at"])
    # Stock moves only through the stock module, which writes what differs, checks the
    # low-stock alerts and invalidates the cache; the variants are locked already.
    stock.set_stock(quantities=stock_set)


def _assign_changes(instance: Product | ProductVariant, values: Mapping[str, Any]) -> list[str]:
    """Set `values` (field name: value) on `instance`; return the names of those that differ
    from what it holds, the only columns to write: writing a column again from a copy read
    earlier (a stock quantity read before a sale) would undo a concurrent change."""
    changed = []
    for name, value in values.items():
        field = instance._meta.get_field(name)
        current = getattr(instance, field.attname)
        new = value.pk if field.is_relation and value is not None else value
        if current != new:
            setattr(instance, name, value)
            changed.append(name)
    return changed


def delete_product(*, product: Product) -> None:
    """Delete `product`, its variants and images (files removed once the deletion commits).

    Order items keep their snapshot (their product and variant links become null). Raises
    ProductNotFound if it was deleted meanwhile. Locks in the lock order of docs/checkout.md
    (the product's staff write lock, its variants in id order, the product's DELETE last).
    """
    with transaction.atomic():
        locked = lock_product(product=product)
        lock_variants(kept=(), deleted=locked.variants.values_list("pk", flat=True))
        files = [image.image.name for image in locked.images.all()]
        locked.delete()
        transaction.on_commit(lambda: _delete_files(files))


def delete_variants(*, variant_ids: Iterable[int]) -> None:
    """Delete the variants `variant_ids` (cart items holding them go too; order items keep
    their snapshot, their variant link becomes null), locking in the lock order of
    docs/checkout.md. Ids of variants already deleted are skipped."""
    variant_ids = set(variant_ids)
    with transaction.atomic():
        lock_variants(kept=(), deleted=variant_ids)
        ProductVariant.objects.filter(pk__in=variant_ids).delete()


def _delete_files(names: Iterable[str]) -> None:
    storage = ProductImage._meta.get_field("image").storage
    for name in names:
        if name:
            storage.delete(name)


# --- Category tree -------------------------------------------------------------------------


def create_category(
    *, name: str, slug: str, description: str = "", parent: Category | None = None
) -> Category:
    """Add a category at its sorted place under `parent`, or as a root without one.

    Raises ValidationError: slug taken meanwhile, or the tree is full at that level.
    """
    values = {"name": name, "slug": slug, "description": description}
    try:
        with transaction.atomic():
            if parent is None:
                return Category.objects.add_root(values)
            return Category.objects.add_child(parent, values)
    except IntegrityError as exc:
        raise ValidationError({"slug": ["A category with this slug already exists."]}) from exc
    except PathOverflow as exc:
        raise ValidationError({"parent": [f"No room for another category here: {exc}"]}) from exc


def update_category(
    *, category: Category, changes: Mapping[str, Any], parent: Category | None = UNCHANGED
) -> Category:
    """Apply `changes` (any of name, slug, description) and, if `parent` is given, move the
    category (with its subtree and products) under `parent`, or to the roots for None.

    Renaming or moving keeps siblings sorted by name. Raises ValidationError: moving a
    category under itself or one of its descendants; slug taken meanwhile.
    """
    fields = [f for f in ("name", "slug", "description") if f in changes]
    try:
        with transaction.atomic():
            category = Category.objects.select_for_update().filter(pk=category.pk).first()
            if category is None:  # Deleted meanwhile.
                raise CategoryNotFound()
            for field in fields:
                setattr(category, field, changes[field])
            if fields:
                # Only these columns: the tree columns may have moved under this instance.
                category.save(update_fields=fields)
            if parent is not UNCHANGED or "name" in fields:
                _place_category(category, parent)
    except IntegrityError as exc:
        raise ValidationError({"slug": ["A category with this slug already exists."]}) from exc
    category.refresh_from_db()
    return category


def _place_category(category: Category, parent: Category | None) -> None:
    """Move `category` to its sorted place under `parent` (UNCHANGED: its current parent)."""
    if parent is UNCHANGED:
        parent = Category.objects.get_parent(category)
    if parent is not None:
        parent.refresh_from_db()
        if parent.pk == category.pk or parent.is_descendant_of(category):
            raise ValidationError(
                {"parent": ["A category cannot be moved under itself or its descendants."]}
            )
    try:
        if parent is not None:
            Category.objects.move(category, parent, "sorted-child")
            return
        other_root = Category.objects.get_root_nodes().exclude(pk=category.pk).first()
        if other_root is not None:
            Category.objects.move(category, other_root, "sorted-sibling")
    except InvalidMoveToDescendant as exc:
        raise ValidationError({"parent": [str(exc)]}) from exc
    except PathOverflow as exc:
        raise ValidationError({"parent": [f"No room for another category here: {exc}"]}) from exc


def delete_category(*, category: Category) -> None:
    """Delete `category` and its descendants.

    Raises CategoryHasProducts (HTTP 409) if any of them still holds products, and nothing is
    deleted. (The check counts rows instead of letting Django's deletion collector find them:
    the collector loads every protected product into memory. Should a product arrive between
    check and delete, the PROTECT foreign key still refuses, with ProtectedError, also 409, in
    the one transaction treebeard deletes the subtree in.)
    """
    products = Product.objects.in_category(category).count()
    if products:
        raise CategoryHasProducts(
            f"Cannot delete: {products} product(s) are still in this category or its "
            "descendants. Move or delete them first.",
            details={"related": ["products"], "products": products},
        )
    category.delete()


# --- Product images ------------------------------------------------------------------------

# File extension per Pillow format, for the stored file name.
IMAGE_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}


def check_image_file(file: UploadedFile) -> ContentFile:
    """Return a clean copy of `file` if it is an allowed image; raise ValidationError.

    Allowed: at most settings.PRODUCT_IMAGE_MAX_BYTES bytes, in one of
    settings.PRODUCT_IMAGE_FORMATS, at most settings.PRODUCT_IMAGE_MAX_PIXELS pixels (width
    x height read from the header before anything is decoded; summed over the frames of an
    animation), and decoding completely: a truncated or corrupt file is refused. The copy
    (storefront/catalog/images.py) is encoded again from the decoded pixels in the same
    format, so metadata and anything appended to the file are dropped; it is a ContentFile
    named "<random>.<ext>". The file is rewound afterwards. Errors are on the field `image`.
    """
    max_bytes = settings.PRODUCT_IMAGE_MAX_BYTES
    if file.size is None or file.size > max_bytes:
        raise _image_error(
            f"The image is larger than the {max_bytes} bytes allowed.", "file_too_large"
        )
    max_pixels = settings.PRODUCT_IMAGE_MAX_PIXELS
    too_many_pixels = _image_error(
        f"The image has more than the {max_pixels} pixels allowed.", "too_many_pixels"
    )
    allowed = ", ".join(settings.PRODUCT_IMAGE_FORMATS)
    try:
        file.seek(0)
        with warnings.catch_warnings():
            # The pixel limit checked below is the one that counts (Pillow's own is higher).
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                image_format = image.format
                if image_format not in settings.PRODUCT_IMAGE_FORMATS:
                    raise _image_error(
                        f"Image format {image_format} is not allowed (allowed: {allowed}).",
                        "invalid_image_format",
                    )
                if image.width * image.height > max_pixels:
                    raise too_many_pixels
                content = images.reencode(image, max_pixels=max_pixels)
    except ValidationError:
        raise
    except (images.TooManyPixels, Image.DecompressionBombError) as exc:
        raise too_many_pixels from exc
    # Pillow raises many exception types on malformed input (OSError, SyntaxError,
    # ValueError, struct.error, ...): any of them means "not an image".
    except Exception as exc:
        raise _image_error(
            f"The file is not a valid image (allowed formats: {allowed}).", "invalid_image"
        ) from exc
    finally:
        file.seek(0)
    extension = IMAGE_EXTENSIONS.get(image_format, image_format.lower())
    return ContentFile(content, name=f"{uuid.uuid4().hex}.{extension}")


def _image_error(message: str, code: str) -> ValidationError:
    return ValidationError({"image": [message]}, code=code)


def add_product_image(
    *, product: Product, file: UploadedFile, alt: str = "", sort_order: int = 0
) -> ProductImage:
    """Store a clean copy of `file` as an image of `product`, shown in `sort_order` (ascending).

    Raises ValidationError (field `image`) unless check_image_file accepts it; then nothing
    is stored. What is stored is check_image_file's re-encoded copy, never the upload's
    bytes, under a fresh name (products/<product id>-<random>.<ext>).
    """
    content = check_image_file(file)
    image = ProductImage(product=product, alt=alt, sort_order=sort_order)
    image.image.save(f"{product.pk}-{content.name}", content, save=False)
    try:
        with transaction.atomic():
            image.save()
    except Exception:
        _delete_files([image.image.name])
        raise
    return image


def delete_product_image(*, product: Product, image_id: int) -> None:
    """Delete image `image_id` of `product` (its file once the deletion commits).

    Raises ProductImageNotFound if `product` has no such image.
    """
    with transaction.atomic():
        image = ProductImage.objects.filter(product=product, pk=image_id).first()
        if image is None:
            raise ProductImageNotFound()
        name = image.image.name
        image.delete()
        transaction.on_commit(lambda: _delete_files([name]))


# --- Stock and prices by SKU (a warehouse or ERP sync) ---------------------------------------


class VariantSync(TypedDict, total=False):
    """One line of sync_variants: the variant's `sku`, and its new `stock_quantity` (units on
    hand), its new `price` (store currency), or both."""

    sku: str
    stock_quantity: int
    price: Decimal


def sync_variants(*, lines: Sequence[VariantSync]) -> list[ProductVariant]:
    """Set the stock and prices of the variants that `lines` name by SKU, all or nothing;
    return those variants as now stored, in the order of `lines`.

    Each SKU appears at most once in `lines` (ValueError otherwise: the API refuses repeats
    first, naming the lines). Raises ValidationError, and writes nothing, when a SKU is no
    variant's: its `error_dict` maps the index in `lines` of each such line to its message.

    Locks the variants FOR NO KEY UPDATE in ascending id (step 3 of the lock order of
    docs/checkout.md), then all their products FOR NO KEY UPDATE in ascending id (the step
    that the triggers of migration 0005, which keep Product.min_price and Product.in_stock
    exact, add after the variants). Writes the prices that differ in one UPDATE, then sets
    the stock through stock.set_stock, the one writer of stock: it writes the quantities
    that differ, opens or resolves the low-stock alerts and invalidates the cached responses
    of the products whose stock moved (all of them when a variant runs out or comes back).
    A price that changes invalidates every cached catalog response on commit: the UPDATE
    sends no signal, and a new price can move its product into or out of a price filter,
    reorder a price-sorted list and change its counts (storefront/catalog/cache.py; the
    change log's check would invalidate everything for it too). Runs in the caller's
    transaction, or in its own. Queries: two locks, one price UPDATE if a price changes,
    then set_stock's (one to six), whatever the number of lines.
    """
    skus = [line["sku"] for line in lines]
    if len(set(skus)) != len(skus):
        raise ValueError("sync_variants: a SKU is listed twice.")
    if not lines:
        return []
    with transaction.atomic():
        locked = {
            variant.sku: variant
            for variant in ProductVariant.objects.select_for_update(no_key=True)
            .filter(sku__in=skus)
            .order_by("pk")
        }
        unknown = {
            index: [ValidationError("No variant has this SKU.", code="unknown_sku")]
            for index, sku in enumerate(skus)
            if sku not in locked
        }
        if unknown:
            raise ValidationError(unknown)
        # The products in one statement: the triggers would otherwise lock them statement
        # by statement (those the price UPDATE moves, then those set_stock's moves), out of
        # id order, so two syncs could each hold a product the other waits for.
        list(
            Product.objects.select_for_update(no_key=True)
            .filter(pk__in={variant.product_id for variant in locked.values()})
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        prices: dict[int, Decimal] = {}
        quantities: dict[int, int] = {}
        for line in lines:
            variant = locked[line["sku"]]
            if "price" in line and line["price"] != variant.price:
                prices[variant.pk] = variant.price = line["price"]
            if "stock_quantity" in line:
                quantities[variant.pk] = variant.stock_quantity = line["stock_quantity"]
        if prices:
            ProductVariant.objects.filter(pk__in=prices).update(
                price=Case(
                    *(When(pk=pk, then=price) for pk, price in prices.items()),
                    default=F("price"),
                    output_field=DecimalField(max_digits=12, decimal_places=2),
                ),
                updated_at=timezone.now(),
            )
            cache.invalidate_catalog()
        stock.set_stock(quantities=quantities)
    return [locked[sku] for sku in skus]
