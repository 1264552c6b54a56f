"""Catalog admin for staff: the category tree, products with variants and images, collections,
tags, and a variant list whose prices and stock quantities are edited in place."""

from decimal import Decimal

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils import formats
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from storefront.catalog import services
from storefront.catalog.models import (
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


class ProductVariantInline(admin.TabularInline):
    model = ProductVariant
    fields = ["sku", "name", "price", "stock_quantity", "attributes"]
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

    def get_queryset(self, request):
        return super().get_queryset(request).with_price()

    @admin.display(description="Price", ordering="price")
    def lowest_price(self, product: Product) -> str | None:
        """The lowest variant price, in the store currency, with its two decimals.

        Formatted here because the admin shows a computed Decimal as it is, and SQLite
        (`make run`) returns the annotation as a number without trailing zeros: 10.00 as 10.
        """
        if product.price is None:
            return None
        return formats.number_format(product.price.quantize(CENT), decimal_pos=2)


@admin.register(ProductVariant)
class ProductVariantAdmin(admin.ModelAdmin):
    list_display = ["sku", "product", "name", "price", "stock_quantity"]
    list_editable = ["price", "stock_quantity"]
    list_filter = ["product__category"]
    list_select_related = ["product"]
    search_fields = ["sku", "name", "product__name"]
    autocomplete_fields = ["product"]
    ordering = ["product__name", "price", "id"]


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
