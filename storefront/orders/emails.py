"""The emails of an order's life, to its customer: confirmation, status changes, refund.

Each builder makes its email from the database as it is when the worker sends it
(settings.NOTIFICATION_EMAIL_BUILDERS names them; storefront/notifications/emails.py renders
and sends); the templates are in orders/templates/orders/email/.
"""

from storefront.notifications.emails import EmailContent
from storefront.orders.models import Order

TEMPLATES = "orders/email"


def build_order_confirmation(payload: dict) -> EmailContent | None:
    """The confirmation of order payload["order_id"]: its lines and total, to its customer.

    None when the order was deleted.
    """
    order = _order(payload["order_id"])
    if order is None:
        return None
    context = {"order": order, "items": list(order.items.all()), "customer": order.customer}
    return EmailContent(f"{TEMPLATES}/order_confirmation", context, [order.customer.email])


def build_status_email(payload: dict) -> EmailContent | None:
    """The news that order payload["order_id"] is now payload["to_status"] (shipped,
    delivered or cancelled; an Order.Status value), to its customer.

    None when the order was deleted. Raises ValueError for a status that is not an
    Order.Status.
    """
    order = _order(payload["order_id"])
    if order is None:
        return None
    to_status = payload["to_status"]
    context = {
        "order": order,
        "customer": order.customer,
        "from_status": payload.get("from_status", ""),
        "to_status": to_status,
        "status_label": Order.Status(to_status).label,
    }
    return EmailContent(f"{TEMPLATES}/order_{to_status}", context, [order.customer.email])


def build_refund_email(payload: dict) -> EmailContent | None:
    """The news that the payment of order payload["order_id"] was refunded, with its amount
    (the payment's, in its currency; the order's total without a payment), to its customer.

    None when the order was deleted.
    """
    order = _order(payload["order_id"])
    if order is None:
        return None
    # The reverse one-to-one raises an AttributeError subclass when the order has no payment.
    payment = getattr(order, "payment", None)
    context = {
        "order": order,
        "customer": order.customer,
        "amount": payment.amount if payment is not None else order.total,
        "refund_currency": payment.currency if payment is not None else order.currency,
    }
    return EmailContent(f"{TEMPLATES}/payment_refunded", context, [order.customer.email])


def _order(order_id: int) -> Order | None:
    return (
        Order.objects.select_related("customer", "payment")
        .prefetch_related("items")
        .filter(pk=order_id)
        .first()
    )
