"""The bench's invalidation of Storefront's response cache after the COPY load."""

import pytest
from django.core.cache import cache

from bench.storefront_setup import invalidate_catalog_cache
from storefront.catalog import cache as catalog_cache

# invalidate_catalog() bumps when the transaction commits; the bench calls it in autocommit
# mode, as these tests do (transaction=True), where it bumps at once.
pytestmark = pytest.mark.django_db(transaction=True)


def test_invalidation_replaces_the_catalog_version():
    cache.set(catalog_cache.VERSION_KEY, "loaded-before", timeout=None)

    version = invalidate_catalog_cache()

    assert version != "loaded-before"
    assert cache.get(catalog_cache.VERSION_KEY) == version


def test_invalidation_that_did_not_happen_stops_the_bench(monkeypatch):
    monkeypatch.setattr(catalog_cache, "invalidate_catalog", lambda: None)
    cache.set(catalog_cache.VERSION_KEY, "loaded-before", timeout=None)

    with pytest.raises(RuntimeError, match="not invalidated"):
        invalidate_catalog_cache()
