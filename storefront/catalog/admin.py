"""Catalog admin for staff: the category tree, products with variants and images, collections,
tags, and a variant list whose prices and stock quantities are edited in place.

Writes to products and variants take their locks in the lock order of docs/checkout.md, as
the API's do: a product edit and deletions go through storefront/catalog/services.py, and the
variant list locks the variants it saves in id order first. Only the columns a form changed
are written, so a save never puts back a stock quantity read before a sale; a stock quantity
staff changed is set through catalog/stock.py, the one writer of stock.
"""

import json
import re
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.shortcuts import redirect
from django.urls import path
from django.utils import formats
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from storefront.catalog import services, stock
from storefront.catalog.exceptions import ImportNotApplicable
from storefront.catalog.imports import jobs, reader
from storefront.catalog.models import (
    CatalogImport,
    Category,
    Collection,
    Product,
    ProductImage,
    ProductVariant,
    Tag,
)

CENT = Decimal("0.01")


@admin.register(Category)
class CategoryAdmin(TreeAdmin):
    """The tree, shown and reordered as a tree (drag and drop, or the position fields)."""

    form = movenodeform_factory(Category)
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}


class StockAsShownMixin:
    """The stock field remembers the value the page showed (a hidden initial input), so a
    form counts it as changed only when staff changed it, not when a sale changed it since
    the page was loaded; unchanged, it is not written (see the module docstring)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "stock_quantity":
            field.show_hidden_initial = True
        return field


class ProductVariantInline(StockAsShownMixin, admin.TabularInline):
    model = ProductVariant
    fields = ["sku", "name", "price", "stock_quantity", "weight_grams", "attributes"]
    extra = 0
    # Every product needs a variant to be bought; validate_min refuses deleting the last one.
    min_num = 1

    def get_formset(self, request, obj=None, **kwargs):
        kwargs.setdefault("validate_min", True)
        return super().get_formset(request, obj, **kwargs)


class ProductImageForm(forms.ModelForm):
    """An image row; a new file goes through the API's check and is stored re-encoded."""

    class Meta:
        model = ProductImage
        fields = ["image", "alt", "sort_order"]
        # A plain file field: check_image_file is the one that opens the image (Django's
        # ImageField would open it first, with Pillow's laxer limits).
        field_classes = {"image": forms.FileField}

    def clean_image(self):
        image = self.cleaned_data["image"]
        if not isinstance(image, UploadedFile):
            return image  # The stored file, unchanged.
        try:
            return services.check_image_file(image)
        except ValidationError as error:
            raise ValidationError(error.message_dict["image"]) from error

    def save(self, commit: bool = True) -> ProductImage:
        content = self.cleaned_data.get("image")
        if isinstance(content, ContentFile):
            # The API's file name, now that the product (even a new one) has an id.
            self.instance.image.name = f"{self.instance.product_id}-{content.name}"
        return super().save(commit)


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    form = ProductImageForm
    fields = ["image", "alt", "sort_order"]
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "lowest_price", "is_published", "created_at"]
    list_filter = ["is_published", "category", "collections", "tags"]
    list_select_related = ["category"]
    search_fields = ["name", "slug", "description", "variants__sku"]
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ["collections", "tags"]
    autocomplete_fields = ["category"]
    date_hierarchy = "created_at"
    inlines = [ProductVariantInline, ProductImageInline]

    @admin.display(description="Price", ordering="min_price")
    def lowest_price(self, product: Product) -> str | None:
        """The lowest variant price, in the store currency, with its two decimals (the
        admin would show a computed Decimal as it is)."""
        if product.min_price is None:
            return None
        return formats.number_format(product.min_price.quantize(CENT), decimal_pos=2)

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
        # A change is written by save_related, with its variants, in one service call.

    def save_related(self, request, form, formsets, change):
        """Save a changed product, its collections, tags and variants through
        services.update_product, which locks them in the lock order; then its images."""
        if not change:
            super().save_related(request, form, formsets, change)
            return
        changed = set(form.changed_data)
        # Absent for staff without permission to change variants.
        variant_formset = next((fs for fs in formsets if fs.model is ProductVariant), None)
        variants, deleted = [], None
        if variant_formset is not None:
            variants, deleted = _variant_changes(variant_formset)
        services.update_product(
            product=form.instance,
            changes={f: form.cleaned_data[f] for f in services.PRODUCT_FIELDS if f in changed},
            collections=form.cleaned_data["collections"] if "collections" in changed else None,
            tags=form.cleaned_data["tags"] if "tags" in changed else None,
            variants=variants or None,
            deleted_variants=deleted,
        )
        for formset in formsets:
            if formset is not variant_formset:
                self.save_formset(request, form, formset, change)

    def delete_model(self, request, obj):
        services.delete_product(product=obj)

    def delete_queryset(self, request, queryset):
        # One transaction per product: the lock order is per product (its variants in id
        # order), not across products.
        for product in queryset.order_by("pk"):
            services.delete_product(product=product)


def _variant_changes(formset) -> tuple[list[services.VariantData], list[int]]:
    """The variant inline's changes as update_product takes them: the variants to update
    (changed fields only) or create, and the ids to delete. Records them on the formset as
    its own save() would (new_objects, changed_objects, deleted_objects: the change message
    is built from them)."""
    deleted_forms = formset.deleted_forms
    formset.deleted_objects = [form.instance for form in deleted_forms]
    formset.changed_objects, formset.new_objects = [], []
    variants: list[services.VariantData] = []
    for form in formset.initial_forms:
        if form in deleted_forms or not form.has_changed():
            continue
        fields = [f for f in form.changed_data if f in services.VARIANT_FIELDS]
        variants.append({"id": form.instance.pk, **{f: form.cleaned_data[f] for f in fields}})
        formset.changed_objects.append((form.instance, fields))
    for form in formset.extra_forms:
        if form in deleted_forms or not form.has_changed():
            continue
        variants.append({f: form.cleaned_data[f] for f in services.VARIANT_FIELDS})
        formset.new_objects.append(form.instance)
    return variants, [form.instance.pk for form in deleted_forms]


@admin.register(ProductVariant)
class ProductVariantAdmin(StockAsShownMixin, admin.ModelAdmin):
    list_display = ["sku", "product", "name", "price", "stock_quantity"]
    list_editable = ["price", "stock_quantity"]
    list_filter = ["product__category"]
    list_select_related = ["product"]
    search_fields = ["sku", "name", "product__name"]
    autocomplete_fields = ["product"]
    ordering = ["product__name", "price", "id"]

    def changelist_view(self, request, extra_context=None):
        """The list's edits are saved row by row in the list's order (product name, price):
        lock the rows sent in id order first, as a checkout locks them."""
        if request.method != "POST" or "_save" not in request.POST:
            return super().changelist_view(request, extra_context)
        prefix = self.get_changelist_formset(request).get_default_prefix()
        row_id = re.compile(rf"{re.escape(prefix)}-\d+-id")
        posted = [v for k, v in request.POST.items() if row_id.fullmatch(k) and v.isdigit()]
        with transaction.atomic():
            services.lock_variants(kept=map(int, posted))
            return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        fields = [field for field in form.changed_data if field != "stock_quantity"]
        if fields:
            obj.save(update_fields=[*fields, "updated_at"])
        if "stock_quantity" in form.changed_data:
            # Like every change of stock: the low-stock alert and the cache follow it.
            stock.set_stock(quantities={obj.pk: obj.stock_quantity})

    def delete_model(self, request, obj):
        services.delete_variants(variant_ids=[obj.pk])

    def delete_queryset(self, request, queryset):
        services.delete_variants(variant_ids=queryset.values_list("pk", flat=True))


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}


class CatalogImportForm(forms.ModelForm):
    """The admin's upload: the file and the importer's options (docs/import.md). A dry run
    by default: its page shows the changes, and a button applies them."""

    columns = forms.CharField(
        required=False,
        help_text='Our columns mapped to the file\'s, e.g. "name=Title,sku=Variant SKU".',
    )
    no_header = forms.BooleanField(required=False, help_text="The CSV has no header row.")
    records = forms.CharField(
        required=False, help_text='JSON: the key of the list, e.g. "products".'
    )
    skip_invalid = forms.BooleanField(
        required=False, help_text="Apply the valid products and report the others."
    )
    create_categories = forms.BooleanField(
        required=False, initial=True, help_text="Create missing levels of category paths."
    )

    class Meta:
        model = CatalogImport
        fields = ["file", "dry_run"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["dry_run"].initial = True

    def clean_columns(self) -> dict[str, str]:
        try:
            return reader.parse_columns(
                self.cleaned_data["columns"], no_header=bool(self.data.get("no_header"))
            )
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


@admin.register(CatalogImport)
class CatalogImportAdmin(admin.ModelAdmin):
    """Catalog imports: upload a file (a dry run by default), read what it would change,
    then apply it with the button on the dry run's page (imports.jobs). Imports are records:
    not edited, not deleted here."""

    list_display = ["id", "file_name", "dry_run", "status", "created", "updated", "created_at"]
    list_filter = ["status", "dry_run"]
    readonly_fields = [
        "file_name",
        "dry_run",
        "status",
        "options",
        "rows_total",
        "created",
        "updated",
        "unchanged",
        "skipped",
        "variants_created",
        "variants_updated",
        "variants_unchanged",
        "applied",
        "failure",
        "errors_shown",
        "diff_shown",
        "dry_run_of",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
    ]
    change_form_template = "admin/catalog/catalogimport/change_form.html"

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = CatalogImportForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return [
                "file",
                "dry_run",
                "columns",
                "no_header",
                "records",
                "skip_invalid",
                "create_categories",
            ]
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def has_change_permission(self, request, obj=None) -> bool:
        # The page of an import is for reading; "Save" would change nothing.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        job = jobs.create_import(
            file=data["file"],
            file_name=data["file"].name,
            options=reader.Options.from_json(data),
            dry_run=data["dry_run"],
            created_by=request.user,
        )
        obj.pk = job.pk

    def get_urls(self):
        urls = [
            path(
                "<int:pk>/apply/",
                self.admin_site.admin_view(self.apply_view),
                name="catalog_catalogimport_apply",
            )
        ]
        return urls + super().get_urls()

    def apply_view(self, request, pk: int):
        """POST: apply dry run `pk` (imports.jobs.apply_dry_run), then show the new import."""
        dry_run = self.get_object(request, str(pk))
        if request.method != "POST" or dry_run is None:
            return redirect("admin:catalog_catalogimport_changelist")
        try:
            with transaction.atomic():
                job = jobs.apply_dry_run(dry_run=dry_run, created_by=request.user)
        except ImportNotApplicable as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return redirect("admin:catalog_catalogimport_change", pk)
        self.message_user(request, f"Import {job.pk} queued: it applies dry run {pk}.")
        return redirect("admin:catalog_catalogimport_change", job.pk)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "can_apply": job is not None
            and job.dry_run
            and job.status == CatalogImport.Status.DONE
            and (not job.errors or job.options.get("skip_invalid")),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="errors")
    def errors_shown(self, obj: CatalogImport) -> str:
        if not obj.errors:
            return "none"
        return format_html_join(
            mark_safe("<br>"),
            "row {} {}: {}",
            (
                (
                    e["row"] if e["row"] is not None else "-",
                    f"[{e['column']}]" if e["column"] else "",
                    e["message"],
                )
                for e in obj.errors
            ),
        )

    @admin.display(description="changes (dry run)")
    def diff_shown(self, obj: CatalogImport) -> str:
        if obj.diff is None:
            return "-"
        text = "\n".join(
            json.dumps(entry, ensure_ascii=False, sort_keys=True) for entry in obj.diff
        )
        more = "\n(first products only)" if obj.diff_truncated else ""
        return format_html(
            "<pre style='white-space: pre-wrap'>{}{}</pre>", text or "no changes", more
        )
