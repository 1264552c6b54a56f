"""Payments in the admin: read-only records; cash is recorded through orders.services."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from storefront.orders import services
from storefront.orders.admin import run_per_order
from storefront.orders.models import Order
from storefront.payments.models import Payment


@admin.action(description="Record cash on delivery payment received")
def complete_cash_payment(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Payment]
) -> None:
    orders = Order.objects.filter(payment__in=queryset)
    run_per_order(
        modeladmin,
        request,
        orders,
        "Cash payment recorded",
        lambda order: services.complete_cash_on_delivery_payment(order=order, actor=request.user),
    )


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["order", "method", "status", "amount", "currency", "completed_at", "created_at"]
    list_select_related = ["order"]
    list_filter = ["method", "status", "created_at"]
    search_fields = ["order__number", "order__customer__email", "provider_reference"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "order",
        "method",
        "status",
        "amount",
        "currency",
        "provider_reference",
        "failure_code",
        "refund_reference",
        "completed_at",
        "refunded_at",
        "created_at",
        "updated_at",
    ]
    actions = [complete_cash_payment]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # A payment is created with its order.

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
