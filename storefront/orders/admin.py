"""Orders in the admin. Status and payment changes go through orders.services, so the
transition table, stock, refunds and events apply exactly as through the API."""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django_countries import countries

from storefront.accounts import addresses
from storefront.accounts.api.serializers import PostalAddressSerializer
from storefront.core.exceptions import DomainError
from storefront.orders import returns, services
from storefront.orders.models import Order, OrderEvent, OrderItem, Return, ReturnEvent, ReturnLine
from storefront.payments.models import Payment


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class OrderItemInline(ReadOnlyInline):
    model = OrderItem
    fields = [
        "sku",
        "product_name",
        "variant_name",
        "list_price",
        "unit_price",
        "quantity",
        "discount_total",
        "tax_rate",
        "tax_total",
        "line_total",
    ]
    readonly_fields = fields


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = [
        "method",
        "status",
        "amount",
        "currency",
        "provider_reference",
        "failure_code",
        "completed_at",
        "refunded_at",
    ]
    readonly_fields = fields


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ["created_at", "from_status", "to_status", "actor", "note"]
    readonly_fields = fields


def run_per_order(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    orders: QuerySet[Order],
    label: str,
    workflow: Callable[[Order], object],
) -> None:
    """Apply a workflow to each selected order; report what was done and what was refused."""
    done, refused = 0, []
    for order in orders:
        try:
            workflow(order)
        except DomainError as error:
            refused.append(f"{order.number}: {error.message}")
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{label}: {done} order(s).", messages.SUCCESS)
    if refused:
        modeladmin.message_user(request, f"Not changed: {'; '.join(refused)}", messages.WARNING)


def status_action(status: Order.Status, description: str):
    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Order]):
        run_per_order(
            modeladmin,
            request,
            queryset,
            description,
            lambda order: services.change_order_status(
                order=order, status=status, actor=request.user, note="Changed in the admin."
            ),
        )

    action.__name__ = f"mark_{status}"
    return admin.action(description=description)(action)


@admin.action(description="Record cash on delivery payment received")
def complete_cash_payment(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Order]
) -> None:
    run_per_order(
        modeladmin,
        request,
        queryset,
        "Cash payment recorded",
        lambda order: services.complete_cash_on_delivery_payment(order=order, actor=request.user),
    )


# Contact details staff may correct (e.g. a typo in the street); everything else is a record.
# The text of an address follows its postal address (addresses.as_text).
EDITABLE_FIELDS = [
    "shipping_address_details",
    "billing_address_details",
    "phone_number",
    "additional_phone",
]
ADDRESS_TEXT = {
    "shipping_address_details": "shipping_address",
    "billing_address_details": "billing_address",
}


class OrderAdminForm(forms.ModelForm):
    """Checks a corrected address as checkout does (PostalAddressSerializer), or, for an
    address that was given as text (no city), that it still has its text and a country."""

    def clean_shipping_address_details(self) -> addresses.PostalAddress:
        return self._clean_address("shipping_address_details")

    def clean_billing_address_details(self) -> addresses.PostalAddress:
        return self._clean_address("billing_address_details")

    def _clean_address(self, name: str) -> addresses.PostalAddress:
        value = self.cleaned_data[name]
        keys = ", ".join(addresses.FIELDS)
        if (
            not isinstance(value, dict)
            or set(value) != set(addresses.FIELDS)
            or not all(isinstance(part, str) for part in value.values())
        ):
            raise ValidationError(f"An object with exactly these texts: {keys}.")
        if not value["city"].strip():
            if not value["line1"].strip() or value["country"].upper() not in countries:
                raise ValidationError(
                    "An address given as text needs its text (line1) and an ISO 3166-1 "
                    "alpha-2 country; give a city to make it a full postal address."
                )
            return addresses.normalised({"line1": value["line1"], "country": value["country"]})
        postal = PostalAddressSerializer(data=value)
        if not postal.is_valid():
            raise ValidationError(
                [f"{field}: {' '.join(errors)}" for field, errors in postal.errors.items()]
            )
        return addresses.normalised(postal.validated_data)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    form = OrderAdminForm
    list_display = [
        "number",
        "customer",
        "email",
        "status",
        "payment_status",
        "total",
        "currency",
        "placed_at",
    ]
    list_select_related = ["customer"]
    list_filter = [
        "status",
        "payment_status",
        ("customer", admin.EmptyFieldListFilter),
        "placed_at",
    ]
    search_fields = ["number", "customer__email", "email"]
    date_hierarchy = "placed_at"
    ordering = ["-placed_at", "-id"]
    fields = [
        "number",
        "customer",
        "email",
        "status",
        "payment_status",
        "subtotal",
        "discount_total",
        "shipping_method_name",
        "shipping_total",
        "tax_total",
        "total",
        "currency",
        "placed_at",
        "shipping_address",
        "billing_address",
        *EDITABLE_FIELDS,
        "idempotency_key",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [name for name in fields if name not in EDITABLE_FIELDS]
    inlines = [OrderItemInline, PaymentInline, OrderEventInline]
    actions = [
        status_action(Order.Status.PROCESSING, "Mark as processing"),
        status_action(Order.Status.SHIPPED, "Mark as shipped"),
        status_action(Order.Status.DELIVERED, "Mark as delivered"),
        status_action(Order.Status.CANCELLED, "Cancel (restock, refund)"),
        complete_cash_payment,
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # Orders are placed by checkout only.

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # Orders are financial records.

    def save_model(self, request: HttpRequest, obj: Order, form, change: bool) -> None:
        # Write only the edited contact fields: a full save would write back the status read
        # when the form was opened and undo a status change made in the meantime.
        changed = [name for name in form.changed_data if name in EDITABLE_FIELDS]
        for name in changed:
            if name in ADDRESS_TEXT:
                setattr(obj, ADDRESS_TEXT[name], addresses.as_text(getattr(obj, name)))
        changed += [ADDRESS_TEXT[name] for name in changed if name in ADDRESS_TEXT]
        if changed:
            obj.save(update_fields=[*changed, "updated_at"])


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    fields = ["order_item", "quantity", "reason"]
    readonly_fields = fields


class ReturnEventInline(ReadOnlyInline):
    model = ReturnEvent
    fields = ["created_at", "from_status", "to_status", "actor", "note"]
    readonly_fields = fields


def return_action(status: Return.Status, description: str):
    """An admin action moving the selected returns to `status` through orders.returns (so
    restock and refund happen as through the API); refusals become error messages."""

    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Return]):
        for return_request in queryset:
            try:
                returns.move_return(
                    return_request=return_request, status=status, actor=request.user
                )
            except DomainError as error:
                modeladmin.message_user(
                    request, f"Return {return_request.pk}: {error.message}", messages.ERROR
                )

    action.__name__ = f"return_{status}"
    return admin.action(description=description)(action)


@admin.register(Return)
class ReturnAdmin(admin.ModelAdmin):
    """Returns; status changes only through the actions (orders.returns.move_return)."""

    list_display = ["id", "order", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["order__number"]
    fields = ["order", "status", "refund", "created_at", "updated_at"]
    readonly_fields = fields
    inlines = [ReturnLineInline, ReturnEventInline]
    actions = [
        return_action(Return.Status.APPROVED, "Approve"),
        return_action(Return.Status.REJECTED, "Reject"),
        return_action(Return.Status.RECEIVED, "Mark as received (restock)"),
        return_action(Return.Status.REFUNDED, "Refund"),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
