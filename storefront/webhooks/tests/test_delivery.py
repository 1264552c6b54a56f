"""Deliveries to a real HTTP receiver on loopback: the signed envelope, retries on the backoff
schedule (the clock moved by time-machine), the give-up after the retry window, refused
addresses, and the outbox's guarantees (storefront/webhooks/services.py)."""

import datetime as dt
import json
import socket
import time

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from storefront.webhooks import services
from storefront.webhooks.models import WebhookDelivery, WebhookEvent
from storefront.webhooks.tests.conftest import (
    SECRET,
    answer,
    hang,
    make_endpoint,
    verify_signature,
)

pytestmark = pytest.mark.django_db

Status = WebhookDelivery.Status
DATA = {"variant_id": 7, "sku": "TEE-M", "stock_quantity": 3}


def emitted(event: str = "stock.changed", data: dict | None = None) -> WebhookDelivery:
    services.emit(event, data or DATA)
    return WebhookDelivery.objects.select_related("event").latest("created_at")


def deliver(delivery: WebhookDelivery) -> WebhookDelivery:
    services.deliver(delivery_id=str(delivery.pk))
    delivery.refresh_from_db()
    return delivery


# --- Emission ------------------------------------------------------------------------------


def test_an_event_no_endpoint_subscribes_to_costs_one_statement_and_writes_nothing(
    receiver, django_assert_num_queries
):
    make_endpoint(receiver.url, ["order.placed"])
    make_endpoint(receiver.url, ["stock.changed"], is_active=False)

    with django_assert_num_queries(1):
        services.emit("stock.changed", DATA)

    assert not WebhookEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_an_event_gets_one_delivery_per_active_subscribed_endpoint_in_one_statement(
    receiver, django_assert_num_queries
):
    wanted = [make_endpoint(receiver.url, ["stock.changed", "order.placed"]) for _ in range(2)]
    make_endpoint(receiver.url, ["order.placed"])

    with django_assert_num_queries(1):
        services.emit("stock.changed", DATA)

    event = WebhookEvent.objects.get()
    assert (event.type, event.data) == ("stock.changed", DATA)
    deliveries = WebhookDelivery.objects.filter(event=event)
    assert {d.endpoint_id for d in deliveries} == {e.pk for e in wanted}
    assert {d.status for d in deliveries} == {Status.PENDING}
    assert len({d.pk for d in deliveries}) == 2


def test_an_unknown_event_type_is_refused():
    with pytest.raises(ValueError, match=r"Unknown webhook event 'order\.shipped'"):
        services.emit("order.shipped", {})


def test_collect_writes_the_events_of_its_block_in_one_statement(
    receiver, django_assert_num_queries
):
    make_endpoint(receiver.url, ["stock.changed", "product.updated"])

    with django_assert_num_queries(1), services.collect():
        services.emit("stock.changed", DATA)
        with services.collect():
            services.emit("product.updated", {"id": 1})

    assert sorted(WebhookEvent.objects.values_list("type", flat=True)) == [
        "product.updated",
        "stock.changed",
    ]


def test_a_collect_block_that_raises_drops_its_events(receiver):
    make_endpoint(receiver.url, ["stock.changed", "product.updated"])

    with services.collect():
        services.emit("stock.changed", DATA)
        with pytest.raises(RuntimeError), services.collect():
            services.emit("product.updated", {"id": 1})
            raise RuntimeError

    assert list(WebhookEvent.objects.values_list("type", flat=True)) == ["stock.changed"]


@pytest.mark.django_db(transaction=True)
def test_an_event_of_a_transaction_that_rolls_back_is_never_delivered(receiver):
    make_endpoint(receiver.url, ["stock.changed"])

    with pytest.raises(RuntimeError), transaction.atomic():
        services.emit("stock.changed", DATA)
        raise RuntimeError("the change failed")
    services.drain_deliveries()

    assert not WebhookEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert receiver.received == []


# --- One delivery --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_committed_event_is_posted_signed_to_the_receiver(receiver):
    endpoint = make_endpoint(receiver.url, ["stock.changed"])

    # Celery runs eagerly in the tests: the publication after commit delivers at once.
    with transaction.atomic():
        services.emit("stock.changed", DATA)

    delivery = WebhookDelivery.objects.select_related("event").get()
    ((path, headers, body),) = receiver.received
    assert path == "/hooks"
    assert headers["Content-Type"] == "application/json"
    assert headers["Storefront-Event"] == "stock.changed"
    assert headers["Storefront-Delivery"] == str(delivery.pk)
    assert verify_signature(endpoint.secret, headers["Storefront-Signature"], body)
    assert not verify_signature("another secret", headers["Storefront-Signature"], body)
    assert not verify_signature(endpoint.secret, headers["Storefront-Signature"], body + b" ")
    envelope = json.loads(body)
    assert envelope == {
        "id": str(delivery.event.pk),
        "type": "stock.changed",
        "created_at": envelope["created_at"],
        "data": DATA,
    }
    assert dt.datetime.fromisoformat(envelope["created_at"]) == delivery.event.created_at
    assert (delivery.status, delivery.attempts, delivery.response_status) == (
        Status.SUCCEEDED,
        1,
        200,
    )
    assert delivery.response_body == "ok"
    assert delivery.duration_ms is not None and delivery.delivered_at is not None
    assert delivery.last_error == ""


def test_the_signature_is_too_old_for_the_snippet_after_its_tolerance(receiver):
    make_endpoint(receiver.url, ["stock.changed"])
    deliver(emitted())
    ((_, headers, body),) = receiver.received

    with time_machine.travel(timezone.now() + dt.timedelta(seconds=301)):
        assert not verify_signature(SECRET, headers["Storefront-Signature"], body)


def test_a_second_publication_of_a_delivered_delivery_sends_nothing(receiver):
    make_endpoint(receiver.url, ["stock.changed"])
    delivery = deliver(emitted())

    assert services.deliver(delivery_id=str(delivery.pk)) is None
    assert len(receiver.received) == 1


def test_a_redirect_is_a_failure_and_is_not_followed(receiver):
    make_endpoint(receiver.url, ["stock.changed"])
    receiver.behaviours = [answer(302, Location="/elsewhere")]

    delivery = deliver(emitted())

    assert [r.path for r in receiver.received] == ["/hooks"]
    assert (delivery.status, delivery.response_status) == (Status.PENDING, 302)
    assert delivery.last_error == "The receiver answered 302; redirects are not followed."


def test_at_most_the_response_cap_of_an_answer_is_read(receiver, settings):
    settings.WEBHOOK_MAX_RESPONSE_BYTES = 100
    make_endpoint(receiver.url, ["stock.changed"])
    receiver.behaviours = [answer(200, b"x" * 100_000)]

    delivery = deliver(emitted())

    assert delivery.status == Status.SUCCEEDED
    assert delivery.response_body == "x" * 100


def test_a_slow_receiver_is_cut_off_at_the_timeout(receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    make_endpoint(receiver.url, ["stock.changed"])
    receiver.behaviours = [hang(3)]
    started = time.monotonic()

    delivery = deliver(emitted())

    assert time.monotonic() - started < 1.5
    assert delivery.status == Status.PENDING
    assert delivery.response_status is None
    assert delivery.last_error == (
        f"The webhook at {receiver.url} took longer than the 0.5 seconds allowed."
    )


def test_an_inactive_endpoint_fails_its_pending_deliveries(receiver):
    endpoint = make_endpoint(receiver.url, ["stock.changed"])
    delivery = emitted()
    endpoint.is_active = False
    endpoint.save()

    delivery = deliver(delivery)

    assert (delivery.status, delivery.last_error) == (Status.FAILED, "The endpoint is inactive.")
    assert receiver.received == []


# --- Refused addresses ---------------------------------------------------------------------


@pytest.mark.parametrize("host", ["10.0.0.1", "127.0.0.1"])
def test_a_webhook_to_a_private_or_loopback_address_is_refused_without_connecting(
    receiver, settings, monkeypatch, host
):
    settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = ()
    url = receiver.url.replace("127.0.0.1", host)
    make_endpoint(url, ["stock.changed"])
    delivery = emitted()
    connects = []
    real_connect = socket.socket.connect

    def recording_connect(sock, address):
        connects.append(address)
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    started = time.monotonic()

    delivery = deliver(delivery)

    assert time.monotonic() - started < 2  # 10.0.0.1 would hang for the whole timeout.
    assert connects == []
    assert receiver.received == []
    assert delivery.status == Status.PENDING  # Retried: the setting or the DNS may change.
    assert delivery.response_status is None
    assert delivery.last_error == f"The webhook host {host} is not a public address."


# --- Retries -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempts", "step"),
    [(1, 10), (2, 20), (3, 40), (4, 80), (6, 320), (9, 2560), (10, 3600), (30, 3600)],
)
def test_the_backoff_doubles_from_ten_seconds_up_to_an_hour_with_jitter(attempts, step):
    delays = [services.retry_delay(attempts) for _ in range(200)]

    assert all(step / 2 <= delay <= step for delay in delays)
    assert max(delays) - min(delays) > step / 10  # Jitter: not all at the same moment.


def test_a_receiver_failing_then_timing_out_then_up_gets_the_delivery_with_one_id(
    receiver, settings
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    make_endpoint(receiver.url, ["stock.changed"])
    receiver.behaviours = [answer(500, b"boom"), hang(2)]
    start = timezone.now()

    with time_machine.travel(start, tick=True) as clock:
        delivery = deliver(emitted())
        assert (delivery.status, delivery.response_status) == (Status.PENDING, 500)
        assert delivery.last_error == "The receiver answered 500."
        first_wait = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
        assert 5 <= first_wait <= 10

        assert services.drain_deliveries() == 0  # Not due yet.
        clock.move_to(delivery.next_attempt_at)
        assert services.drain_deliveries() == 1  # Published: delivered at once (eager).
        delivery.refresh_from_db()
        assert delivery.attempts == 2
        assert "took longer than the 0.5 seconds allowed" in delivery.last_error
        second_wait = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
        assert 10 <= second_wait <= 20

        clock.move_to(delivery.next_attempt_at)
        assert services.drain_deliveries() == 1
        delivery.refresh_from_db()

    assert (delivery.status, delivery.attempts, delivery.response_status) == (
        Status.SUCCEEDED,
        3,
        200,
    )
    assert delivery.last_error == ""
    ids = {r.headers["Storefront-Delivery"] for r in receiver.received}
    assert ids == {str(delivery.pk)}
    assert len({r.body for r in receiver.received}) == 1  # The same bytes every time.
    assert len({r.headers["Storefront-Signature"] for r in receiver.received}) == 3


def test_a_receiver_down_for_an_hour_loses_nothing(receiver):
    make_endpoint(receiver.url, ["stock.changed"])
    receiver.default = answer(503)
    start = timezone.now()

    with time_machine.travel(start) as clock:
        delivery = deliver(emitted())
        while delivery.next_attempt_at < start + dt.timedelta(hours=1):
            clock.move_to(delivery.next_attempt_at)
            delivery = deliver(delivery)
        receiver.default = answer(204, b"")
        clock.move_to(delivery.next_attempt_at)
        delivery = deliver(delivery)

    assert delivery.status == Status.SUCCEEDED
    assert 8 <= delivery.attempts <= 12
    assert [r.headers["Storefront-Delivery"] for r in receiver.received] == [
        str(delivery.pk)
    ] * delivery.attempts


def test_a_delivery_still_failing_at_the_end_of_the_retry_window_fails(receiver, settings):
    settings.WEBHOOK_RETRY_HOURS = 24
    make_endpoint(receiver.url, ["stock.changed"])
    receiver.default = answer(500)
    start = timezone.now()

    with time_machine.travel(start) as clock:
        delivery = deliver(emitted())
        while delivery.status == Status.PENDING:
            assert delivery.next_attempt_at <= delivery.retry_until
            clock.move_to(delivery.next_attempt_at)
            delivery = deliver(delivery)
        clock.move_to(start + dt.timedelta(days=2))
        assert services.drain_deliveries() == 0

    assert delivery.status == Status.FAILED
    assert delivery.retry_until == delivery.created_at + dt.timedelta(hours=24)
    assert start + dt.timedelta(hours=23) <= delivery.last_attempt_at <= delivery.retry_until
    # About 10 in the first 1.5 hours, then one every 30 to 60 minutes (the jitter takes a
    # point in the upper half of each delay): between 24 and 58 attempts in 24 hours.
    assert 24 <= delivery.attempts <= 58
    assert len(receiver.received) == delivery.attempts
    assert delivery.next_attempt_at is None


def test_redeliver_sends_a_delivery_again_with_the_same_id(receiver):
    make_endpoint(receiver.url, ["stock.changed"])
    receiver.default = answer(500)
    with time_machine.travel(timezone.now()) as clock:
        delivery = deliver(emitted())
        clock.shift(dt.timedelta(days=2))
        delivery = deliver(delivery)
    assert delivery.status == Status.FAILED
    receiver.default = answer(200)

    with pytest.MonkeyPatch.context() as patch:
        published = []
        patch.setattr(
            services, "publish_after_commit", lambda ids, **kw: published.extend(map(str, ids))
        )
        assert services.redeliver(delivery_ids=[delivery.pk]) == 1
    assert published == [str(delivery.pk)]
    delivery = deliver(delivery)

    assert (delivery.status, delivery.attempts) == (Status.SUCCEEDED, 1)
    assert {r.headers["Storefront-Delivery"] for r in receiver.received} == {str(delivery.pk)}


def test_a_lost_publication_is_published_again_by_the_drain(receiver, settings):
    make_endpoint(receiver.url, ["stock.changed"])
    delivery = emitted()  # The test's transaction never commits: nothing was published.

    assert services.drain_deliveries() == 0  # Due NOTIFICATIONS_REDISPATCH_AFTER later.
    later = timezone.now() + dt.timedelta(seconds=settings.NOTIFICATIONS_REDISPATCH_AFTER)
    with time_machine.travel(later):
        assert services.drain_deliveries() == 1

    delivery.refresh_from_db()
    assert delivery.status == Status.SUCCEEDED
    assert len(receiver.received) == 1
