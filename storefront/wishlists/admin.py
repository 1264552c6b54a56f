"""Wishlists in the admin: read-only, for support staff looking at what a customer keeps."""

from django.contrib import admin
from django.http import HttpRequest

from storefront.wishlists.models import WishlistItem


@admin.register(WishlistItem)
class WishlistItemAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "cart", "product", "variant", "created_at"]
    list_select_related = ["customer", "cart__customer", "product", "variant__product"]
    list_filter = [("customer", admin.EmptyFieldListFilter)]
    search_fields = ["customer__email", "=cart__token", "product__name", "variant__sku"]
    raw_id_fields = ["customer", "cart", "product", "variant"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Items come from their owners, through the API.
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
