"""The registry of email builders: every kind of outbox message has one, in its domain."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from storefront.notifications import emails
from storefront.notifications.models import OutboxMessage


@pytest.mark.parametrize("kind", OutboxMessage.Kind.values)
def test_every_kind_of_message_has_a_builder_outside_notifications(kind):
    builder = emails.builder_for(kind)

    assert callable(builder)
    assert not builder.__module__.startswith("storefront.notifications")


@pytest.mark.django_db
def test_a_kind_without_a_builder_is_a_configuration_error(settings):
    settings.NOTIFICATION_EMAIL_BUILDERS = {}

    with pytest.raises(ImproperlyConfigured, match="welcome"):
        emails.builder_for(OutboxMessage.Kind.WELCOME)
