"""The daily sales report to staff (tasks run in-process; emails in Django's locmem outbox)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from storefront.analytics import tasks
from storefront.catalog.tests.factories import ProductFactory, VariantFactory
from storefront.orders.tests.factories import order_with_items

pytestmark = pytest.mark.django_db


def test_daily_report_emails_staff_the_figures_of_the_day(
    settings, django_capture_on_commit_callbacks
):
    settings.STAFF_NOTIFICATION_EMAILS = ["boss@example.com"]
    settings.TIME_ZONE = "Europe/Paris"
    variant = VariantFactory(price=Decimal("10.00"), product=ProductFactory(name="Lamp"))
    # 2025-03-01 in Paris: 23:30 UTC on Feb 28 is included, 23:30 UTC on Mar 1 is not.
    order_with_items([(variant, 1)], placed_at=dt.datetime(2025, 2, 28, 23, 30, tzinfo=dt.UTC))
    order_with_items([(variant, 2)], placed_at=dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC))
    order_with_items([(variant, 4)], placed_at=dt.datetime(2025, 3, 1, 23, 30, tzinfo=dt.UTC))

    with django_capture_on_commit_callbacks(execute=True):
        tasks.send_daily_sales_report("2025-03-01")

    [email] = mail.outbox
    assert email.subject == "Sales report for 2025-03-01: 30.00 USD"
    assert "Orders:              2" in email.body
    assert "Refunded:            0.00 USD" in email.body
    assert "1. Lamp: 3 units, 30.00 USD" in email.body


def test_daily_report_defaults_to_yesterday_and_goes_out_once(
    settings, django_capture_on_commit_callbacks
):
    settings.STAFF_NOTIFICATION_EMAILS = ["boss@example.com"]
    yesterday = timezone.localdate() - dt.timedelta(days=1)

    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            tasks.send_daily_sales_report()

    assert [m.subject for m in mail.outbox] == [f"Sales report for {yesterday}: 0.00 USD"]


def test_the_beat_schedule_runs_the_daily_report(settings):
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert tasks.send_daily_sales_report.name in scheduled
