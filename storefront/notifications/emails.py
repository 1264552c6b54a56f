"""Build the email of an outbox message from its templates and the current database state.

Templates live in notifications/templates/notifications/email/: `<name>_subject.txt` (one
line), `<name>.txt` (the plain-text body) and, optionally, `<name>.html` (an HTML
alternative). Every email carries the outbox key in an `X-Storefront-Notification` header.
"""

import contextlib
import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string

from storefront.analytics import selectors as analytics
from storefront.notifications.models import LowStockAlert, OutboxMessage
from storefront.orders.models import Order

TEMPLATES = "notifications/email"
HEADER = "X-Storefront-Notification"


def build(message: OutboxMessage) -> EmailMultiAlternatives | None:
    """The email for `message`, or None when there is nothing to send any more.

    None means the object it is about was deleted, or nobody is there to receive it (no
    staff email for a staff notification).
    """
    builder = _BUILDERS[message.kind]
    built = builder(message.payload)
    if built is None:
        return None
    name, context, recipients = built
    if not recipients:
        return None
    context = {**context, "currency": settings.STORE_CURRENCY}
    subject = " ".join(render_to_string(f"{TEMPLATES}/{name}_subject.txt", context).split())
    body = render_to_string(f"{TEMPLATES}/{name}.txt", context)
    email = EmailMultiAlternatives(subject, body, to=recipients, headers={HEADER: message.key})
    with contextlib.suppress(TemplateDoesNotExist):  # the HTML alternative is optional
        email.attach_alternative(render_to_string(f"{TEMPLATES}/{name}.html", context), "text/html")
    return email


def staff_recipients() -> list[str]:
    """settings.STAFF_NOTIFICATION_EMAILS, or else the email of every active staff user."""
    if settings.STAFF_NOTIFICATION_EMAILS:
        return list(settings.STAFF_NOTIFICATION_EMAILS)
    users = get_user_model().objects.filter(is_staff=True, is_active=True).order_by("pk")
    return [email for email in users.values_list("email", flat=True) if email]


def _order(order_id: int) -> Order | None:
    return (
        Order.objects.select_related("customer", "payment")
        .prefetch_related("items")
        .filter(pk=order_id)
        .first()
    )


def _order_confirmation(payload: dict):
    order = _order(payload["order_id"])
    if order is None:
        return None
    context = {"order": order, "items": list(order.items.all()), "customer": order.customer}
    return "order_confirmation", context, [order.customer.email]


def _order_status(payload: dict):
    order = _order(payload["order_id"])
    if order is None:
        return None
    context = {
        "order": order,
        "customer": order.customer,
        "from_status": payload.get("from_status", ""),
        "to_status": payload["to_status"],
        "status_label": Order.Status(payload["to_status"]).label,
    }
    return f"order_{payload['to_status']}", context, [order.customer.email]


def _payment_refunded(payload: dict):
    order = _order(payload["order_id"])
    if order is None:
        return None
    # The reverse one-to-one raises an AttributeError subclass when the order has no payment.
    payment = getattr(order, "payment", None)
    amount = payment.amount if payment is not None else order.total
    currency = payment.currency if payment is not None else order.currency
    context = {
        "order": order,
        "customer": order.customer,
        "amount": amount,
        "refund_currency": currency,
    }
    return "payment_refunded", context, [order.customer.email]


def _low_stock(payload: dict):
    alert = (
        LowStockAlert.objects.select_related("variant__product")
        .filter(pk=payload["alert_id"])
        .first()
    )
    if alert is None:
        return None
    context = {"alert": alert, "variant": alert.variant, "product": alert.variant.product}
    return "low_stock", context, staff_recipients()


def _daily_sales_report(payload: dict):
    day = dt.date.fromisoformat(payload["date"])
    period = analytics.DateRange(day, day)
    context = {
        "day": day,
        "summary": analytics.sales_summary(period=period),
        "top_products": analytics.top_products(period=period, limit=5)["by_revenue"],
        "low_stock": analytics.low_stock_variants(limit=20),
        "threshold": settings.LOW_STOCK_THRESHOLD,
    }
    return "daily_sales_report", context, staff_recipients()


def _welcome(payload: dict):
    user = get_user_model().objects.filter(pk=payload["user_id"], is_active=True).first()
    if user is None:
        return None
    return "welcome", {"customer": user}, [user.email]


_BUILDERS = {
    OutboxMessage.Kind.ORDER_CONFIRMATION: _order_confirmation,
    OutboxMessage.Kind.ORDER_STATUS: _order_status,
    OutboxMessage.Kind.PAYMENT_REFUNDED: _payment_refunded,
    OutboxMessage.Kind.LOW_STOCK: _low_stock,
    OutboxMessage.Kind.DAILY_SALES_REPORT: _daily_sales_report,
    OutboxMessage.Kind.WELCOME: _welcome,
}
