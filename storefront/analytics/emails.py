"""The emails of the sales figures: the daily sales report to staff.

enqueue_daily_sales_report writes it to the notification outbox (the beat task in
analytics/tasks.py calls it); the builder makes it from the database as it is when the
worker sends it (settings.NOTIFICATION_EMAIL_BUILDERS names it;
storefront/notifications/emails.py renders and sends); the templates are in
analytics/templates/analytics/email/.
"""

import datetime as dt

from django.conf import settings

from storefront.analytics import selectors
from storefront.notifications.emails import EmailContent, staff_recipients
from storefront.notifications.models import OutboxMessage
from storefront.notifications.services import enqueue

TEMPLATES = "analytics/email"


def enqueue_daily_sales_report(*, day: dt.date) -> None:
    """Queue the sales report of `day` (a date in settings.TIME_ZONE) to staff, once per day;
    one query, sent after commit."""
    key = f"daily_sales_report:{day.isoformat()}"
    enqueue([(OutboxMessage.Kind.DAILY_SALES_REPORT, key, {"date": day.isoformat()})])


def build_daily_sales_report(payload: dict) -> EmailContent:
    """The sales of the day payload["date"] (ISO date, in settings.TIME_ZONE) to staff: the
    summary (revenue in the store currency, what refunds of the day's orders gave back so
    far, orders, units), the five best sellers by revenue after refunds and up to 20 variants
    below settings.LOW_STOCK_THRESHOLD.

    Staff are notifications.emails.staff_recipients(); with none, nothing is sent.
    """
    day = dt.date.fromisoformat(payload["date"])
    period = selectors.DateRange(day, day)
    context = {
        "day": day,
        "summary": selectors.sales_summary(period=period),
        "top_products": selectors.top_products(period=period, limit=5)["by_revenue"],
        "low_stock": selectors.low_stock_variants(limit=20),
        "threshold": settings.LOW_STOCK_THRESHOLD,
    }
    return EmailContent(f"{TEMPLATES}/daily_sales_report", context, staff_recipients())
