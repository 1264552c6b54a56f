"""Fixtures for Stripe: the fake API on loopback (stripe_server.py), and the provider
pointed at it."""

from collections.abc import Iterator

import pytest

from storefront.payments.models import Payment
from storefront.payments.providers import register_provider, unregister_provider
from storefront.payments.stripe import StripeProvider
from storefront.payments.tests.stripe_server import WEBHOOK_SECRET, FakeStripe


@pytest.fixture
def fake_stripe(settings) -> Iterator[FakeStripe]:
    """A started FakeStripe, with settings.STRIPE_API_BASE pointed at it and its test keys
    as STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET; stopped after the test."""
    with FakeStripe() as fake:
        settings.STRIPE_SECRET_KEY = fake.secret_key
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.STRIPE_API_BASE = fake.url
        yield fake


@pytest.fixture
def stripe_provider(fake_stripe) -> Iterator[StripeProvider]:
    """The StripeProvider, registered for card payments (as PaymentsConfig.ready does with
    a key set) against the fake; unregistered after the test, so cards fall back to the
    sandbox again."""
    provider = StripeProvider()
    register_provider(Payment.Method.CARD, provider)
    yield provider
    unregister_provider(Payment.Method.CARD)
