"""Versions that tell a cached catalog response from a stale one, and the writes that bump them.

The product list and detail are cached whole (storefront/catalog/api/caching.py), so a cached
page must stop being served the moment anything it shows changes. Three kinds of key, in the
default cache (Redis in production, shared by every worker), each holding a random token that
a change replaces:

- the catalog version: any catalog write (products, variants, images, categories,
  collections, tags; prices, publishing), any change of a membership tier's percentage (the
  member prices every response shows: the tier writes call invalidate_catalog) and any
  change of stock (a sale, a restock, a staff set: catalog/stock.py) that can move a
  product in or out of stock. Every cached response records it; a new token invalidates
  them all.
- one stock version per product: an ordinary change of that product's stock (its variants
  keep some stock). A cached response records the stock version of every product it shows,
  so a sale invalidates only the pages and details that show the product sold.
- the stock epoch: replaced before any stock version. A response whose epoch changed while it
  was being read from the database is not stored, because it may hold stock read before a
  sale whose new stock version it could record.

Every bump happens when the transaction that made the change commits (at once outside a
transaction). A response stored with a version read before the commit holds old data under an
old version, so it is never served after the bump; one read after it sees the new data.

Between the COMMIT and its bump (one Redis round trip later, or longer if the process is
descheduled) another process could still serve the old response. So a change made inside a
transaction also marks what it invalidates as pending, before it commits: a count in the
cache (one per product for a change of stock, one for the whole catalog), raised by each
uncommitted change and lowered by its after-commit hook once the bump is done. While a count
is above zero, no response showing what it covers is served from the cache: until the
commit the database still holds what the cached response shows, and from the commit the
readers go to the database. One more count says how many product marks are up at all, so
that a hit reads the products' marks only while one is. A mark costs the writer one Redis
round trip inside its transaction (the checkout's, while it holds its row locks). A mark
whose hook never runs (the transaction rolled back, or the process died) expires after
PENDING_SECONDS; until then it only costs cache misses. A transaction that commits more than
PENDING_SECONDS after its mark is unguarded between its COMMIT and its bump again, as is a
change made outside a transaction (committed before anything can be marked).

The bumps after commit can be lost: the process dies between its COMMIT and its hooks, or
the cache is unreachable (or its breaker open) when they run. The database therefore records
every committed catalog write itself (CatalogChange rows, written by triggers in the writing
transaction: migration 0004), and the processes serving cached responses check it: a hit is
served only while the last check is less than settings.CATALOG_CACHE_SYNC_SECONDS old. When
it is older, the process reads the last check's record from the cache and, if that is old
too, runs one (one query: the changes committed since the previous check's snapshot, exactly,
by transaction id) and bumps the versions of what it finds before serving anything; the
other processes see its record and skip theirs. A change whose hooks never ran is therefore
served stale for at most about CATALOG_CACHE_SYNC_SECONDS (twice that if the process running
the check dies during it), whatever died when. The check runs on PostgreSQL, outside
transactions (inside one it could not see the latest commits: the lookup then misses).
A change whose hooks did run is bumped again by the next check: one more miss of what it
invalidated, at most CATALOG_CACHE_SYNC_SECONDS later.

When the cache is unreachable, catalog reads go to the database and bumps are logged and
skipped (the next check after the cache is back bumps them); nothing raises.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction

from storefront.core.cache import CacheUnavailable

logger = logging.getLogger(__name__)

VERSION_KEY = "catalog:version"
EPOCH_KEY = "catalog:stock-epoch"
ENTRY_PREFIX = "catalog:response:"
SYNC_KEY = "catalog:synced"
SYNC_LOCK_KEY = "catalog:sync-lock"
# CatalogChange rows live this long (storefront.catalog.tasks.prune_change_log); a
# check whose previous one is older than half of it invalidates everything instead.
CHANGE_LOG_RETENTION = dt.timedelta(hours=1)
# A check that finds more products than this invalidates everything instead.
MAX_PRODUCTS_PER_SYNC = 1000
# The count of uncommitted catalog writes (see the module docstring); per product below,
# and how many of those are raised at all (so that a hit reads them only when one is).
PENDING_KEY = "catalog:pending"
ANY_PRODUCT_PENDING_KEY = "catalog:pending:any"
# Seconds a pending mark outlives a transaction that never lowers it (rolled back, or its
# process died): longer than any catalog transaction should run.
PENDING_SECONDS = 60


def _stock_key(product_id: int) -> str:
    return f"catalog:stock:{product_id}"


def _pending_key(product_id: int) -> str:
    return f"catalog:pending:{product_id}"


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
    store a fresh response with. (None, None) when the cache is unreachable or a catalog
    write is committing (the whole catalog marked pending): read the database, store nothing.

    One round trip to the cache on a miss, two on a hit of a response showing products;
    every settings.CATALOG_CACHE_SYNC_SECONDS, one more (and sometimes the check: one query
    and up to three round trips), see the module docstring.
    """
    entry_key = ENTRY_PREFIX + key
    try:
        checked = _checked_lately()
        found = cache.get_many(
            [VERSION_KEY, EPOCH_KEY, PENDING_KEY, ANY_PRODUCT_PENDING_KEY, entry_key]
        )
        if found.get(PENDING_KEY, 0) > 0:
            return None, None
        version = found.get(VERSION_KEY)
        if version is None:
            # First use, or the cache was emptied: start a version no entry recorded.
            cache.add(VERSION_KEY, _token(), timeout=None)
            version = cache.get(VERSION_KEY)
        entry = found.get(entry_key)
        if (
            checked
            and isinstance(entry, Entry)
            and entry.version == version
            and _stock_current(entry, pending=found.get(ANY_PRODUCT_PENDING_KEY, 0) > 0)
        ):
            return entry, None
    except Exception as exc:
        _log_unreachable("Catalog cache unreachable; reading from the database.", exc)
        return None, None
    return None, Snapshot(key=entry_key, version=version, epoch=found.get(EPOCH_KEY))


def _stock_current(entry: Entry, *, pending: bool) -> bool:
    """Whether every product the entry shows has the stock version it recorded and, when a
    product's change of stock is committing somewhere (`pending`), none of these (one round
    trip)."""
    if not entry.stock:
        return True
    product_ids = [product_id for product_id, _ in entry.stock]
    keys = list(map(_stock_key, product_ids))
    if pending:
        keys += map(_pending_key, product_ids)
    current = cache.get_many(keys)
    if pending and any(current.get(_pending_key(pid), 0) > 0 for pid in product_ids):
        return False
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
    the cache is unreachable.

    A response stored while a change it shows is pending holds data older than that change
    under versions older than its bump: never served once the bump is done, and kept from
    being served before by the mark. So the marks need no check here.
    """
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
    except Exception as exc:
        _log_unreachable("Catalog cache unreachable; response not cached.", exc)
        return False
    return True


def invalidate_catalog() -> None:
    """Invalidate every cached catalog response when the current transaction commits; until
    then, mark the whole catalog pending (see the module docstring)."""
    _on_commit(_bump_catalog, pending=[PENDING_KEY])


def invalidate_stock(*, product_ids: Iterable[int], availability_changed: bool) -> None:
    """Invalidate, when the current transaction commits, the cached responses showing
    `product_ids`, whose stock was just sold, put back or set. Called by catalog/stock.py,
    the one writer of stock, after its UPDATE.

    `availability_changed`: a variant of one of them ran out or came back from zero, so a
    product may have entered or left in-stock listings (and changed their counts): every
    cached response is invalidated instead.
    """
    if availability_changed:
        invalidate_catalog()
        return
    product_ids = sorted(set(product_ids))
    if product_ids:
        keys = [_stock_key(product_id) for product_id in product_ids]
        pending = [ANY_PRODUCT_PENDING_KEY, *map(_pending_key, product_ids)]
        _on_commit(lambda: _bump_stock(keys), pending=pending)


def _bump_catalog() -> None:
    cache.set(VERSION_KEY, _token(), timeout=None)


def _bump_stock(keys: list[str]) -> None:
    # The epoch no later than the stock versions (see the module docstring): one MSET on
    # Redis, so one round trip and both at the same instant; in order elsewhere.
    cache.set_many({EPOCH_KEY: _token(), **dict.fromkeys(keys, _token())}, timeout=None)


def _on_commit(bump, *, pending: list[str]) -> None:
    """Run `bump` when the current transaction commits (at once outside one); inside one,
    first raise the `pending` counts, and lower them after the bump."""
    marked = _in_transaction() and _safely(lambda: _mark(pending))

    def after_commit() -> None:
        # A bump that failed leaves its marks to expire: until then readers use the database,
        # and the next check bumps what the hook could not.
        if _safely(bump) and marked:
            _safely(lambda: _unmark(pending))

    transaction.on_commit(after_commit)


def _in_transaction() -> bool:
    """Whether a write now is inside a transaction that commits later (its changes are then
    marked pending until the commit's hooks run)."""
    return connection.in_atomic_block


def _safely(call) -> bool:
    """Run a cache call; log and answer False if the cache is unreachable."""
    try:
        call()
    except Exception as exc:
        _log_unreachable("Catalog cache unreachable; invalidation left to the next check.", exc)
        return False
    return True


def _mark(keys: list[str]) -> None:
    # One round trip on Redis (storefront.core.cache.RedisCache); elsewhere (the local
    # memory cache of development and tests) a count per key.
    if hasattr(cache, "incr_many"):
        cache.incr_many(keys, timeout=PENDING_SECONDS)
        return
    for key in keys:
        cache.add(key, 0, timeout=PENDING_SECONDS)
        cache.incr(key)


def _unmark(keys: list[str]) -> None:
    if hasattr(cache, "decr_many"):
        cache.decr_many(keys)
        return
    for key in keys:
        try:
            if cache.decr(key) <= 0:
                cache.delete(key)
        except ValueError:  # expired
            pass


def _log_unreachable(message: str, exc: Exception) -> None:
    # An open breaker says what the failure that opened it already said, with a traceback.
    logger.warning(message, exc_info=not isinstance(exc, CacheUnavailable))


# --- The check against the database's change log (see the module docstring) ---------------


@dataclass(frozen=True)
class Check:
    """The last check: the database snapshot it read (pg_snapshot text) and when it started
    (Unix time); every catalog write committed before that time is bumped."""

    snapshot: str
    at: float


# Until when this process trusts the cache without looking at SYNC_KEY (Unix time).
_trusted_until = 0.0


def _checked_lately() -> bool:
    """Whether the last check is recent enough to serve cached responses; run one if not.

    Cache errors propagate; a database error is logged and answers False.
    """
    global _trusted_until
    interval = settings.CATALOG_CACHE_SYNC_SECONDS
    if interval <= 0:
        return True
    now = time.time()
    if now < _trusted_until:
        return True
    last = cache.get(SYNC_KEY)
    last = last if isinstance(last, Check) else None
    if last is not None and now < last.at + interval:
        _trusted_until = last.at + interval
        return True
    if connection.in_atomic_block:
        return False
    if not cache.add(SYNC_LOCK_KEY, True, timeout=math.ceil(interval)):
        # Another process is checking right now: the last check still vouches a little.
        return last is not None and now < last.at + 2 * interval
    try:
        check = _check(last)
    except DatabaseError:
        logger.warning("Catalog change log unreadable; cache not used.", exc_info=True)
        return False
    finally:
        cache.delete(SYNC_LOCK_KEY)
    _trusted_until = check.at + interval
    return True


# The changes committed after `previous` was taken and before this statement's own snapshot
# (the one pg_current_snapshot() returns). xid >= xmin(previous) only narrows the index scan:
# a transaction older than that was visible in `previous` already.
CHANGES_SINCE = """
WITH fresh AS (
    SELECT product_ids FROM catalog_catalogchange
    WHERE xid >= pg_snapshot_xmin(%(previous)s::pg_snapshot)::text::bigint
      AND NOT pg_visible_in_snapshot(xid::text::xid8, %(previous)s::pg_snapshot)
)
SELECT pg_current_snapshot()::text,
       coalesce(bool_or(product_ids IS NULL), false),
       (SELECT array_agg(DISTINCT id::bigint)
        FROM fresh, jsonb_array_elements_text(product_ids) AS id)
FROM fresh
"""


def _check(last: Check | None) -> Check:
    """Bump the versions of every catalog change committed since `last`; record the check."""
    started = time.time()
    with connection.cursor() as cursor:
        if last is None or started - last.at > CHANGE_LOG_RETENTION.total_seconds() / 2:
            # No usable previous check (first use, the cache emptied, or its log pruned):
            # whatever committed before now may be missing from the cache's versions.
            cursor.execute("SELECT pg_current_snapshot()::text")
            snapshot, everything, product_ids = cursor.fetchone()[0], True, None
        else:
            cursor.execute(CHANGES_SINCE, {"previous": last.snapshot})
            snapshot, everything, product_ids = cursor.fetchone()
    if everything or len(product_ids or ()) > MAX_PRODUCTS_PER_SYNC:
        _bump_catalog()
    elif product_ids:
        _bump_stock([_stock_key(product_id) for product_id in product_ids])
    check = Check(snapshot=snapshot, at=started)
    cache.set(SYNC_KEY, check, timeout=None)
    return check


def connect_signals() -> None:
    """Invalidate the catalog on every ORM write to it, whoever makes it (services, admin,
    shell): cache upkeep, not domain flow, so a signal rather than a call in each writer.

    Stock moves with UPDATE statements in catalog/stock.py, which send no signal: that module
    invalidates what they change itself (invalidate_stock)."""
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
