"""Webhook endpoints for staff to register, and the delivery log with its "Redeliver" action.

An endpoint's secret is shown once, in the message after it is set (created, or replaced
through "New secret"); the change form never shows it. Deliveries are written by the
services and the worker only: read-only here, but for redelivery.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from storefront.core import http
from storefront.webhooks import services
from storefront.webhooks.models import EventType, WebhookDelivery, WebhookEndpoint, new_secret


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2048, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=EventType.choices, widget=forms.CheckboxSelectMultiple
    )
    new_secret = forms.CharField(
        required=False,
        max_length=255,
        min_length=16,
        help_text="Leave blank to keep the secret (a new endpoint gets a generated one). "
        "The secret is shown once, after saving.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "events", "is_active", "description"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            http.check_url(url, noun=services.NOUN)
        except http.AddressRefused as exc:
            raise forms.ValidationError(str(exc)) from exc
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "is_active", "event_list", "deliveries_link", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]

    @admin.display(description="events")
    def event_list(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events)

    @admin.display(description="delivery log")
    def deliveries_link(self, obj: WebhookEndpoint) -> str:
        url = (
            reverse("admin:webhooks_webhookdelivery_changelist") + f"?endpoint__id__exact={obj.pk}"
        )
        return format_html('<a href="{}">Deliveries</a>', url)

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form, change: bool) -> None:
        secret = form.cleaned_data.get("new_secret") or (None if change else new_secret())
        if secret:
            obj.secret = secret
        super().save_model(request, obj, form, change)
        if secret:
            messages.warning(
                request,
                f"The signing secret of {obj.url} is {secret} — copy it now: "
                "it is not shown again.",
            )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "event_type",
        "endpoint",
        "status",
        "response_status",
        "duration_ms",
        "attempts",
        "last_error",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["status", "event__type", "endpoint"]
    list_select_related = ["event", "endpoint"]
    search_fields = ["id", "event__id", "last_error"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "id",
        "event",
        "endpoint",
        "status",
        "attempts",
        "dispatched_at",
        "next_attempt_at",
        "retry_until",
        "last_attempt_at",
        "delivered_at",
        "response_status",
        "duration_ms",
        "response_body",
        "last_error",
        "payload",
        "created_at",
        "updated_at",
    ]
    actions = ["redeliver"]

    @admin.display(description="event")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    @admin.display(description="body sent")
    def payload(self, obj: WebhookDelivery) -> str:
        return services.body_of(obj.event).decode()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # Viewing and the redeliver action only.

    @admin.action(description="Redeliver the selected deliveries")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = services.redeliver(delivery_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} delivery(ies) queued again.", messages.SUCCESS)
