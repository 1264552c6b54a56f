"""Carts in the admin: read-mostly, for support staff looking at what a customer has."""

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from storefront.carts.models import Cart, CartItem


class CartItemInline(admin.TabularInline):
    model = CartItem
    extra = 0
    raw_id_fields = ["variant"]
    fields = ["variant", "quantity", "created_at", "updated_at"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "token", "item_count", "updated_at"]
    list_select_related = ["customer"]
    list_filter = [("customer", admin.EmptyFieldListFilter)]
    search_fields = ["customer__email", "=token"]
    readonly_fields = ["customer", "token", "created_at", "updated_at"]
    inlines = [CartItemInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Cart]:
        return super().get_queryset(request).annotate(item_count=Count("items"))

    @admin.display(description="items", ordering="item_count")
    def item_count(self, cart: Cart) -> int:
        return cart.item_count

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Customer carts come from registration or the customer's first use; guest carts
        # from the API.
        return False
