"""A Celery worker SIGKILLed while it delivers an email: the outbox has it delivered by the
next worker within two minutes (default timings; the clock of the drain is moved on with
time-machine), and the SMTP server's count of accepted emails measures the at-least-once
window: a kill before the server accepts the email sends it once, a kill after the accept
but before the worker's commit sends it twice.

The worker sends through Django's SMTP backend to a real SMTP server on loopback
(smtpserver.py), which stalls the delivery at the chosen instant until the worker is dead.
"""

from collections.abc import Iterator

import pytest
import time_machine

from config.settings import base
from storefront.notifications import services
from storefront.notifications.models import OutboxMessage
from storefront.notifications.tests.conftest import broker, broker_url_for_tests, start_worker
from storefront.notifications.tests.smtpserver import SMTPServer
from storefront.notifications.tests.test_worker import confirmation_key, is_sent, place_order

pytestmark = pytest.mark.django_db(transaction=True)

TWO_MINUTES = 120


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


def smtp_worker(smtp: SMTPServer, tmp, *, flush: bool):
    return start_worker(
        beat=False,
        tmp=tmp,
        flush=flush,
        env={
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp.port),
        },
    )


def kill_during_delivery(smtp: SMTPServer, tmp_path, stage: str) -> OutboxMessage:
    """Place an order, let a worker deliver its confirmation until the SMTP server's `stage`
    reply, SIGKILL the worker there; return the confirmation's outbox row."""
    smtp.stall(stage)
    doomed = smtp_worker(smtp, tmp_path / "doomed", flush=True)
    try:
        with broker(broker_url_for_tests()):
            order = place_order()
        smtp.wait_stalled()
    finally:
        doomed.kill()
    smtp.wait_client_gone()
    smtp.release()
    return OutboxMessage.objects.get(key=confirmation_key(order))


def deliver_after_the_crash(smtp: SMTPServer, tmp_path, message: OutboxMessage) -> None:
    """A new worker starts (the broker still holds the dead worker's unacknowledged message,
    hidden for visibility_timeout); the drain runs at the last instant that can still get
    the email out within two minutes of the order: drains run every DRAIN_INTERVAL and a
    delivery takes up to EMAIL_TIMEOUT."""
    survivor = smtp_worker(smtp, tmp_path / "survivor", flush=False)
    try:
        written = message.created_at.timestamp()
        last_chance = written + TWO_MINUTES - base.NOTIFICATIONS_DRAIN_INTERVAL - base.EMAIL_TIMEOUT
        with broker(broker_url_for_tests()), time_machine.travel(last_chance, tick=False):
            assert services.drain_outbox() == 1
        survivor.wait_idle(until=is_sent(message.key), unacked_ok=True)
    finally:
        survivor.stop()


def test_a_worker_killed_before_the_smtp_accept_sends_the_email_once(smtp, tmp_path):
    message = kill_during_delivery(smtp, tmp_path, "DATA")
    assert smtp.accepted == []
    assert message.status == OutboxMessage.Status.PENDING

    deliver_after_the_crash(smtp, tmp_path, message)

    assert smtp.keys() == [message.key]


def test_a_worker_killed_after_the_smtp_accept_sends_the_email_twice_at_most(smtp, tmp_path):
    message = kill_during_delivery(smtp, tmp_path, "QUIT")
    # The server took the email; the worker died before committing that it did.
    assert smtp.keys() == [message.key]
    assert message.status == OutboxMessage.Status.PENDING

    deliver_after_the_crash(smtp, tmp_path, message)

    assert smtp.keys() == [message.key, message.key]
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxMessage.Status.SENT, 1)
