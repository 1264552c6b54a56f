"""The emails of an order's life, to its customer (or a guest order's email): confirmation,
status changes, refund.

The enqueue_* functions write an email to the notification outbox in the caller's
transaction (notifications.services.enqueue: one INSERT, sent after commit, once per key
however often it is queued); orders.services calls them. The build_* functions make each
email from the database as it is when the worker sends it (settings.NOTIFICATION_EMAIL_BUILDERS
names them; storefront/notifications/emails.py renders and sends); the templates are in
orders/templates/orders/email/.
"""

from django.conf import settings

from storefront.notifications.emails import EmailContent
from storefront.notifications.models import OutboxMessage
from storefront.notifications.services import enqueue
from storefront.orders import guest_access
from storefront.orders.models import Order

Kind = OutboxMessage.Kind
TEMPLATES = "orders/email"
# Status changes a customer hears about (Order.Status values); refunds are a payment status.
CUSTOMER_STATUSES = frozenset(
    {Order.Status.SHIPPED, Order.Status.DELIVERED, Order.Status.CANCELLED}
)
REFUNDED = "refunded"


def enqueue_order_confirmation(*, order_id: int) -> None:
    """Queue the order confirmation email to the customer of order `order_id`.

    Call it in the transaction that creates the order. Calling it again for the same order
    queues nothing more. One query; the email goes out after commit.
    """
    key = f"order_confirmation:order:{order_id}"
    enqueue([(Kind.ORDER_CONFIRMATION, key, {"order_id": order_id})])


def enqueue_status_email(*, order_id: int, from_status: str, to_status: str) -> None:
    """Queue the email telling the customer that order `order_id` is now `to_status`.

    Only shipped, delivered, cancelled (and "refunded", handled as `enqueue_refund_email`)
    are emailed; other statuses (pending, processing) queue nothing. One email per order and
    status, however often this is called. Raises ValueError for an unknown status.
    """
    if to_status == REFUNDED:
        enqueue_refund_email(order_id=order_id)
        return
    if to_status not in Order.Status.values:
        raise ValueError(f"Unknown order status {to_status!r}.")
    if to_status not in CUSTOMER_STATUSES:
        return
    key = f"order_status:order:{order_id}:{to_status}"
    payload = {"order_id": order_id, "from_status": from_status, "to_status": to_status}
    enqueue([(Kind.ORDER_STATUS, key, payload)])


def enqueue_refund_email(*, order_id: int) -> None:
    """Queue the email telling the customer that the payment of order `order_id` was refunded.

    One email per order, however often this is called.
    """
    key = f"payment_refunded:order:{order_id}"
    enqueue([(Kind.PAYMENT_REFUNDED, key, {"order_id": order_id})])


def build_order_confirmation(payload: dict) -> EmailContent | None:
    """The confirmation of order payload["order_id"]: its lines and total, to its customer.

    None when the order was deleted.
    """
    order = _order(payload["order_id"])
    if order is None:
        return None
    context = {
        "order": order,
        "items": list(order.items.all()),
        "customer": order.customer,
        "guest_order_link": guest_order_link(order),
    }
    return EmailContent(f"{TEMPLATES}/order_confirmation", context, [recipient(order)])


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
    return EmailContent(f"{TEMPLATES}/order_{to_status}", context, [recipient(order)])


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
    return EmailContent(f"{TEMPLATES}/payment_refunded", context, [recipient(order)])


def recipient(order: Order) -> str:
    """Where an order's emails go: its customer's current email, or a guest order's email."""
    return order.customer.email if order.customer is not None else order.email


def guest_order_link(order: Order) -> str | None:
    """The link that opens a guest order (settings.GUEST_ORDER_URL with its access token as
    {token}); None for a customer's order (claimed ones included: the customer signs in)."""
    if order.access_token_digest is None or order.customer_id is not None:
        return None
    token = guest_access.access_token(order_number=order.number)
    return settings.GUEST_ORDER_URL.replace("{token}", token)


def _order(order_id: int) -> Order | None:
    return (
        Order.objects.select_related("customer", "payment")
        .prefetch_related("items")
        .filter(pk=order_id)
        .first()
    )
