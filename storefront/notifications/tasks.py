"""Celery tasks of the notification outbox; the logic lives in services.py.

Tasks take ids and are idempotent: running `send_message` twice for one message sends one
email. Transient failures (SMTP or network errors, a database connection lost) are retried
with exponential backoff and jitter: about 5 s, 10 s, 20 s ... capped at 10 minutes.
"""

import datetime as dt

from celery import shared_task
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from storefront.notifications import services

# smtplib.SMTPException and socket errors are OSErrors.
TRANSIENT_ERRORS = (OSError, OperationalError, InterfaceError)


@shared_task(
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def send_message(message_id: int) -> str | None:
    """Send the email of outbox message `message_id` once; return its new status or None."""
    return services.deliver_message(message_id=message_id)


@shared_task
def drain_outbox() -> int:
    """Publish outbox messages the broker has not taken (run by beat); return how many."""
    return services.drain_outbox()


@shared_task
def send_daily_sales_report(day: str | None = None) -> None:
    """Queue the sales report of `day` (ISO date; default yesterday in settings.TIME_ZONE)."""
    if day is None:
        today = timezone.localdate(timezone=timezone.get_default_timezone())
        report_day = today - dt.timedelta(days=1)
    else:
        report_day = dt.date.fromisoformat(day)
    with transaction.atomic():
        services.enqueue_daily_sales_report(day=report_day)
