"""The welcome email (tasks run in-process; emails in Django's locmem outbox)."""

import pytest
from django.core import mail

from storefront.accounts import emails, services
from storefront.accounts.tests.factories import UserFactory
from storefront.notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_registering_sends_a_welcome_email(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user = services.register_customer(email="new@example.com", password="x-long-password-1")

    assert sorted((email.to[0], email.subject) for email in mail.outbox) == [
        ("new@example.com", "Confirm your email address"),
        ("new@example.com", "Welcome to the shop"),
    ]
    assert OutboxMessage.objects.filter(kind="welcome").get().key == f"welcome:user:{user.pk}"


def test_an_account_deactivated_before_its_welcome_email_gets_none(
    django_capture_on_commit_callbacks,
):
    user = UserFactory(is_active=False)

    with django_capture_on_commit_callbacks(execute=True):
        emails.enqueue_welcome_email(user_id=user.pk)

    assert mail.outbox == []
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.SKIPPED
