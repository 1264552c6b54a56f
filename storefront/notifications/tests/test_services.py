"""The notification services, with tasks run in-process (config.settings.test runs Celery
eagerly) and emails in Django's locmem outbox. tests/test_worker.py runs a real worker."""

import datetime as dt
import smtplib
from decimal import Decimal

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.utils import timezone

from config.settings import base
from storefront.accounts.tests.factories import UserFactory
from storefront.catalog.tests.factories import ProductFactory, VariantFactory
from storefront.notifications import services, tasks
from storefront.notifications.models import OutboxMessage
from storefront.notifications.tests.conftest import (
    CLOSED_BROKER_URL,
    broker,
    broker_url_for_tests,
)
from storefront.notifications.tests.factories import OutboxMessageFactory
from storefront.orders.models import Order
from storefront.orders.tests.factories import order_with_items
from storefront.payments.models import Payment

pytestmark = pytest.mark.django_db

Status = OutboxMessage.Status


class FailingSMTPBackend(BaseEmailBackend):
    """An SMTP server that hangs up on every message."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.fixture
def order():
    customer = UserFactory(email="ada@example.com", first_name="Ada")
    shirt = VariantFactory(
        price=Decimal("12.50"), sku="SHIRT-M", name="M", product=ProductFactory(name="Shirt")
    )
    return order_with_items([(shirt, 2)], customer=customer, number="SF-1001")


def emails_with_key(key: str) -> list:
    return [m for m in mail.outbox if m.extra_headers.get("X-Storefront-Notification") == key]


# --- order_placed ----------------------------------------------------------------------------


def test_order_placed_emails_the_confirmation_after_commit(
    order, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.order_placed(order_id=order.pk)
        assert mail.outbox == []  # nothing leaves before the transaction commits

    [email] = mail.outbox
    assert email.to == ["ada@example.com"]
    assert email.subject == "Order SF-1001 confirmed"
    assert "2 x Shirt (M), SKU SHIRT-M: 25.00 USD" in email.body
    assert "Total: 25.00 USD" in email.body
    assert email.alternatives[0].mimetype == "text/html"


def test_order_placed_writes_one_outbox_row_in_one_query(order, django_assert_num_queries):
    with django_assert_num_queries(1):
        services.order_placed(order_id=order.pk)

    message = OutboxMessage.objects.get()
    assert (message.kind, message.key, message.payload, message.status) == (
        "order_confirmation",
        f"order_confirmation:order:{order.pk}",
        {"order_id": order.pk},
        "pending",
    )


def test_order_placed_twice_sends_one_email(order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.order_placed(order_id=order.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.order_placed(order_id=order.pk)

    assert OutboxMessage.objects.count() == 1
    assert len(mail.outbox) == 1


def test_the_publish_after_commit_is_handed_the_new_rows_ids(
    order, django_capture_on_commit_callbacks
):
    """The INSERT returns the ids of the rows it wrote, so the publish reads nothing back; a
    key already written (its message published, or left to the drain) is not published
    again."""
    with django_capture_on_commit_callbacks() as first:
        services.order_placed(order_id=order.pk)
    with django_capture_on_commit_callbacks() as again:
        services.order_placed(order_id=order.pk)

    [publish] = first
    assert publish.func is services.publish_messages
    assert publish.keywords == {"message_ids": [OutboxMessage.objects.get().pk]}
    assert again == []


def test_a_rolled_back_order_sends_nothing(order, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.order_placed(order_id=order.pk)
        raise RuntimeError("checkout failed after the outbox row was written")

    assert callbacks == []
    assert not OutboxMessage.objects.exists()
    assert mail.outbox == []


def test_the_confirmation_of_a_deleted_order_is_skipped(order):
    services.order_placed(order_id=order.pk)
    message = OutboxMessage.objects.get()
    Order.objects.filter(pk=order.pk).delete()

    assert services.deliver_message(message_id=message.pk) == Status.SKIPPED
    assert mail.outbox == []


# --- delivery is idempotent ------------------------------------------------------------------


def test_delivering_a_message_again_sends_nothing_more(order):
    services.order_placed(order_id=order.pk)
    message = OutboxMessage.objects.get()

    assert tasks.send_message(message.pk) == Status.SENT
    assert tasks.send_message(message.pk) is None

    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.attempts == 1
    assert message.recipients == ["ada@example.com"]
    assert message.subject == "Order SF-1001 confirmed"
    assert message.sent_at is not None


def test_a_failed_send_is_recorded_and_raised_for_retry(order, settings):
    settings.EMAIL_BACKEND = f"{__name__}.FailingSMTPBackend"
    services.order_placed(order_id=order.pk)
    message = OutboxMessage.objects.get()

    before = timezone.now()
    with pytest.raises(smtplib.SMTPServerDisconnected):
        services.deliver_message(message_id=message.pk)

    message.refresh_from_db()
    assert message.status == Status.PENDING
    assert message.attempts == 1
    assert "SMTPServerDisconnected" in message.last_error
    # The drain tries again after the first backoff step: 5 s, jittered into its upper half.
    wait = (message.next_attempt_at - before).total_seconds()
    assert 2.5 <= wait <= 5 + 1


@pytest.mark.parametrize(
    ("attempts", "step"), [(1, 5), (2, 10), (3, 20), (7, 320), (8, 600), (30, 600)]
)
def test_the_backoff_doubles_up_to_ten_minutes_with_jitter(attempts, step):
    assert step / 2 <= services.retry_delay(attempts) <= step


def test_the_default_timings_send_a_lost_email_within_two_minutes():
    """docs/background.md, "How late an email can be": due again REDISPATCH_AFTER after it
    was written or published, drained within DRAIN_INTERVAL, sent within EMAIL_TIMEOUT."""
    worst = (
        base.NOTIFICATIONS_REDISPATCH_AFTER + base.NOTIFICATIONS_DRAIN_INTERVAL + base.EMAIL_TIMEOUT
    )
    assert worst <= 120
    drain = base.CELERY_BEAT_SCHEDULE["drain-notification-outbox"]
    assert drain["schedule"] == base.NOTIFICATIONS_DRAIN_INTERVAL


# --- status changes and refunds --------------------------------------------------------------


@pytest.mark.parametrize(
    ("to_status", "subject"),
    [
        ("shipped", "Order SF-1001 has shipped"),
        ("delivered", "Order SF-1001 was delivered"),
        ("cancelled", "Order SF-1001 was cancelled"),
    ],
)
def test_customer_hears_of_status_changes_they_care_about(
    order, django_capture_on_commit_callbacks, to_status, subject
):
    with django_capture_on_commit_callbacks(execute=True):
        services.order_status_changed(order_id=order.pk, from_status="pending", to_status=to_status)

    [email] = mail.outbox
    assert (email.to, email.subject) == (["ada@example.com"], subject)


def test_processing_sends_no_email(order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.order_status_changed(
            order_id=order.pk, from_status="pending", to_status="processing"
        )

    assert not OutboxMessage.objects.exists()
    assert mail.outbox == []


def test_the_same_status_change_twice_sends_one_email(order, django_capture_on_commit_callbacks):
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            services.order_status_changed(
                order_id=order.pk, from_status="processing", to_status="shipped"
            )

    assert len(mail.outbox) == 1


def test_an_unknown_status_is_a_programming_error(order):
    with pytest.raises(ValueError, match="lost"):
        services.order_status_changed(order_id=order.pk, from_status="pending", to_status="lost")


def test_payment_refunded_emails_the_refunded_amount(order, django_capture_on_commit_callbacks):
    Payment.objects.filter(order=order).update(amount=Decimal("25.00"), status="refunded")

    with django_capture_on_commit_callbacks(execute=True):
        services.payment_refunded(order_id=order.pk)

    [email] = mail.outbox
    assert email.subject == "Refund for order SF-1001"
    assert "We refunded 25.00 USD for your order SF-1001" in email.body


def test_a_refunded_status_change_is_the_refund_email(order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.order_status_changed(
            order_id=order.pk, from_status="delivered", to_status="refunded"
        )
        services.payment_refunded(order_id=order.pk)

    [email] = mail.outbox
    assert email.subject == "Refund for order SF-1001"


def test_customer_registered_sends_a_welcome_email(django_capture_on_commit_callbacks):
    user = UserFactory(email="new@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        services.customer_registered(user_id=user.pk)

    [email] = mail.outbox
    assert (email.to, email.subject) == (["new@example.com"], "Welcome to the shop")


# --- the daily sales report ------------------------------------------------------------------


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


def test_the_beat_schedule_runs_the_drain_and_the_daily_report(settings):
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert {tasks.drain_outbox.name, tasks.send_daily_sales_report.name} <= scheduled


# --- broker outage and the drain -------------------------------------------------------------


def test_a_broker_outage_leaves_the_message_for_the_drain(
    order, django_capture_on_commit_callbacks
):
    with broker(CLOSED_BROKER_URL), django_capture_on_commit_callbacks(execute=True):
        services.order_placed(order_id=order.pk)

    message = OutboxMessage.objects.get()
    assert message.status == Status.PENDING
    assert message.dispatched_at is None
    assert mail.outbox == []


def test_the_drain_publishes_what_the_broker_did_not_take(
    order, django_capture_on_commit_callbacks
):
    with broker(CLOSED_BROKER_URL), django_capture_on_commit_callbacks(execute=True):
        services.order_placed(order_id=order.pk)

    assert services.drain_outbox() == 1  # eager again: the broker is "back"

    assert len(mail.outbox) == 1
    assert OutboxMessage.objects.get().status == Status.SENT


def test_the_drain_publishes_only_what_is_due():
    now = timezone.now()
    later = OutboxMessageFactory(dispatched_at=now, next_attempt_at=now + dt.timedelta(seconds=1))
    due = OutboxMessageFactory(dispatched_at=now, next_attempt_at=now - dt.timedelta(seconds=1))
    never = OutboxMessageFactory(dispatched_at=None, next_attempt_at=None)

    with broker(CLOSED_BROKER_URL):
        assert services.drain_outbox() == 0

    # The broker refused both due messages: they are due at the next drain.
    later.refresh_from_db()
    due.refresh_from_db()
    never.refresh_from_db()
    assert (later.dispatched_at, later.next_attempt_at) == (now, now + dt.timedelta(seconds=1))
    assert (due.dispatched_at, due.next_attempt_at) == (None, None)
    assert (never.dispatched_at, never.next_attempt_at) == (None, None)


def test_a_published_message_is_due_again_after_the_redispatch_delay(settings):
    """In case its publication, or the worker that took it, is lost."""
    settings.NOTIFICATIONS_REDISPATCH_AFTER = 60
    message = OutboxMessageFactory(next_attempt_at=None)
    before = timezone.now()

    with broker(broker_url_for_tests()):  # taken by the broker; no worker runs it here
        assert services.drain_outbox() == 1

    message.refresh_from_db()
    assert message.status == Status.PENDING
    assert message.dispatched_at >= before
    assert message.next_attempt_at == message.dispatched_at + dt.timedelta(seconds=60)


def test_the_drain_gives_up_after_the_maximum_attempts(settings):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    exhausted = OutboxMessageFactory(attempts=3)
    fresh = OutboxMessageFactory(attempts=2, payload={"user_id": UserFactory().pk})

    assert services.drain_outbox() == 1

    exhausted.refresh_from_db()
    fresh.refresh_from_db()
    assert exhausted.status == Status.FAILED
    assert fresh.status == Status.SENT
