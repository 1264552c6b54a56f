"""Webhook endpoints as staff read and write them (docs/webhooks.md)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from storefront.core import http
from storefront.webhooks import services
from storefront.webhooks.models import EventType, WebhookEndpoint


@extend_schema_field(
    {"type": "string", "format": "uri", "maxLength": 2048, "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"}
)
class WebhookURLField(serializers.URLField):
    """An http or https URL (the schema says so: other schemes are refused)."""


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "enum": list(EventType.values)},
        "minItems": 1,
        "uniqueItems": True,
    }
)
class EventListField(serializers.ListField):
    """At least one event type, each once."""


class WebhookEndpointSerializer(serializers.ModelSerializer):
    """An endpoint:

        {"id", "url": "https://erp.example.com/hooks", "events": ["order.placed"],
         "is_active": true, "description": "", "created_at", "updated_at"}

    `secret` is write-only: optional (16 to 255 characters; one is generated when a new
    endpoint is created without it) and never read back, except once, in the answer to the
    creation (WebhookEndpointCreatedSerializer). `url`: http or https, at most 2048
    characters, no user name or password; its addresses are checked at each delivery.
    `events`: at least one EventType value, each once.
    """

    url = WebhookURLField(max_length=2048, help_text="http or https URL the events are POSTed to.")
    events = EventListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        allow_empty=False,
        max_length=len(EventType.choices),
        help_text="The event types sent to this endpoint (docs/webhooks.md), each once.",
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        min_length=16,
        max_length=255,
        trim_whitespace=False,
        help_text="The HMAC-SHA256 signing secret (write-only). Generated when a new endpoint "
        "is created without one, and then shown once, in the answer.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "events",
            "is_active",
            "description",
            "secret",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_url(self, value: str) -> str:
        try:
            http.check_url(value, noun=services.NOUN)
        except http.AddressRefused as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value

    def validate_events(self, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Name each event type once.")
        return value


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    """The answer to a creation: the endpoint with its `secret`, shown this once."""

    secret = serializers.CharField(
        read_only=True, help_text="The signing secret: store it now, it is not shown again."
    )
