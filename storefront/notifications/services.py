"""Notifications: write emails to the outbox inside the caller's transaction, send them later.

The functions other apps call (`order_placed`, `order_status_changed`, `payment_refunded`,
`stock_changed`, `customer_registered`) each write outbox rows in the caller's database
transaction and schedule their publication to Celery with `transaction.on_commit`: if the
transaction rolls back, nothing is sent; if the broker is down or hung, the rows wait for the
periodic drain (`drain_outbox`, run by Celery beat), as they do if the process dies before
publishing. None of them waits on the broker; the publication after commit waits at most
settings.NOTIFICATIONS_PUBLISH_TIMEOUT (broker.py), and not at all while its breaker is open.

A Celery worker runs `deliver_message` for each row: it sends the email once, records it, and
ignores any later delivery of the same row (see docs/background.md).
"""

import datetime as dt
import logging
import random
from collections.abc import Mapping
from functools import partial

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from storefront.catalog.models import ProductVariant
from storefront.notifications import broker, emails
from storefront.notifications.models import LowStockAlert, OutboxMessage
from storefront.orders.models import Order

logger = logging.getLogger(__name__)

Kind = OutboxMessage.Kind
Status = OutboxMessage.Status

# Status changes a customer hears about (Order.Status values); refunds are a payment status.
CUSTOMER_STATUSES = frozenset(
    {Order.Status.SHIPPED, Order.Status.DELIVERED, Order.Status.CANCELLED}
)
REFUNDED = "refunded"
# Backoff of a failed delivery (retry_delay): 5 s, 10 s, 20 s ... up to 10 minutes.
RETRY_BACKOFF_SECONDS = 5
RETRY_BACKOFF_MAX_SECONDS = 600


# --- Called by other apps, inside their transaction ----------------------------------------


def order_placed(*, order_id: int) -> None:
    """Queue the order confirmation email to the customer of order `order_id`.

    Call it in the transaction that creates the order. Calling it again for the same order
    queues nothing more. One query; the email goes out after commit.
    """
    enqueue([(Kind.ORDER_CONFIRMATION, f"order_confirmation:order:{order_id}", order_id)])


def order_status_changed(*, order_id: int, from_status: str, to_status: str) -> None:
    """Queue the email telling the customer that order `order_id` is now `to_status`.

    Only shipped, delivered, cancelled (and "refunded", handled as `payment_refunded`) are
    emailed; other statuses (pending, processing) queue nothing. One email per order and
    status, however often this is called. Raises ValueError for an unknown status.
    """
    if to_status == REFUNDED:
        payment_refunded(order_id=order_id)
        return
    if to_status not in Order.Status.values:
        raise ValueError(f"Unknown order status {to_status!r}.")
    if to_status not in CUSTOMER_STATUSES:
        return
    key = f"order_status:order:{order_id}:{to_status}"
    payload = {"order_id": order_id, "from_status": from_status, "to_status": to_status}
    enqueue([(Kind.ORDER_STATUS, key, payload)])


def payment_refunded(*, order_id: int) -> None:
    """Queue the email telling the customer that the payment of order `order_id` was refunded.

    One email per order, however often this is called.
    """
    enqueue([(Kind.PAYMENT_REFUNDED, f"payment_refunded:order:{order_id}", order_id)])


def customer_registered(*, user_id: int) -> None:
    """Queue the welcome email to the new customer `user_id` (once per customer)."""
    enqueue([(Kind.WELCOME, f"welcome:user:{user_id}", {"user_id": user_id})])


def stock_changed(
    *, variant_ids: list[int], stock: Mapping[int, int] | None = None, fell: bool = False
) -> None:
    """Alert staff about variants whose stock is now below settings.LOW_STOCK_THRESHOLD.

    Call it in the transaction that changed the stock (a sale, a cancellation, a restock,
    a staff edit: see `variant_saved`), after the change. `stock`, when the caller knows it
    (variant id: units now on hand, for every id of `variant_ids`), saves reading it again.
    A variant alerts once per crossing: the first call that finds it low opens a
    `LowStockAlert` and queues one email; later calls while it stays low queue nothing; a
    call that finds it back at or above the threshold resolves the alert, so the next fall
    alerts again. `fell=True` says the stock only went down (a sale): every rise resolves
    the alerts it ends, so a fall has none to resolve and skips that query. Safe under
    concurrent checkouts (one open alert per variant is a database constraint). One to five
    queries, whatever the number of variants.
    """
    if not variant_ids:
        return
    threshold = settings.LOW_STOCK_THRESHOLD
    if stock is None:
        stock = dict(
            ProductVariant.objects.filter(pk__in=set(variant_ids)).values_list(
                "pk", "stock_quantity"
            )
        )
    low = {pk: quantity for pk, quantity in stock.items() if quantity < threshold}
    restocked = [] if fell else [pk for pk in stock if pk not in low]
    if restocked:
        LowStockAlert.objects.filter(variant_id__in=restocked, resolved_at__isnull=True).update(
            resolved_at=timezone.now()
        )
    if not low:
        return
    LowStockAlert.objects.bulk_create(
        [
            LowStockAlert(variant_id=pk, stock_quantity=quantity, threshold=threshold)
            for pk, quantity in low.items()
        ],
        ignore_conflicts=True,
    )
    # An alert already open keeps its key, so the conflict-free insert below skips it.
    alert_ids = LowStockAlert.objects.filter(
        variant_id__in=list(low), resolved_at__isnull=True
    ).values_list("pk", flat=True)
    enqueue(
        [
            (Kind.LOW_STOCK, f"low_stock:alert:{alert_id}", {"alert_id": alert_id})
            for alert_id in alert_ids
        ]
    )


def variant_saved(*, sender: type, instance: ProductVariant, created: bool, **kwargs) -> None:
    """post_save receiver of ProductVariant: a staff edit (admin or API) may have raised or
    lowered the stock, so check it against the threshold (stock_changed). New variants are
    left alone: an alert is about stock that ran low, not stock never received; so is a save
    whose `update_fields` leave the stock out (the instance's copy of it may be stale). Sales
    and cancellations change stock with UPDATE statements and call stock_changed themselves.
    It runs while the saving transaction holds the variant's lock, as a checkout's call does
    (the lock order of docs/checkout.md: a variant's low-stock alert after the variant)."""
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and "stock_quantity" not in update_fields:
        return
    if not created and not kwargs.get("raw"):
        stock_changed(variant_ids=[instance.pk], stock={instance.pk: instance.stock_quantity})


def enqueue_daily_sales_report(*, day: dt.date) -> None:
    """Queue the sales report of `day` (a date in settings.TIME_ZONE) to staff, once per day."""
    key = f"daily_sales_report:{day.isoformat()}"
    enqueue([(Kind.DAILY_SALES_REPORT, key, {"date": day.isoformat()})])


def enqueue(messages: list[tuple[str, str, int | dict]]) -> None:
    """Insert outbox rows (kind, key, payload or order id) and publish them after commit.

    Each message is (an OutboxMessage.Kind, a key unique to what it announces such as
    "order_confirmation:order:42", a JSON payload or the id of an order). Call it in the
    transaction of the change it announces: the row commits or rolls back with it.

    Rows whose key exists are left as they are, and not published again: their own publish,
    or the drain, sends them. A row is written as already dispatched and due for the drain
    settings.NOTIFICATIONS_REDISPATCH_AFTER seconds later: the on-commit publish sends it,
    and should this process die before that publish (or the publish fail without a word),
    the drain still does, within that time plus one drain interval.
    """
    if not messages:
        return
    now = timezone.now()
    due = now + dt.timedelta(seconds=settings.NOTIFICATIONS_REDISPATCH_AFTER)
    rows = [
        OutboxMessage(
            kind=kind,
            key=key,
            payload=payload if isinstance(payload, dict) else {"order_id": payload},
            dispatched_at=now,
            next_attempt_at=due,
        )
        for kind, key, payload in messages
    ]
    message_ids = _insert_new(rows)
    if message_ids:
        transaction.on_commit(partial(publish_messages, message_ids=message_ids), robust=True)


def _insert_new(rows: list[OutboxMessage]) -> list[int]:
    """Insert the rows whose key is not taken; return the ids of those inserted.

    One INSERT ... ON CONFLICT (key) DO NOTHING RETURNING id (PostgreSQL 9.5+): Django's
    bulk_create(ignore_conflicts=True) returns no ids, and reading them back would cost a
    query per checkout.
    """
    connection = connections[router.db_for_write(OutboxMessage)]
    quote = connection.ops.quote_name
    meta = OutboxMessage._meta
    key_column, pk_column = meta.get_field("key").column, meta.pk.column
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    values = [
        field.get_db_prep_save(field.pre_save(row, add=True), connection)
        for row in rows
        for field in fields
    ]
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} "
            f"({', '.join(quote(field.column) for field in fields)}) VALUES {placeholders} "
            f"ON CONFLICT ({quote(key_column)}) DO NOTHING RETURNING {quote(pk_column)}",
            values,
        )
        return [message_id for (message_id,) in cursor.fetchall()]


# --- Publication: after commit, and by the periodic drain ----------------------------------


def publish_messages(*, message_ids: list[int]) -> int:
    """Hand each message to the broker once, without retrying; return how many it took.

    A broker error (Redis down, unreachable or hung: broker.publish gives up after
    settings.NOTIFICATIONS_PUBLISH_TIMEOUT, or at once while its breaker is open) stops the
    publication and makes the messages left due at once (`dispatched_at` and
    `next_attempt_at` cleared), so the next drain publishes them. Never raises for a broker
    outage.
    """
    from storefront.notifications.tasks import send_message

    published = 0
    for position, message_id in enumerate(message_ids):
        try:
            broker.publish(send_message, message_id)
        except broker.BrokerUnavailable as exc:
            left = message_ids[position:]
            OutboxMessage.objects.filter(pk__in=left, status=Status.PENDING).update(
                dispatched_at=None, next_attempt_at=None
            )
            logger.warning(
                "Broker unavailable (%s): %d outbox message(s) left for the drain.", exc, len(left)
            )
            break
        published += 1
    return published


def drain_outbox(*, batch_size: int = 500) -> int:
    """Publish the pending messages that are due; return how many were published.

    Run periodically by Celery beat (settings.NOTIFICATIONS_DRAIN_INTERVAL seconds). A
    message is due when its `next_attempt_at` is NULL or past: never taken by the broker,
    published settings.NOTIFICATIONS_REDISPATCH_AFTER seconds ago and still pending (its
    publication or its worker was lost), or waiting out the backoff after a failed attempt.
    Each one published is due again NOTIFICATIONS_REDISPATCH_AFTER seconds later, in case
    this publication is lost too. One with settings.NOTIFICATIONS_MAX_ATTEMPTS failed
    attempts is marked failed instead. Rows locked by a worker sending them are skipped.
    """
    now = timezone.now()
    with transaction.atomic():
        due = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PENDING)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("pk")
            .values_list("pk", "attempts")[:batch_size]
        )
        limit = settings.NOTIFICATIONS_MAX_ATTEMPTS
        exhausted = [pk for pk, attempts in due if attempts >= limit]
        to_publish = [pk for pk, attempts in due if attempts < limit]
        if exhausted:
            OutboxMessage.objects.filter(pk__in=exhausted).update(status=Status.FAILED)
            logger.error("Gave up on %d outbox message(s): %s", len(exhausted), exhausted)
        OutboxMessage.objects.filter(pk__in=to_publish).update(
            dispatched_at=now,
            next_attempt_at=now + dt.timedelta(seconds=settings.NOTIFICATIONS_REDISPATCH_AFTER),
        )
    return publish_messages(message_ids=to_publish)


def retry_delay(attempts: int) -> float:
    """Seconds to wait before the next attempt after `attempts` failed ones: exponential
    (RETRY_BACKOFF_SECONDS, twice that, four times...) up to RETRY_BACKOFF_MAX_SECONDS, with
    jitter (a random point in the upper half), so messages that failed together (an SMTP
    outage) do not all come back at once."""
    delay = min(RETRY_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), RETRY_BACKOFF_MAX_SECONDS)
    return random.uniform(delay / 2, delay)


# --- Delivery: in the Celery worker ----------------------------------------------------------


def deliver_message(*, message_id: int) -> str | None:
    """Send the email of outbox message `message_id` unless it was sent already.

    Idempotent: the row is locked while its email is sent and marked sent in the same
    transaction, so a second delivery of the same message (a duplicate publish, a drain, a
    worker retry) finds it sent, or locked by the worker sending it, and sends nothing.
    Returns the message's new status, or None when there was nothing to do. Exceptions (SMTP
    or database errors) propagate after the attempt is recorded with the time of the next
    one (`next_attempt_at`, see retry_delay): the drain publishes it again then. Retries are
    never left to Celery, whose countdown tasks the Redis transport holds unacknowledged.

    If the SMTP server accepted the email but the process dies (or the commit that records
    it fails) before the commit, the email is sent again: delivery is at least once, never
    twice for a recorded message.
    """
    try:
        with transaction.atomic():
            message = (
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(pk=message_id, status=Status.PENDING)
                .first()
            )
            if message is None:
                return None
            email = emails.build(message)
            if email is None:
                message.status = Status.SKIPPED
            else:
                email.send()
                message.status = Status.SENT
                message.sent_at = timezone.now()
                message.recipients = list(email.to)
                message.subject = email.subject[:255]
            message.attempts = F("attempts") + 1
            message.last_error = ""
            message.save(
                update_fields=[
                    "status",
                    "sent_at",
                    "recipients",
                    "subject",
                    "attempts",
                    "last_error",
                    "updated_at",
                ]
            )
            return message.status
    except Exception as exc:
        failed = OutboxMessage.objects.filter(pk=message_id, status=Status.PENDING)
        attempts = (failed.values_list("attempts", flat=True).first() or 0) + 1
        failed.update(
            attempts=F("attempts") + 1,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=timezone.now() + dt.timedelta(seconds=retry_delay(attempts)),
        )
        raise
