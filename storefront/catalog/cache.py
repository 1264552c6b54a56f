"""Versions that tell a cached catalog response from a stale one, and the writes that bump them.

The product list and detail are cached whole (storefront/catalog/api/caching.py), so a cached
page must stop being served the moment anything it shows changes. Three kinds of key, in the
default cache (Redis in production, shared by every worker), each holding a random token that
a change replaces:

- the catalog version: any catalog write (products, variants, images, categories,
  collections, tags; prices, publishing, stock set by staff) and any sale or restock that
  can move a product in or out of stock. Every cached response records it; a new token
  invalidates them all.
- one stock version per product: an ordinary sale of that product (its variants keep some
  stock). A cached response records the stock version of every product it shows, so a sale
  invalidates only the pages and details that show the product sold.
- the stock epoch: replaced before any stock version. A response whose epoch changed while it
  was being read from the database is not stored, because it may hold stock read before a
  sale whose new stock version it could record.

Every bump happens when the transaction that made the change commits (at once outside a
transaction). A response stored with a version read before the commit holds old data under an
old version, so it is never served after the bump; one read after it sees the new data. No
bump happens while the checkout holds its row locks.

Writes the versions cannot see (raw SQL, COPY, a queryset.update() outside the services)
must call invalidate_catalog(); otherwise cached responses stay until they expire
(settings.CATALOG_CACHE_SECONDS). When the cache is unreachable, catalog reads go to the
database and bumps are logged and skipped; nothing raises.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

VERSION_KEY = "catalog:version"
EPOCH_KEY = "catalog:stock-epoch"
ENTRY_PREFIX = "catalog:response:"


def _stock_key(product_id: int) -> str:
    return f"catalog:stock:{product_id}"


def _token() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True)
class Entry:
    """A cached response: `body` (bytes) of `content_type`, valid while `version` is the
    catalog version and every (product id, stock version) pair in `stock` is current."""

    version: str
    stock: tuple[tuple[int, str | None], ...]
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Snapshot:
    """What a response read from the database is stored under: the versions read before it."""

    key: str
    version: str
    epoch: str | None


def lookup(key: str) -> tuple[Entry | None, Snapshot | None]:
    """The valid cached entry under `key` (cache key of one request), or the snapshot to
    store a fresh response with. (None, None) when the cache is unreachable.

    One round trip to the cache on a miss, two on a hit of a response showing products.
    """
    entry_key = ENTRY_PREFIX + key
    try:
        found = cache.get_many([VERSION_KEY, EPOCH_KEY, entry_key])
        version = found.get(VERSION_KEY)
        if version is None:
            # First use, or the cache was emptied: start a version no entry recorded.
            cache.add(VERSION_KEY, _token(), timeout=None)
            version = cache.get(VERSION_KEY)
        entry = found.get(entry_key)
        if isinstance(entry, Entry) and entry.version == version and _stock_current(entry):
            return entry, None
    except Exception:
        logger.warning("Catalog cache unreachable; reading from the database.", exc_info=True)
        return None, None
    return None, Snapshot(key=entry_key, version=version, epoch=found.get(EPOCH_KEY))


def _stock_current(entry: Entry) -> bool:
    if not entry.stock:
        return True
    current = cache.get_many([_stock_key(product_id) for product_id, _ in entry.stock])
    return all(current.get(_stock_key(pid)) == version for pid, version in entry.stock)


def store(
    snapshot: Snapshot,
    *,
    body: bytes,
    content_type: str,
    product_ids: Iterable[int],
    timeout: int,
) -> bool:
    """Cache a response read after `snapshot` was taken, showing `product_ids`, for `timeout`
    seconds. Returns False (and stores nothing) if stock changed while it was being read or
    the cache is unreachable."""
    product_ids = list(dict.fromkeys(product_ids))
    stock_keys = [_stock_key(product_id) for product_id in product_ids]
    try:
        current = cache.get_many([EPOCH_KEY, *stock_keys])
        if current.get(EPOCH_KEY) != snapshot.epoch:
            return False
        entry = Entry(
            version=snapshot.version,
            stock=tuple((pid, current.get(_stock_key(pid))) for pid in product_ids),
            body=body,
            content_type=content_type,
        )
        cache.set(snapshot.key, entry, timeout=timeout)
    except Exception:
        logger.warning("Catalog cache unreachable; response not cached.", exc_info=True)
        return False
    return True


def invalidate_catalog() -> None:
    """Invalidate every cached catalog response when the current transaction commits."""
    _on_commit(_bump_catalog)


def stock_changed(*, product_ids: Iterable[int], availability_changed: bool) -> None:
    """Invalidate the cached responses showing `product_ids`, whose stock was just sold or
    put back (call it in the transaction that changed it, after the change).

    `availability_changed`: a variant of one of them ran out or came back from zero, so a
    product may have entered or left in-stock listings (and changed their counts): every
    cached response is invalidated instead.
    """
    if availability_changed:
        invalidate_catalog()
        return
    keys = [_stock_key(product_id) for product_id in set(product_ids)]
    if keys:
        _on_commit(lambda: _bump_stock(keys))


def _bump_catalog() -> None:
    cache.set(VERSION_KEY, _token(), timeout=None)


def _bump_stock(keys: list[str]) -> None:
    # The epoch no later than the stock versions (see the module docstring): one MSET on
    # Redis, so one round trip and both at the same instant; in order elsewhere.
    cache.set_many({EPOCH_KEY: _token(), **dict.fromkeys(keys, _token())}, timeout=None)


def _on_commit(bump) -> None:
    transaction.on_commit(lambda: _safely(bump))


def _safely(bump) -> None:
    try:
        bump()
    except Exception:
        logger.error("Catalog cache unreachable; cached responses may be stale.", exc_info=True)


def connect_signals() -> None:
    """Invalidate the catalog on every ORM write to it, whoever makes it (services, admin,
    shell): cache upkeep, not domain flow, so a signal rather than a call in each writer."""
    from django.db.models.signals import m2m_changed, post_delete, post_save
    from treebeard.mp_tree import path_updated

    from storefront.catalog.models import (
        Category,
        Collection,
        Product,
        ProductImage,
        ProductVariant,
        Tag,
    )

    def on_write(action: str = "post", **kwargs) -> None:
        if action.startswith("post"):  # m2m_changed also sends pre_add, pre_remove...
            invalidate_catalog()

    # weak=False: on_write is local, a weak reference would die with this call.
    for model in (Category, Collection, Tag, Product, ProductVariant, ProductImage):
        post_save.connect(on_write, sender=model, weak=False, dispatch_uid=f"cc-save-{model}")
        post_delete.connect(on_write, sender=model, weak=False, dispatch_uid=f"cc-del-{model}")
    for through in (Product.collections.through, Product.tags.through):
        m2m_changed.connect(on_write, sender=through, weak=False, dispatch_uid=f"cc-m2m-{through}")
    # Tree moves rewrite paths with queryset.update(), which sends no post_save.
    path_updated.connect(on_write, sender=Category, weak=False, dispatch_uid="cc-tree-move")
