"""Celery tasks of the webhook outbox; the logic lives in services.py.

Tasks take ids and are idempotent: running `deliver_webhook` twice for one delivery sends it
once unless the first attempt failed. A failed attempt is not retried by Celery: the
delivery records when to try again (services.retry_delay: about 10 s, 20 s, 40 s ... capped
at an hour, for settings.WEBHOOK_RETRY_HOURS) and the drain publishes it then, so no task
waits in the broker for a countdown (see storefront/notifications/tasks.py).
"""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from storefront.webhooks import services

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OSError, OperationalError, InterfaceError)


@shared_task
def deliver_webhook(delivery_id: str) -> str | None:
    """POST webhook delivery `delivery_id` once; return its new status or None.

    A receiver's failure is recorded on the delivery, not raised. A transient failure of
    the worker itself (database connection lost) is logged and left to the drain.
    """
    try:
        return services.deliver(delivery_id=delivery_id)
    except TRANSIENT_ERRORS as exc:
        logger.warning("Webhook delivery %s not sent (%r); the drain retries it.", delivery_id, exc)
        return None


@shared_task
def drain_webhook_deliveries() -> int:
    """Publish the webhook deliveries that are due (run by beat); return how many."""
    return services.drain_deliveries()
