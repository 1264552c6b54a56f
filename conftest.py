"""Fixtures shared by the whole suite."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests.redisserver import RedisServer

VENDOR_FILE = Path(__file__).parent / ".test-db-vendor"


@pytest.fixture(scope="session", autouse=True)
def _record_database_vendor(django_db_setup, django_db_blocker):
    """Write which database the suite ran on; .ci/run fails unless it says postgresql."""
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT version()" if connection.vendor == "postgresql" else "SELECT 1")
        version = cursor.fetchone()[0]
    VENDOR_FILE.write_text(f"{connection.vendor}\n{version}\n")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache: each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _no_pending_marks_in_a_transaction_that_never_commits(monkeypatch):
    """A test without transaction=True runs inside one transaction that never commits, so no
    after-commit hook runs unless the test captures it (captureOnCommitCallbacks). The catalog
    cache's pending marks (storefront/catalog/cache.py), lowered by those hooks, would then
    stay up after every write of the test's setup, which a committed write's never do. Inside
    such a test, writes make no marks; tests with transaction=True (test_read_exactness.py)
    commit for real and run with them."""
    from django.db import connection

    from storefront.catalog import cache

    def in_transaction() -> bool:
        blocks = connection.atomic_blocks
        return bool(blocks) and not any(block._from_testcase for block in blocks)

    monkeypatch.setattr(cache, "_in_transaction", in_transaction)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def customer(db):
    """A customer (UserFactory: with its cart)."""
    from storefront.accounts.tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def staff(db):
    from storefront.accounts.tests.factories import StaffFactory

    return StaffFactory()


@pytest.fixture
def customer_client(customer) -> APIClient:
    """An API client authenticated as `customer` (pytest-django's `client` stays Django's)."""
    client = APIClient()
    client.force_authenticate(customer)
    return client


@pytest.fixture
def staff_client(staff) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.fixture
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    """A private redis-server (tests/redisserver.py), started, and killed after the test."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()
