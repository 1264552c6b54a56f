"""The emails of an order's life, to its customer (or a guest order's email): confirmation,
status changes, refund, expiry, and each step of a return.

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
from storefront.orders.models import Order, Return
from storefront.payments.models import Refund

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


def enqueue_refund_email(*, order_id: int, refund_id: int | None = None) -> None:
    """Queue the email telling the customer of order `order_id` that refund `refund_id`
    (payments.Refund) went through; without one, that the payment was refunded in full.

    One email per refund, however often this is called.
    """
    key = f"payment_refunded:order:{order_id}"
    payload: dict = {"order_id": order_id}
    if refund_id is not None:
        key, payload["refund_id"] = f"{key}:refund:{refund_id}", refund_id
    enqueue([(Kind.PAYMENT_REFUNDED, key, payload)])


def enqueue_expired_email(*, order_id: int) -> None:
    """Queue the email telling the customer that order `order_id` was cancelled because it
    was not paid in time (orders.services.expire_order). One email per order."""
    enqueue([(Kind.ORDER_EXPIRED, f"order_expired:order:{order_id}", {"order_id": order_id})])


def enqueue_return_email(*, return_id: int, status: str) -> None:
    """Queue the email telling the customer that return `return_id` is now `status` (a
    Return.Status value; orders.returns calls it at each step). One per return and status."""
    key = f"return_status:return:{return_id}:{status}"
    enqueue([(Kind.RETURN_STATUS, key, {"return_id": return_id, "status": status})])


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
    """The news that a refund of order payload["order_id"] went through, with its amount
    (refund payload["refund_id"]'s; without one, the payment's, in its currency, or the
    order's total without a payment), to its customer.

    None when the order was deleted.
    """
    order = _order(payload["order_id"])
    if order is None:
        return None
    refund = None
    if payload.get("refund_id") is not None:
        refund = Refund.objects.filter(pk=payload["refund_id"], order=order).first()
    # The reverse one-to-one raises an AttributeError subclass when the order has no payment.
    payment = getattr(order, "payment", None)
    if refund is not None:
        amount = refund.amount
    else:
        amount = payment.amount if payment is not None else order.total
    context = {
        "order": order,
        "customer": order.customer,
        "amount": amount,
        "refund_currency": payment.currency if payment is not None else order.currency,
        "partial": refund is not None and payment is not None and refund.amount < payment.amount,
    }
    return EmailContent(f"{TEMPLATES}/payment_refunded", context, [recipient(order)])


def build_expired_email(payload: dict) -> EmailContent | None:
    """The news that order payload["order_id"] was cancelled unpaid, to its customer (None
    when the order was deleted)."""
    order = _order(payload["order_id"])
    if order is None:
        return None
    context = {
        "order": order,
        "customer": order.customer,
        "minutes": settings.ORDER_PAYMENT_TIMEOUT_MINUTES,
    }
    return EmailContent(f"{TEMPLATES}/order_expired", context, [recipient(order)])


def build_return_email(payload: dict) -> EmailContent | None:
    """The news that return payload["return_id"] is now payload["status"], with its lines
    (and the refund's amount once refunded), to the order's customer. None when the return
    was deleted."""
    return_request = (
        Return.objects.select_related("order__customer", "refund")
        .filter(pk=payload["return_id"])
        .first()
    )
    if return_request is None:
        return None
    order = return_request.order
    context = {
        "order": order,
        "customer": order.customer,
        "return_request": return_request,
        "status": payload["status"],
        "lines": list(return_request.lines.select_related("order_item")),
        "refund": return_request.refund,
    }
    return EmailContent(f"{TEMPLATES}/return_status", context, [recipient(order)])


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
