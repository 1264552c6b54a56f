"""Read-only views of the outbox (what was emailed, what waits, what failed) and of the
low-stock alerts. Rows are written by the services and the worker only."""

from django.contrib import admin

from storefront.notifications.models import LowStockAlert, OutboxMessage


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ["key", "kind", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["key", "subject"]
    date_hierarchy = "created_at"


@admin.register(LowStockAlert)
class LowStockAlertAdmin(ReadOnlyAdmin):
    list_display = ["variant", "stock_quantity", "threshold", "raised_at", "resolved_at"]
    list_select_related = ["variant__product"]
    list_filter = ["resolved_at"]
    search_fields = ["variant__sku", "variant__product__name"]
