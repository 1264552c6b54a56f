"""Outgoing webhooks: the endpoints staff register, and the outbox of their deliveries.

A `WebhookEvent` is written in the transaction of the change it announces (an order placed,
a product updated...), with one `WebhookDelivery` per active endpoint subscribed to its type,
so that an event exists, and is delivered, if and only if its change commits. Events that no
endpoint subscribes to are not stored. Deliveries are published to Celery after commit and
re-published by a periodic drain until they succeed or their retry window ends
(services.py, docs/webhooks.md).
"""

import secrets
import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models

from storefront.core.models import TimeStampedModel

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A signing secret: "whsec_" and 43 URL-safe characters (256 random bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


class EventType(models.TextChoices):
    """What a receiver can subscribe to; the data of each is in docs/webhooks.md."""

    ORDER_PLACED = "order.placed", "Order placed"
    ORDER_STATUS_CHANGED = "order.status_changed", "Order status changed"
    ORDER_CANCELLED = "order.cancelled", "Order cancelled"
    PAYMENT_COMPLETED = "payment.completed", "Payment completed"
    PAYMENT_REFUNDED = "payment.refunded", "Payment refunded"
    PRODUCT_CREATED = "product.created", "Product created"
    PRODUCT_UPDATED = "product.updated", "Product updated"
    STOCK_CHANGED = "stock.changed", "Stock changed"
    REVIEW_APPROVED = "review.approved", "Review approved"


class WebhookEndpoint(TimeStampedModel):
    """A receiver of events: where they are POSTed, the secret that signs them, and which
    event types it wants. An inactive endpoint gets no new deliveries."""

    url = models.URLField(max_length=2048, help_text="http or https URL the events are POSTed to.")
    # Kept as is: signing needs it. Shown once, when set (docs/webhooks.md).
    secret = models.CharField(max_length=255, default=new_secret)
    events = ArrayField(
        models.CharField(max_length=64, choices=EventType.choices),
        help_text="The event types sent to this endpoint.",
    )
    is_active = models.BooleanField(default=True)
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    """One event, as every endpoint subscribed to it receives it: the envelope's `id`,
    `type`, `created_at` and `data`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=64, choices=EventType.choices)
    data = models.JSONField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "webhook event"

    def __str__(self) -> str:
        return f"{self.type} {self.id}"

    def envelope(self) -> dict:
        """The JSON body of every delivery of this event."""
        return {
            "id": str(self.id),
            "type": self.type,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "data": self.data,
        }


class WebhookDelivery(models.Model):
    """The delivery of one event to one endpoint, and the log of its attempts.

    `id` is the Storefront-Delivery header: the same on every attempt, for receivers to
    ignore a delivery they already processed. While pending, `next_attempt_at` says when the
    drain publishes it (again): after a lost publication, a dead worker or a failed attempt.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        # Every attempt failed until retry_until; `last_error` says why the last did.
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # Last time the delivery was handed to the broker.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # No attempt starts after this (settings.WEBHOOK_RETRY_HOURS after it was created or
    # redelivered): a failure past it fails the delivery.
    retry_until = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Of the last attempt: the receiver's status (None: no answer), how long it took, the
    # start of its body, and what went wrong ("" when it succeeded).
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # The drain's scan: pending deliveries that are due.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhooks_delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return str(self.id)
