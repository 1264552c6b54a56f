"""Celery tasks of the sales figures (Celery beat: settings.CELERY_BEAT_SCHEDULE)."""

import datetime as dt

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from storefront.analytics import emails


@shared_task
def send_daily_sales_report(day: str | None = None) -> None:
    """Queue the sales report of `day` (ISO date; default yesterday in settings.TIME_ZONE).

    Idempotent: the report of one day is queued, and sent, once.
    """
    if day is None:
        today = timezone.localdate(timezone=timezone.get_default_timezone())
        report_day = today - dt.timedelta(days=1)
    else:
        report_day = dt.date.fromisoformat(day)
    with transaction.atomic():
        emails.enqueue_daily_sales_report(day=report_day)
