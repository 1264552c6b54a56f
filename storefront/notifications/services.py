"""Notifications: write emails to the outbox inside the caller's transaction, send them later.

Each domain queues its own emails (orders/emails.py, accounts/emails.py, analytics/emails.py,
catalog/stock.py) through `enqueue`, which writes outbox rows in the caller's database
transaction and schedules their publication to Celery with `transaction.on_commit`: if the
transaction rolls back, nothing is sent; if the broker is down or hung, the rows wait for the
periodic drain (`drain_outbox`, run by Celery beat), as they do if the process dies before
publishing. Nothing waits on the broker; the publication after commit waits at most
settings.NOTIFICATIONS_PUBLISH_TIMEOUT (broker.py), and not at all while its breaker is open.

A Celery worker runs `deliver_message` for each row: it sends the email once, records it, and
ignores any later delivery of the same row (see docs/background.md).
"""

import datetime as dt
import logging
import random
from functools import partial

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from storefront.notifications import broker, emails
from storefront.notifications.models import OutboxMessage

logger = logging.getLogger(__name__)

Kind = OutboxMessage.Kind
Status = OutboxMessage.Status

# Backoff of a failed delivery (retry_delay): 5 s, 10 s, 20 s ... up to 10 minutes.
RETRY_BACKOFF_SECONDS = 5
RETRY_BACKOFF_MAX_SECONDS = 600


# --- Called by other apps, inside their transaction ----------------------------------------


def enqueue(messages: list[tuple[str, str, dict]]) -> None:
    """Insert outbox rows (kind, key, payload) and publish them after commit.

    Each message is (an OutboxMessage.Kind, a key unique to what it announces such as
    "order_confirmation:order:42", the JSON payload its email builder reads, e.g.
    {"order_id": 42}). Call it in the transaction of the change it announces: the row
    commits or rolls back with it. One query, whatever the number of messages.

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
            payload=payload,
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

    published, left, outage = broker.publish_each(send_message, message_ids)
    if left:
        OutboxMessage.objects.filter(pk__in=left, status=Status.PENDING).update(
            dispatched_at=None, next_attempt_at=None
        )
        logger.warning(
            "Broker unavailable (%s): %d outbox message(s) left for the drain.", outage, len(left)
        )
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
