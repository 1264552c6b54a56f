"""The beat scheduler, run by the worker (`celery -A config worker --beat`), drains the outbox."""

import pytest
from django.db import transaction

from storefront.accounts import emails
from storefront.accounts.tests.factories import UserFactory
from storefront.notifications.models import OutboxMessage
from storefront.notifications.tests.conftest import CLOSED_BROKER_URL, broker

pytestmark = pytest.mark.django_db(transaction=True)


def test_beat_publishes_what_the_broker_did_not_take(celery_worker_with_beat):
    with broker(CLOSED_BROKER_URL), transaction.atomic():
        user = UserFactory(email="grace@example.com")
        emails.enqueue_welcome_email(user_id=user.pk)
    key = f"welcome:user:{user.pk}"
    assert OutboxMessage.objects.get(key=key).dispatched_at is None

    # Nothing else is done here: the worker's beat drains the outbox every second.
    celery_worker_with_beat.wait_idle(
        until=lambda: OutboxMessage.objects.filter(key=key, status="sent").exists()
    )
    [email] = celery_worker_with_beat.emails(key)
    assert email["To"] == "grace@example.com"
