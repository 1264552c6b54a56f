"""Webhook endpoints for staff: /api/webhooks/ (docs/webhooks.md).

Staff only: anonymous callers get 401, customers 403. A refused write (400 `invalid`,
`fields` naming what was refused: a URL that is not http or https, an unknown event type...)
changes nothing.
"""

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from storefront.catalog.api.views import NotFoundInErrorShapeMixin
from storefront.webhooks import services
from storefront.webhooks.api.serializers import (
    WebhookEndpointCreatedSerializer,
    WebhookEndpointSerializer,
)
from storefront.webhooks.models import WebhookEndpoint

WRITE_DESCRIPTION = (
    "An endpoint the events of its `events` are POSTed to, signed with its secret "
    "(docs/webhooks.md). {omitted} Refused with 400 `invalid` (`fields` says where; nothing "
    "changes): a URL that is not http or https, has a user name or password or is longer "
    "than 2048 characters; no event type, an unknown one or one named twice; a secret "
    "shorter than 16 or longer than 255 characters."
)


@extend_schema_view(
    list=extend_schema(
        summary="List webhook endpoints (staff)",
        description="By id. Paginated (`page`, `page_size`: 24 by default, at most 100). "
        "Secrets are never shown.",
    ),
    retrieve=extend_schema(summary="Get a webhook endpoint (staff)"),
    create=extend_schema(
        summary="Register a webhook endpoint (staff)",
        description=WRITE_DESCRIPTION.format(
            omitted="Without `secret`, one is generated. The answer holds the secret: the "
            "only time it is shown."
        ),
        responses={201: WebhookEndpointCreatedSerializer},
    ),
    update=extend_schema(
        summary="Replace a webhook endpoint (staff)",
        description=WRITE_DESCRIPTION.format(
            omitted="Without `secret`, the secret stays; with it, it is replaced (and not "
            "shown back)."
        ),
    ),
    partial_update=extend_schema(
        summary="Update a webhook endpoint (staff)",
        description=WRITE_DESCRIPTION.format(omitted="Fields left out stay as stored."),
    ),
    destroy=extend_schema(
        summary="Delete a webhook endpoint (staff)",
        description="Its deliveries, pending or done, are deleted with it.",
        responses={204: OpenApiResponse(description="Deleted.")},
    ),
)
class WebhookEndpointViewSet(NotFoundInErrorShapeMixin, viewsets.ModelViewSet):
    """Webhook endpoints for staff; one query for a page of them (and its count)."""

    serializer_class = WebhookEndpointSerializer
    queryset = WebhookEndpoint.objects.order_by("id")
    permission_classes = [IsAdminUser]
    lookup_value_converter = "int"

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.create_endpoint(**serializer.validated_data)
        return Response(
            WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )

    def update(self, request: Request, *args, **kwargs) -> Response:
        partial = kwargs.pop("partial", False)
        endpoint = self.get_object()
        serializer = self.get_serializer(endpoint, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        changes: dict[str, Any] = dict(serializer.validated_data)
        endpoint = services.update_endpoint(endpoint=endpoint, changes=changes)
        return Response(self.get_serializer(endpoint).data)
