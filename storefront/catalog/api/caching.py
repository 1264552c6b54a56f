"""Whole-response caching of the product list and detail for customers and visitors.

A cached hit costs no SQL query and no serialization: the stored JSON bytes are sent as they
are. Cached: GET requests answered 200 in JSON by users who see only published products
(anonymous visitors and customers, never staff), keyed by the JSON media type, the full
URL (scheme, host, path, query string: image URLs in the body are absolute) and the viewer's
membership (prices are the viewer's: anonymous visitors and each tier have entries of their
own, shared by every customer of that tier). Staff are never cached, so the key need not
say who sees unpublished products. A change of a tier's percentage invalidates every entry
(the MembershipTier writes call cache.invalidate_catalog). Staleness is
ruled out by the versions of storefront/catalog/cache.py; settings.CATALOG_CACHE_SECONDS
bounds how long an entry lives (0 turns the cache off).

storefront_catalog_cache_requests_total{result} counts the reads (exposed at /metrics,
storefront/core/metrics.py): "hit" (answered from the cache), "miss" (looked up and not
found, stale, or the cache unreachable: read from the database) and "bypass" (never looked
up: the cache is off, the request is not a JSON GET, or the user is staff).
"""

import hashlib
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from prometheus_client import Counter
from rest_framework.request import Request
from rest_framework.response import Response

from storefront.catalog import cache
from storefront.catalog.selectors import can_see_unpublished
from storefront.pricing import quotes

RESULTS = ("hit", "miss", "bypass")
CACHE_REQUESTS = Counter(
    "storefront_catalog_cache_requests",
    "Catalog reads through the response cache (api/caching.py), by what the cache did.",
    ["result"],
)
for _result in RESULTS:  # Every result is exposed, at 0 until it happens.
    CACHE_REQUESTS.labels(_result)


def cached_read(
    request: Request,
    read: Callable[[], HttpResponseBase],
    *,
    product_ids: Callable[[Any], Iterable[int]],
) -> HttpResponseBase:
    """Answer `request` from the cache, or with `read()` and cache what it rendered.

    `product_ids(data)` names the products a 200 response's data shows, whose stock versions
    the entry records. Run after DRF's content negotiation and authentication (in a view
    handler), so that the renderer and the user are known.
    """
    timeout = settings.CATALOG_CACHE_SECONDS
    if (
        timeout <= 0
        or request.method != "GET"
        or request.accepted_renderer.format != "json"
        or can_see_unpublished(request.user)
    ):
        CACHE_REQUESTS.labels("bypass").inc()
        return read()
    membership = quotes.membership_of(request.user) or ""
    key = hashlib.sha256(
        f"{request.accepted_media_type}\n{request.build_absolute_uri()}\n{membership}".encode()
    ).hexdigest()
    entry, snapshot = cache.lookup(key)
    if entry is not None:
        CACHE_REQUESTS.labels("hit").inc()
        return HttpResponse(entry.body, content_type=entry.content_type)
    CACHE_REQUESTS.labels("miss").inc()
    response = read()
    if snapshot is not None and isinstance(response, Response) and response.status_code == 200:
        ids = list(product_ids(response.data))
        response.add_post_render_callback(partial(_store, snapshot, ids, timeout))
    return response


def _store(snapshot: cache.Snapshot, product_ids: list[int], timeout: int, response) -> None:
    cache.store(
        snapshot,
        body=response.content,
        content_type=response["Content-Type"],
        product_ids=product_ids,
        timeout=timeout,
    )
