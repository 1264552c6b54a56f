"""Celery tasks of the notification outbox; the logic lives in services.py.

Tasks take ids and are idempotent: running `send_message` twice for one message sends one
email. A failed delivery is not retried by Celery: the outbox row records when to try again
(services.retry_delay: about 5 s, 10 s, 20 s ... capped at 10 minutes) and the drain publishes
it then, so no task ever waits in the broker for a countdown (the Redis transport would hold
it unacknowledged, and redeliver it once CELERY_BROKER_TRANSPORT_OPTIONS' visibility_timeout
passed).
"""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from storefront.notifications import services

logger = logging.getLogger(__name__)

# smtplib.SMTPException and socket errors are OSErrors.
TRANSIENT_ERRORS = (OSError, OperationalError, InterfaceError)


@shared_task
def send_message(message_id: int) -> str | None:
    """Send the email of outbox message `message_id` once; return its new status or None.

    A transient failure (SMTP or network error, database connection lost) is logged and
    left to the drain, which publishes the message again when the row says (None is
    returned); any other error propagates, and the drain retries it the same way.
    """
    try:
        return services.deliver_message(message_id=message_id)
    except TRANSIENT_ERRORS as exc:
        logger.warning("Outbox message %s not sent (%r); the drain retries it.", message_id, exc)
        return None


@shared_task
def drain_outbox() -> int:
    """Publish outbox messages the broker has not taken (run by beat); return how many."""
    return services.drain_outbox()
