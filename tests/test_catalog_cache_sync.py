"""A process that dies between a catalog change's COMMIT and its after-commit hooks: the
cached responses stop being served within CATALOG_CACHE_SYNC_SECONDS, and the order's email
goes out within two minutes.

The change is committed by a child process that ends itself (os._exit) in the first
after-commit hook of its transaction (tests/die_after_commit.py): the COMMIT is done, no
invalidation or publication ran, as when a process is killed at that instant. The cache is a
private Redis shared by both processes; time is moved on with time-machine, so the bounds
tested are the defaults.
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from rest_framework.test import APIClient

from config.settings import base
from storefront.catalog import cache
from storefront.catalog.models import CatalogChange, ProductVariant
from storefront.catalog.tests.factories import VariantFactory
from storefront.catalog.tests.helpers import LIST_URL, detail_url
from storefront.notifications import services
from storefront.notifications.models import OutboxMessage
from storefront.notifications.tests.conftest import database_url_for_tests
from tests.die_after_commit import DIED_AFTER_COMMIT

pytestmark = pytest.mark.django_db(transaction=True)

SYNC_SECONDS = base.CATALOG_CACHE_SYNC_SECONDS


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """This process's clock, stopped (the child's runs on): `clock.shift(seconds)` moves it."""
    with time_machine.travel(time.time(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def shared_cache(redis_server, settings, monkeypatch, clock):
    """The production cache, on a private Redis, with the check of the change log on at its
    default interval; this process has never checked, and its clock is stopped."""
    settings.CACHES = {
        "default": {
            "BACKEND": "storefront.core.cache.RedisCache",
            "LOCATION": redis_server.url(0),
            "OPTIONS": settings.CACHE_REDIS_OPTIONS,
        }
    }
    settings.CATALOG_CACHE_SYNC_SECONDS = SYNC_SECONDS
    monkeypatch.setattr(cache, "_trusted_until", 0.0)
    return redis_server


def die_after_commit(action: str, variant: ProductVariant, value) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url_for_tests(),
    }
    child = subprocess.run(
        [sys.executable, "-m", "tests.die_after_commit", action, str(variant.pk), str(value)],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert child.returncode == DIED_AFTER_COMMIT, child.stderr.decode()


def stock_shown(client: APIClient, variant: ProductVariant) -> int:
    return client.get(detail_url(variant.product_id)).json()["variants"][0]["stock_quantity"]


def test_the_default_check_interval_is_a_few_seconds():
    assert 0 < SYNC_SECONDS <= 2


def test_a_sale_whose_process_died_after_commit_is_shown_within_the_bound(
    shared_cache, clock, django_assert_num_queries
):
    variant = VariantFactory(stock_quantity=10)
    visitor = APIClient()
    assert stock_shown(visitor, variant) == 10
    with django_assert_num_queries(0):
        assert stock_shown(visitor, variant) == 10  # a hit

    die_after_commit("sell", variant, 3)

    variant.refresh_from_db()
    assert variant.stock_quantity == 7  # committed
    # Nobody bumped the cache: the process that should have is dead. Within the bound the
    # cached response may still be served...
    assert stock_shown(visitor, variant) == 10
    # ...and not after it.
    clock.shift(SYNC_SECONDS + 0.1)
    assert stock_shown(visitor, variant) == 7
    assert visitor.get(LIST_URL).json()["results"][0]["variants"][0]["stock_quantity"] == 7


def test_a_price_change_whose_process_died_after_commit_is_shown_within_the_bound(
    shared_cache, clock
):
    variant = VariantFactory(price=Decimal("10.00"))
    visitor = APIClient()
    cheap = {"max_price": "12"}
    assert [p["id"] for p in visitor.get(LIST_URL, cheap).json()["results"]] == [variant.product_id]

    die_after_commit("price", variant, "15.00")

    assert visitor.get(LIST_URL, cheap).json()["count"] == 1  # still cached, within the bound
    clock.shift(SYNC_SECONDS + 0.1)
    assert visitor.get(LIST_URL, cheap).json()["results"] == []
    assert visitor.get(detail_url(variant.product_id)).json()["price"] == "15.00"


def test_the_check_finds_only_what_committed_since_the_last_one(
    shared_cache, clock, django_assert_num_queries
):
    """A sale seen by one check is not bumped again by the next: a product sold once is
    invalidated by its own hooks and one check, then stays cached."""
    sold, other = VariantFactory(stock_quantity=10), VariantFactory(stock_quantity=10)
    visitor = APIClient()
    die_after_commit("sell", sold, 1)
    stock_shown(visitor, sold)  # the first check: everything is bumped once
    stock_shown(visitor, other)

    clock.shift(SYNC_SECONDS + 0.1)
    with django_assert_num_queries(1):  # the check; other is still cached
        assert stock_shown(visitor, other) == 10
    with django_assert_num_queries(0):
        assert stock_shown(visitor, sold) == 9


def test_a_checkout_whose_process_died_after_commit_is_emailed_within_two_minutes(
    shared_cache, clock
):
    variant = VariantFactory(stock_quantity=10)

    die_after_commit("sell", variant, 1)

    [message] = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.ORDER_CONFIRMATION)
    assert message.status == OutboxMessage.Status.PENDING
    written = message.created_at.timestamp()
    clock.move_to(written + base.NOTIFICATIONS_REDISPATCH_AFTER - 1)
    assert services.drain_outbox() == 0  # left to its publication after commit until then
    # Drains run every NOTIFICATIONS_DRAIN_INTERVAL, and sending takes up to EMAIL_TIMEOUT:
    # the drain at this time is the last that can still deliver within two minutes. (The
    # task runs in-process here, as the test settings say.)
    clock.move_to(written + 120 - base.NOTIFICATIONS_DRAIN_INTERVAL - base.EMAIL_TIMEOUT)
    assert services.drain_outbox() == 1
    [email] = mail.outbox
    assert email.extra_headers["X-Storefront-Notification"] == message.key


def test_the_change_log_is_written_by_the_committing_transaction_only(shared_cache):
    variant = VariantFactory(stock_quantity=10)
    before = CatalogChange.objects.count()

    die_after_commit("sell", variant, 2)

    [sale] = CatalogChange.objects.order_by("-pk")[: CatalogChange.objects.count() - before]
    assert sale.product_ids == [variant.product_id]
