"""A real Celery worker process, on the real Redis and the test database, sends the emails.

The tests commit for real (transaction=True), since the worker sees only committed data; the
worker writes emails to files (see conftest.Worker), which the tests count.
"""

from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from storefront.accounts.tests.factories import UserFactory
from storefront.catalog.tests.factories import ProductFactory, VariantFactory
from storefront.notifications import services, tasks
from storefront.notifications.models import OutboxMessage
from storefront.notifications.tests.conftest import (
    CLOSED_BROKER_URL,
    broker,
    broker_url_for_tests,
)
from storefront.orders import emails as order_emails
from storefront.orders.models import Order
from storefront.orders.tests.factories import order_with_items

pytestmark = pytest.mark.django_db(transaction=True)

SENT = OutboxMessage.Status.SENT


def place_order() -> Order:
    """Create an order and queue its confirmation in one committed transaction, as checkout
    does."""
    with transaction.atomic():
        customer = UserFactory(email="ada@example.com")
        variant = VariantFactory(price=Decimal("9.99"), product=ProductFactory(name="Teapot"))
        order = order_with_items([(variant, 3)], customer=customer)
        order_emails.enqueue_order_confirmation(order_id=order.pk)
    return order


def confirmation_key(order: Order) -> str:
    return f"order_confirmation:order:{order.pk}"


def is_sent(key: str):
    return lambda: OutboxMessage.objects.filter(key=key, status=SENT).exists()


def test_the_worker_emails_the_order_confirmation_once(celery_worker):
    with broker(broker_url_for_tests()):
        order = place_order()
    key = confirmation_key(order)

    celery_worker.wait_idle(until=is_sent(key))

    [email] = celery_worker.emails(key)
    assert email["To"] == "ada@example.com"
    assert email["Subject"] == f"Order {order.number} confirmed"
    assert "3 x Teapot" in email.get_payload()[0].get_payload(decode=True).decode()


def test_duplicate_deliveries_of_a_message_send_one_email(celery_worker):
    with broker(broker_url_for_tests()):
        order = place_order()
        message = OutboxMessage.objects.get(key=confirmation_key(order))
        for _ in range(3):  # a redelivery, a second publish, a drain ...
            tasks.send_message.apply_async(args=[message.pk])

    celery_worker.wait_idle(until=is_sent(message.key))

    assert len(celery_worker.emails(message.key)) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (SENT, 1)


def test_an_order_placed_while_redis_is_down_is_emailed_once_redis_is_back(celery_worker):
    with broker(CLOSED_BROKER_URL):
        order = place_order()  # returns: the outage neither blocks nor fails the order
    message = OutboxMessage.objects.get(key=confirmation_key(order))
    assert (message.status, message.dispatched_at) == (OutboxMessage.Status.PENDING, None)
    assert celery_worker.emails(message.key) == []

    with broker(broker_url_for_tests()):
        assert services.drain_outbox() == 1  # what beat runs every few seconds

    celery_worker.wait_idle(until=is_sent(message.key))
    assert len(celery_worker.emails(message.key)) == 1


def test_a_failed_send_waits_in_the_outbox_not_in_the_broker(celery_worker):
    """The retry of a transient SMTP failure is the outbox row's (next_attempt_at), not a
    countdown task: the broker holds nothing meanwhile, so nothing it holds unacknowledged can
    be lost with a worker or redelivered behind the drain's back."""
    celery_worker.fail_next_sends(1)
    with broker(broker_url_for_tests()):
        order = place_order()
    key = confirmation_key(order)

    failed_once = OutboxMessage.objects.filter(key=key, attempts=1)
    celery_worker.wait_idle(until=failed_once.exists)
    message = OutboxMessage.objects.get(key=key)
    assert (message.status, celery_worker.emails(key)) == (OutboxMessage.Status.PENDING, [])
    assert message.next_attempt_at > timezone.now()
    assert "the drain retries it" in celery_worker.log()

    with broker(broker_url_for_tests()):
        assert services.drain_outbox() == 0  # not due yet
        with time_machine.travel(message.next_attempt_at, tick=False):
            assert services.drain_outbox() == 1

    celery_worker.wait_idle(until=is_sent(key))
    assert len(celery_worker.emails(key)) == 1
    assert OutboxMessage.objects.get(key=key).attempts == 2
