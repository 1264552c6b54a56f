import factory

from storefront.notifications.models import OutboxMessage


class OutboxMessageFactory(factory.django.DjangoModelFactory):
    """A pending welcome email that was never dispatched (set `payload` to a real user)."""

    class Meta:
        model = OutboxMessage

    kind = OutboxMessage.Kind.WELCOME
    key = factory.Sequence(lambda n: f"test:message:{n}")
    payload = factory.LazyFunction(lambda: {"user_id": 0})
