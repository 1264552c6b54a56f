"""The catalog: a category tree, collections, tags, products, their variants (SKUs) and images.

Prices are Decimal amounts in the store currency (settings.STORE_CURRENCY, ISO 4217).
"""

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F
from treebeard.mp_tree import MP_Node

from storefront.catalog.querysets import (
    ProductQuerySet,
    VariantQuerySet,
    product_search_vector,
    rating_average,
)
from storefront.core.models import TimeStampedModel
from storefront.pricing.models import MAX_WEIGHT_GRAMS, TaxClass


class Category(MP_Node):
    """A node of the category tree, any depth (materialized path, django-treebeard).

    Deleting a category that still holds products is refused (products PROTECT it).
    """

    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=255, unique=True)
    description = models.TextField(blank=True)

    node_order_by = ["name"]

    class Meta:
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Collection(models.Model):
    """A merchandised set of products, e.g. "Summer Picks"."""

    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=255, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    """A free label on products, e.g. a brand or material."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(TimeStampedModel):
    """A sellable item shown to customers; what is bought is one of its variants.

    Three columns are derived, never written by Django, and exact in the writing transaction:

    - `min_price`: the lowest price of the product's variants (store currency), NULL without
      variants;
    - `in_stock`: whether any of its variants has `stock_quantity` above 0;
    - `search_vector`: the weighted text search document of its name (A) and description (B)
      (querysets.product_search_vector), a stored generated column.

    PostgreSQL keeps `min_price` and `in_stock` (the triggers of migration 0005): every
    INSERT or UPDATE of a product row computes them from its variants, whatever the statement
    wrote there (so a `save()` of an instance read earlier cannot put back stale values), and
    a statement that changes a variant's price or product, moves its stock across zero, adds
    or deletes a variant, locks the products concerned in ascending id and rewrites those
    whose values differ, before the statement returns. A checkout that sells the last unit,
    a cancellation, a staff edit, the admin, an import or raw SQL all leave them right, and
    the catalog reads filter, sort and count on them with indexes instead of reading
    variants. The Python attributes of an instance are as loaded.

    The rating columns are derived from the product's approved reviews (storefront/reviews/,
    docs/reviews.md), exact in the writing transaction likewise: `rating_count` and
    `rating_sum` (of the 1-5 ratings) are moved only by the triggers of reviews migration
    0001, by the difference each statement on the reviews makes, under the product's row
    lock; any other statement's values for them are replaced by the row's current ones
    (catalog migration 0014), so a stale `save()` cannot put back an old count either.
    `rating_average` is their quotient rounded half up to 2 decimals, NULL without an
    approved review (a stored generated column).
    """

    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=255, unique=True)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    collections = models.ManyToManyField(Collection, blank=True, related_name="products")
    tags = models.ManyToManyField(Tag, blank=True, related_name="products")
    is_published = models.BooleanField(default=True, db_index=True)
    # Which of a country's tax rates applies (storefront/pricing/quotes.py).
    tax_class = models.CharField(max_length=16, choices=TaxClass.choices, default=TaxClass.STANDARD)
    min_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, editable=False)
    in_stock = models.BooleanField(default=False, editable=False)
    search_vector = models.GeneratedField(
        expression=product_search_vector(), output_field=SearchVectorField(), db_persist=True
    )
    rating_count = models.PositiveIntegerField(default=0, editable=False)
    rating_sum = models.PositiveBigIntegerField(default=0, editable=False)
    rating_average = models.GeneratedField(
        expression=rating_average(),
        output_field=models.DecimalField(max_digits=3, decimal_places=2, null=True),
        db_persist=True,
    )

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The product list: published products, newest first, read in index order.
            models.Index(
                fields=["is_published", "-created_at", "-id"], name="catalog_product_pub_new"
            ),
            # Filters and counts by category, price and stock, read from the index alone; the
            # id for the facets' joins to tags and collections.
            models.Index(
                fields=["category", "min_price"],
                include=["in_stock", "is_published", "id"],
                name="catalog_product_browse",
            ),
            GinIndex(fields=["search_vector"], name="catalog_product_search_vector"),
            # ordering=-rating, best rated first (ties newest first), read in index order.
            models.Index(
                F("is_published"),
                F("rating_average").desc(nulls_last=True),
                F("id").desc(),
                name="catalog_product_rating",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ProductCount(models.Model):
    """How many products are published (`published` true) and unpublished (false): the
    unfiltered product list's count, read in one row instead of counted.

    Kept by statement triggers on catalog_product (migration 0009) in the writing
    transaction, so it is exact whenever the products are: inserts and deletes add and
    subtract, an update only when it changes `is_published` (a sale never touches it), and
    TRUNCATE empties it. A missing row counts 0. Writers that insert or delete products, or
    publish or unpublish them, wait on each other's row here until they commit.
    """

    published = models.BooleanField(primary_key=True)
    products = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.products} {'published' if self.published else 'unpublished'} products"


class ProductVariant(TimeStampedModel):
    """A stock-keeping unit: one buyable form of a product, e.g. size M.

    `price` is in the store currency; `stock_quantity` counts units on hand and can never be
    negative (database CHECK), so a conditional decrement is the only way to sell.
    `weight_grams`: one unit's shipping weight in grams (null: not known, counted as 0 by
    the shipping methods priced by weight, storefront/pricing/quotes.py).
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField("SKU", max_length=64, unique=True)
    name = models.CharField(max_length=255, blank=True)
    price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    stock_quantity = models.PositiveIntegerField(default=0)
    attributes = models.JSONField(default=dict, blank=True)
    weight_grams = models.PositiveIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(MAX_WEIGHT_GRAMS)]
    )

    objects = VariantQuerySet.as_manager()

    class Meta:
        ordering = ["price", "id"]
        indexes = [
            # A product's lowest price (list price, price filters and ordering) is one
            # index probe.
            models.Index(fields=["product", "price"], name="catalog_variant_product_price"),
            # The `in_stock` filter: does the product have a variant with stock?
            models.Index(
                fields=["product"],
                condition=models.Q(stock_quantity__gt=0),
                name="catalog_variant_in_stock",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stock_quantity__gte=0),
                name="catalog_variant_stock_quantity_gte_0",
            ),
            models.CheckConstraint(
                condition=models.Q(price__gte=0), name="catalog_variant_price_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} - {self.name}" if self.name else self.sku

    @property
    def currency(self) -> str:
        return settings.STORE_CURRENCY

    @property
    def is_purchasable(self) -> bool:
        """Whether customers may buy this variant: the purchasable rule of
        catalog/querysets.py (its product is published), on the loaded product."""
        return self.product.is_published


class ProductImage(models.Model):
    """A picture of a product; shown in `sort_order`, then upload order."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to="products/")
    alt = models.CharField(max_length=255, blank=True)
    sort_order = models.PositiveIntegerField(default=0)
    # Where an import took the picture from (a URL, or a file name in the uploaded ZIP), so
    # that the next import of the same file finds it instead of storing it again. Blank
    # for uploads through the API, the admin and the demo catalog.
    source = models.CharField(max_length=2048, blank=True)

    class Meta:
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.alt or self.image.name


class CatalogChange(models.Model):
    """One committed statement that wrote the catalog, recorded by the database itself.

    Triggers on every catalog table (migration 0004, PostgreSQL only) insert a row in the
    writing transaction, so it exists if and only if the write committed, whatever happens to
    the process afterwards. The response cache reads the rows committed since its last check
    to invalidate what the writer's after-commit hooks did not (storefront/catalog/cache.py).
    Rows older than an hour are deleted (storefront.catalog.tasks.prune_change_log).
    """

    # The writing transaction's id (PostgreSQL's pg_current_xact_id(), an xid8).
    xid = models.BigIntegerField()
    # The products whose stock alone changed (no variant ran out or came back); NULL when
    # anything else changed, which may touch any cached response.
    product_ids = models.JSONField(null=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["xid"], name="catalog_change_xid")]

    def __str__(self) -> str:
        return f"Catalog change by transaction {self.xid}"


def import_storage():
    """Where uploaded import files wait for the worker: settings.IMPORTS_ROOT, never served
    (MEDIA_ROOT may be)."""
    from django.core.files.storage import FileSystemStorage

    return FileSystemStorage(location=settings.IMPORTS_ROOT)


class CatalogImport(TimeStampedModel):
    """One run of the catalog importer (storefront/catalog/imports/, docs/import.md): a file
    staff uploaded or a command gave, its options, and what the run did or, for a dry run,
    would do.

    `status` moves only along TRANSITIONS (imports.jobs): queued -> running -> done | failed,
    queued -> failed (the file could not be read). Counts are products (`created`, `updated`,
    `unchanged`, `skipped`: products left out by `skip_invalid`) and variants
    (`variants_created`, `variants_updated`, `variants_unchanged`); `rows_total` and
    `rows_done` count the file's rows. `errors`: [{row, column, message}] (row 1-based, as a
    spreadsheet numbers data rows; column the file's own name of the column, or null).
    `diff`: a dry run's changes per product (at most imports.importer.DIFF_LIMIT products,
    `diff_truncated` beyond). `applied`: whether the run wrote anything (false for a dry run
    and for an all-or-nothing run with an error).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.QUEUED: frozenset({Status.RUNNING, Status.FAILED}),
        Status.RUNNING: frozenset({Status.DONE, Status.FAILED}),
        Status.DONE: frozenset(),
        Status.FAILED: frozenset(),
    }

    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    file = models.FileField(storage=import_storage, upload_to="imports/", max_length=255)
    file_name = models.CharField(max_length=255, blank=True)
    dry_run = models.BooleanField(default=False)
    # The importer's options as given: columns (ours -> theirs), no_header, records,
    # skip_invalid, create_categories (imports.importer.Options).
    options = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # The dry run this run applies, when it was started from one.
    dry_run_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="applications"
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    variants_created = models.PositiveIntegerField(default=0)
    variants_updated = models.PositiveIntegerField(default=0)
    variants_unchanged = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    diff = models.JSONField(null=True, blank=True)
    diff_truncated = models.BooleanField(default=False)
    applied = models.BooleanField(default=False)
    failure = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        kind = "Dry run" if self.dry_run else "Import"
        return f"{kind} {self.pk} of {self.file_name or self.file.name} ({self.status})"
