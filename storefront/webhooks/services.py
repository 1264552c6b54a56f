"""Outgoing webhooks: events written inside the caller's transaction, delivered later.

Each domain announces its events through `emit` (orders/services.py: order.*, payment.*;
catalog/services.py: product.*), inside the transaction of the change. One statement writes
the event and one delivery per active endpoint subscribed to its type, reading the
subscriptions in the same statement; when no endpoint subscribes, it writes nothing. After
commit the deliveries are published to Celery (notifications/broker.py: short timeout,
circuit breaker); the periodic drain (`drain_deliveries`, Celery beat) publishes those whose
publication was lost and those whose backoff has passed. A Celery worker runs `deliver` for
each: one signed POST through storefront/core/http.py, the outcome recorded on the delivery.
Nothing here runs in a web request but the INSERT: a slow or dead receiver only ever holds a
worker. See docs/webhooks.md.
"""

import datetime as dt
import hashlib
import hmac
import json
import logging
import random
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, router, transaction
from django.db.models import F, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from storefront.core import http, sql
from storefront.notifications import broker
from storefront.webhooks.models import (
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    new_secret,
)

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
USER_AGENT = "Storefront-Webhooks/1"
# The word of the HTTP client's messages: "The webhook host 10.0.0.1 is not a public address."
NOUN = "webhook"
# Backoff after a failed attempt (retry_delay): 10 s, 20 s, 40 s ... up to an hour, for
# settings.WEBHOOK_RETRY_HOURS.
RETRY_BACKOFF_SECONDS = 10
RETRY_BACKOFF_MAX_SECONDS = 3600
# The start of a receiver's answer kept on the delivery, in characters.
RESPONSE_BODY_KEPT = 1000
DELIVERIES_QUERY = "webhook_deliveries"

Event = tuple[str, dict]


# --- Called by other apps, inside their transaction ----------------------------------------


def emit(event: str, data: dict) -> None:
    """Announce `event` (an EventType value, e.g. "stock.changed") with its `data` (a JSON
    object: ids, and amounts as decimal strings) to every endpoint subscribed to it.

    Call it inside the transaction that makes the change: the event commits or rolls back
    with it, and is delivered after commit. One statement, whether or not an endpoint
    subscribes (nothing is written when none does); none inside collect(), whose block
    writes every event it collected in one statement. Raises ValueError for an unknown
    event type.
    """
    emit_many([(event, data)])


def emit_many(events: Sequence[Event]) -> None:
    """emit each (event, data) of `events`, in one statement (none when `events` is empty)."""
    events = [_checked(event, data) for event, data in events]
    if not events:
        return
    buffer = _collected()
    if buffer is not None:
        buffer.extend(events)
        return
    using = router.db_for_write(WebhookDelivery)
    queries, select = emission_queries(events)
    (delivery_ids,) = sql.run_with_queries(queries, f"SELECT {select}", using=using)
    publish_after_commit(delivery_ids, using=using)


@contextmanager
def collect() -> Iterator[None]:
    """Collect the events emitted inside the block and write them together, in one
    statement, when the block ends without an exception (none if nothing was emitted).

    Blocks nest: the outermost writes. A block that raises drops what it collected. For
    workflows that emit several events (a payment completing moves its order too), and for
    one statement that writes its own rows and the events together (take_collected).
    """
    local = _state()
    outermost = local.buffer is None
    if outermost:
        local.buffer = []
    start = len(local.buffer)
    try:
        yield
    except BaseException:
        del local.buffer[start:]
        if outermost:
            local.buffer = None
        raise
    if outermost:
        events, local.buffer = local.buffer, None
        emit_many(events)


def take_collected() -> list[Event]:
    """Remove and return the events collected so far by the enclosing collect() block (none
    outside one), for a statement that writes them itself (emission_queries)."""
    buffer = _collected()
    if not buffer:
        return []
    events = list(buffer)
    buffer.clear()
    return events


def emission_queries(events: Sequence[Event]) -> tuple[list[tuple[str, tuple]], str]:
    """The WITH queries that write `events` and their deliveries, and the SELECT expression
    of the new deliveries' ids, for storefront.core.sql.run_with_queries: alone (emit) or
    among the WITH queries of a statement of its own (the checkout's, orders/services.py).
    Pass the ids to publish_after_commit.

    A top-level value of an event's data may be a RawSQL of one value, e.g.
    sql.with_query_id("new_order"): the id of a row inserted by an earlier WITH query. The
    endpoints are read in the same statement (the subscriptions as they are in its
    snapshot); an event no active endpoint subscribes to is not written. A documented raw
    query: INSERT ... SELECT is not something the ORM builds.
    """
    connection = connections[router.db_for_write(WebhookDelivery)]
    quote = connection.ops.quote_name
    now = timezone.now()
    rows, params = [], []
    for event_type, data in events:
        plain = {key: value for key, value in data.items() if not isinstance(value, RawSQL)}
        computed = {key: value for key, value in data.items() if isinstance(value, RawSQL)}
        value_sql = "%s::jsonb"
        params.extend([str(WebhookEvent._meta.pk.default()), event_type])
        params.append(json.dumps(plain, cls=DjangoJSONEncoder))
        for key, expression in computed.items():
            value_sql = f"jsonb_set({value_sql}, %s::text[], to_jsonb(({expression.sql})))"
            params.extend([[key], *expression.params])
        rows.append(f"(%s::uuid, %s::varchar, {value_sql}, %s::timestamptz)")
        params.append(now)
    endpoints = quote(WebhookEndpoint._meta.db_table)
    event_table = quote(WebhookEvent._meta.db_table)
    delivery_table = quote(WebhookDelivery._meta.db_table)
    retry_until = now + dt.timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
    due = now + dt.timedelta(seconds=settings.NOTIFICATIONS_REDISPATCH_AFTER)
    queries = [
        ("webhook_new", ("VALUES " + ", ".join(rows), tuple(params))),
        (
            "webhook_targets",
            (
                "SELECT event.column1 AS event_id, endpoint.id AS endpoint_id "
                f"FROM webhook_new AS event JOIN {endpoints} AS endpoint "
                "ON endpoint.is_active AND event.column2 = ANY(endpoint.events)",
                (),
            ),
        ),
        (
            "webhook_events",
            (
                f"INSERT INTO {event_table} (id, type, data, created_at) "
                "SELECT column1, column2, column3, column4 FROM webhook_new "
                "WHERE column1 IN (SELECT event_id FROM webhook_targets) RETURNING id",
                (),
            ),
        ),
        (
            DELIVERIES_QUERY,
            (
                f"INSERT INTO {delivery_table} (id, event_id, endpoint_id, status, attempts, "
                "dispatched_at, next_attempt_at, retry_until, response_body, last_error, "
                "created_at, updated_at) "
                "SELECT gen_random_uuid(), event_id, endpoint_id, %s, 0, %s, %s, %s, '', '', "
                "%s, %s FROM webhook_targets RETURNING id",
                (Status.PENDING, now, due, retry_until, now, now),
            ),
        ),
    ]
    return queries, f"ARRAY(SELECT id FROM {DELIVERIES_QUERY})"


def publish_after_commit(delivery_ids: Iterable, *, using: str | None = None) -> None:
    """Publish the deliveries `delivery_ids` (written by emission_queries) once the current
    transaction commits; nothing when there are none. Each is written as dispatched and due
    for the drain settings.NOTIFICATIONS_REDISPATCH_AFTER seconds later, in case this
    process dies before publishing."""
    delivery_ids = [str(delivery_id) for delivery_id in delivery_ids]
    if delivery_ids:
        transaction.on_commit(
            partial(publish_deliveries, delivery_ids=delivery_ids), using=using, robust=True
        )


def _checked(event: str, data: dict) -> Event:
    if event not in EventType.values:
        raise ValueError(f"Unknown webhook event {event!r}; see webhooks.models.EventType.")
    if not isinstance(data, dict):
        raise ValueError("Webhook event data is a dict (a JSON object).")
    return event, data


_local = threading.local()


def _state() -> threading.local:
    if not hasattr(_local, "buffer"):
        _local.buffer = None
    return _local


def _collected() -> list[Event] | None:
    return _state().buffer


# --- Endpoints ------------------------------------------------------------------------------

ENDPOINT_FIELDS = ("url", "events", "is_active", "description", "secret")


def create_endpoint(
    *,
    url: str,
    events: list[str],
    secret: str | None = None,
    is_active: bool = True,
    description: str = "",
) -> WebhookEndpoint:
    """Register an endpoint for `events` (EventType values) at `url` (checked by the API's
    serializer or the admin's form); without `secret`, a new one (models.new_secret). The
    endpoint gets the events emitted by transactions that commit after it."""
    return WebhookEndpoint.objects.create(
        url=url,
        events=list(events),
        secret=secret or new_secret(),
        is_active=is_active,
        description=description,
    )


@transaction.atomic
def update_endpoint(*, endpoint: WebhookEndpoint, changes: dict) -> WebhookEndpoint:
    """Apply `changes` (any of ENDPOINT_FIELDS) to `endpoint`, writing only what changed.
    Deliveries already written keep going to the endpoint (with the new URL and secret)."""
    values = {name: changes[name] for name in ENDPOINT_FIELDS if name in changes}
    changed = [name for name, value in values.items() if getattr(endpoint, name) != value]
    for name in changed:
        setattr(endpoint, name, values[name])
    if changed:
        endpoint.save(update_fields=[*changed, "updated_at"])
    return endpoint


# --- Publication: after commit, and by the periodic drain ----------------------------------


def publish_deliveries(*, delivery_ids: list[str]) -> int:
    """Hand each delivery to the broker once, without retrying; return how many it took.

    A broker outage (broker.BrokerUnavailable) stops the publication and makes the
    deliveries left due at once, for the next drain. Never raises for a broker outage.
    """
    from storefront.webhooks.tasks import deliver_webhook

    published, left, outage = broker.publish_each(deliver_webhook, delivery_ids)
    if left:
        WebhookDelivery.objects.filter(pk__in=left, status=Status.PENDING).update(
            dispatched_at=None, next_attempt_at=None
        )
        logger.warning(
            "Broker unavailable (%s): %d webhook delivery(ies) left for the drain.",
            outage,
            len(left),
        )
    return published


def drain_deliveries(*, batch_size: int = 500) -> int:
    """Publish the pending deliveries that are due; return how many were published.

    Run by Celery beat every settings.NOTIFICATIONS_DRAIN_INTERVAL seconds. Due: its
    `next_attempt_at` is NULL or past (never taken by the broker, its publication or worker
    lost, or its backoff over). Each one published is due again
    settings.NOTIFICATIONS_REDISPATCH_AFTER seconds later, in case this publication is lost
    too. Deliveries locked by a worker sending them are skipped.
    """
    now = timezone.now()
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PENDING)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("next_attempt_at", "created_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        WebhookDelivery.objects.filter(pk__in=due).update(
            dispatched_at=now,
            next_attempt_at=now + dt.timedelta(seconds=settings.NOTIFICATIONS_REDISPATCH_AFTER),
            updated_at=now,
        )
    return publish_deliveries(delivery_ids=[str(pk) for pk in due])


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones: RETRY_BACKOFF_SECONDS,
    twice that, four times... up to RETRY_BACKOFF_MAX_SECONDS, with jitter (a random point
    in the upper half), so that deliveries that failed together do not all come back at
    once."""
    delay = min(RETRY_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), RETRY_BACKOFF_MAX_SECONDS)
    return random.uniform(delay / 2, delay)


def redeliver(*, delivery_ids: Iterable) -> int:
    """Send the deliveries `delivery_ids` again, whatever their status (staff: the admin's
    "Redeliver" action): pending, attempts counted from 0, retried for another
    settings.WEBHOOK_RETRY_HOURS, published after commit. The delivery id stays: a receiver
    that processed it already may ignore it. Returns how many were found."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.select_for_update()
            .filter(pk__in=list(delivery_ids))
            .values_list("pk", flat=True)
        )
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=Status.PENDING,
            attempts=0,
            dispatched_at=now,
            next_attempt_at=now + dt.timedelta(seconds=settings.NOTIFICATIONS_REDISPATCH_AFTER),
            retry_until=now + dt.timedelta(hours=settings.WEBHOOK_RETRY_HOURS),
            updated_at=now,
        )
        publish_after_commit(ids)
    return len(ids)


# --- Delivery: in the Celery worker ----------------------------------------------------------


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    """The Storefront-Signature header of `body` sent at `timestamp` (Unix seconds):
    "t=<timestamp>,v1=<hex HMAC-SHA256 of '<timestamp>.<body>' keyed with the secret>"."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def body_of(event: WebhookEvent) -> bytes:
    """The JSON body of every delivery of `event`: the same bytes on every attempt."""
    return json.dumps(event.envelope(), cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def deliver(*, delivery_id: str) -> str | None:
    """POST delivery `delivery_id` to its endpoint unless it is no longer pending.

    The row is locked (SKIP LOCKED) for the attempt and its outcome recorded in the same
    transaction, so a second publication of the same delivery finds it done, or locked by
    the worker sending it, and sends nothing. A 2xx answer succeeds; a 3xx (redirects are
    not followed), 4xx or 5xx, a timeout (settings.WEBHOOK_TIMEOUT_SECONDS for the whole
    exchange), a network or TLS error, or a refused address
    (settings.OUTBOUND_HTTP_ALLOWED_NETWORKS) fails the attempt: the next one is due after
    retry_delay, unless that is past the delivery's `retry_until`, which fails the delivery.
    An inactive endpoint fails it at once. Returns the delivery's new status, or None when
    there was nothing to do. Other exceptions (the database lost) propagate after the
    attempt is counted, and the drain retries it.

    At least once: a worker that dies after the receiver answered and before the commit
    leaves the delivery pending, and it is sent again with the same Storefront-Delivery.
    """
    try:
        with transaction.atomic():
            delivery = (
                WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("event", "endpoint")
                .filter(pk=delivery_id, status=Status.PENDING)
                .first()
            )
            if delivery is None:
                return None
            if not delivery.endpoint.is_active:
                _record(delivery, error="The endpoint is inactive.", final=True)
                return delivery.status
            _attempt(delivery)
            return delivery.status
    except Exception as exc:
        failed = WebhookDelivery.objects.filter(pk=delivery_id, status=Status.PENDING)
        attempts = (failed.values_list("attempts", flat=True).first() or 0) + 1
        now = timezone.now()
        failed.update(
            attempts=F("attempts") + 1,
            last_attempt_at=now,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=now + dt.timedelta(seconds=retry_delay(attempts)),
            updated_at=now,
        )
        raise


def _attempt(delivery: WebhookDelivery) -> None:
    """One POST of the locked `delivery`, its outcome recorded on it."""
    event, endpoint = delivery.event, delivery.endpoint
    body = body_of(event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Storefront-Event": event.type,
        "Storefront-Delivery": str(delivery.pk),
        "Storefront-Signature": sign(secret=endpoint.secret, timestamp=int(time.time()), body=body),
    }
    started = time.monotonic()
    try:
        response = http.post(
            endpoint.url,
            noun=NOUN,
            body=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            max_bytes=settings.WEBHOOK_MAX_RESPONSE_BYTES,
        )
    except http.OutboundRequestError as exc:
        _record(delivery, error=str(exc), duration=time.monotonic() - started)
        return
    duration = time.monotonic() - started
    error = ""
    if 300 <= response.status < 400:
        error = f"The receiver answered {response.status}; redirects are not followed."
    elif not 200 <= response.status < 300:
        error = f"The receiver answered {response.status}."
    _record(delivery, error=error, response=response, duration=duration)


def _record(
    delivery: WebhookDelivery,
    *,
    error: str,
    response: http.Response | None = None,
    duration: float | None = None,
    final: bool = False,
) -> None:
    """Write the outcome of an attempt on `delivery`: succeeded without `error`; otherwise
    due again after retry_delay, or failed when that is past retry_until (or `final`)."""
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_error = error
    delivery.response_status = response.status if response is not None else None
    delivery.response_body = (
        response.body.decode("utf-8", "replace")[:RESPONSE_BODY_KEPT].replace("\x00", "")
        if response is not None
        else ""
    )
    delivery.duration_ms = round(duration * 1000) if duration is not None else None
    if not error:
        delivery.status = Status.SUCCEEDED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    else:
        next_attempt = now + dt.timedelta(seconds=retry_delay(delivery.attempts))
        if final or next_attempt > delivery.retry_until:
            delivery.status = Status.FAILED
            delivery.next_attempt_at = None
            logger.error(
                "Webhook delivery %s to %s failed after %d attempt(s): %s",
                delivery.pk,
                http.shown(delivery.endpoint.url),
                delivery.attempts,
                error,
            )
        else:
            delivery.next_attempt_at = next_attempt
            logger.warning(
                "Webhook delivery %s to %s failed (attempt %d, next at %s): %s",
                delivery.pk,
                http.shown(delivery.endpoint.url),
                delivery.attempts,
                next_attempt.isoformat(),
                error,
            )
    delivery.updated_at = now
    delivery.save(
        update_fields=[
            "status",
            "attempts",
            "last_attempt_at",
            "last_error",
            "response_status",
            "response_body",
            "duration_ms",
            "delivered_at",
            "next_attempt_at",
            "updated_at",
        ]
    )
