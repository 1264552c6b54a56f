"""A Redis that hangs (accepts connections, never answers) costs a request at most one short
timeout: the cache and the broker publications each have a circuit breaker, so after one
failure the process stops calling Redis for a few seconds. Catalog reads then come from the
database; checkouts leave their emails in the outbox, and they go out once Redis is back.

A private redis-server (tests/redisserver.py), frozen with SIGSTOP, serves as the cache
(database 0) and the broker (database 1), configured as production configures them.
"""

import time

import pytest
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import CartItem
from storefront.catalog.tests.factories import VariantFactory
from storefront.catalog.tests.helpers import LIST_URL
from storefront.core import breakers
from storefront.core.cache import breaker_for
from storefront.core.tests.helpers import travel
from storefront.notifications import broker as publications
from storefront.notifications import services
from storefront.notifications.models import OutboxMessage
from storefront.notifications.tests.conftest import broker, start_worker
from tests.helpers import CHECKOUT

pytestmark = pytest.mark.django_db(transaction=True)

# Loose on purpose (a busy CI machine): a hung Redis used to cost 5 s per read, 10 s per
# checkout. What the breakers save is asserted by counting the calls that reached Redis.
GENEROUS_SECONDS = 3


class Attempts:
    """Counts the calls a breaker let through to Redis: every call but those it refused with
    CircuitBreakerError (an open breaker refuses them all)."""

    def __init__(self, breaker: breakers.Breaker, monkeypatch):
        self.count = 0
        call = breaker.call

        def counted(*args, **kwargs):
            try:
                result = call(*args, **kwargs)
            except breakers.CircuitBreakerError:
                raise
            except BaseException:
                self.count += 1
                raise
            self.count += 1
            return result

        monkeypatch.setattr(breaker, "call", counted)


@pytest.fixture
def shop(redis_server, settings):
    """The production cache and broker setup, on the private Redis."""
    settings.CACHES = {
        "default": {
            "BACKEND": "storefront.core.cache.RedisCache",
            "LOCATION": redis_server.url(0),
            "OPTIONS": settings.CACHE_REDIS_OPTIONS,
        }
    }
    with broker(redis_server.url(1)):
        yield redis_server


def cache_attempts(server, settings, monkeypatch) -> Attempts:
    reset = settings.CACHE_REDIS_OPTIONS["breaker_reset_seconds"]
    return Attempts(breaker_for([server.url(0)], reset), monkeypatch)


def customer_client(variant) -> APIClient:
    customer = UserFactory()
    CartItem.objects.create(cart=customer.cart, variant=variant, quantity=1)
    client = APIClient()
    client.force_authenticate(customer)
    return client


def test_with_redis_hung_catalog_reads_come_from_the_database_at_once(
    shop, settings, monkeypatch, django_assert_num_queries
):
    VariantFactory.create_batch(3)
    visitor = APIClient()
    assert visitor.get(LIST_URL).status_code == 200  # now cached in Redis
    attempts = cache_attempts(shop, settings, monkeypatch)
    shop.hang()

    started = time.monotonic()
    with django_assert_num_queries(5 * 3):  # every read is a database read (3 queries)
        responses = [visitor.get(LIST_URL) for _ in range(5)]
    elapsed = time.monotonic() - started

    assert [r.status_code for r in responses] == [200] * 5
    assert {r.json()["count"] for r in responses} == {3}
    # The first read waited one socket timeout and opened the breaker; no other read called
    # Redis.
    assert attempts.count == 1
    assert elapsed < GENEROUS_SECONDS


def test_the_cache_is_probed_again_after_the_breaker_reset(
    shop, settings, monkeypatch, django_assert_num_queries
):
    VariantFactory()
    visitor = APIClient()
    attempts = cache_attempts(shop, settings, monkeypatch)
    shop.hang()
    visitor.get(LIST_URL)
    shop.resume()
    visitor.get(LIST_URL)
    assert attempts.count == 1  # Redis is back, but the breaker is still open

    with travel(settings.CACHE_REDIS_OPTIONS["breaker_reset_seconds"] + 1):
        visitor.get(LIST_URL)  # the probe: it succeeds, and the response is stored
        with django_assert_num_queries(0):
            hit = visitor.get(LIST_URL)

    assert hit.status_code == 200
    assert attempts.count > 1


def test_with_redis_hung_checkouts_answer_at_once_and_their_emails_go_out_later(
    shop, settings, monkeypatch, tmp_path
):
    variant = VariantFactory(stock_quantity=100)
    customers = [customer_client(variant) for _ in range(3)]
    cached = cache_attempts(shop, settings, monkeypatch)
    published = Attempts(publications.breaker(shop.url(1)), monkeypatch)
    shop.hang()

    started = time.monotonic()
    orders = [customer.post("/api/orders/", CHECKOUT) for customer in customers]
    elapsed = time.monotonic() - started

    assert [order.status_code for order in orders] == [201] * 3
    # One cache bump and one publication waited for their timeouts (the first checkout);
    # the breakers kept the other checkouts off Redis.
    assert (cached.count, published.count) == (1, 1)
    assert elapsed < GENEROUS_SECONDS
    messages = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.ORDER_CONFIRMATION)
    assert [(m.status, m.next_attempt_at) for m in messages] == [("pending", None)] * 3

    shop.resume()
    worker = start_worker(beat=False, tmp=tmp_path, broker_url=shop.url(1))
    try:
        with travel(settings.NOTIFICATIONS_PUBLISH_BREAKER_SECONDS + 1):
            assert services.drain_outbox() == 3  # what beat runs every few seconds
        keys = [m.key for m in messages]
        worker.wait_idle(
            until=lambda: OutboxMessage.objects.filter(key__in=keys, status="sent").count() == 3
        )
        assert sorted(m["X-Storefront-Notification"] for m in worker.emails()) == sorted(keys)
    finally:
        worker.stop()
