"""Outbox reads for operators: how many messages wait, and for how long (GET /readyz,
GET /metrics)."""

from dataclasses import dataclass

from django.db.models import Count, Min
from django.utils import timezone

from storefront.notifications.models import OutboxMessage


@dataclass(frozen=True)
class OutboxBacklog:
    """Pending (undelivered, not given up) messages: how many, and the age in seconds of the
    oldest one since it was written (None when none is pending)."""

    pending: int
    oldest_pending_age_seconds: float | None


def outbox_backlog() -> OutboxBacklog:
    """The outbox's backlog, in one query over the pending rows (the drain's partial index).

    "Undelivered" is status pending: a sent or skipped message is delivered, and a failed one
    was given up after NOTIFICATIONS_MAX_ATTEMPTS attempts and waits for staff, not for a
    worker. The age counts from `created_at`, whatever the retries since.
    """
    backlog = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).aggregate(
        pending=Count("pk"), oldest=Min("created_at")
    )
    oldest = backlog["oldest"]
    age = None if oldest is None else max((timezone.now() - oldest).total_seconds(), 0.0)
    return OutboxBacklog(pending=backlog["pending"], oldest_pending_age_seconds=age)
