"""Prometheus metrics (prometheus-client): requests by view, and what GET /metrics exposes.

Metrics of this module and of the apps (e.g. storefront/orders/metrics.py) are module-level
prometheus-client metrics. Under gunicorn, each worker process writes them to files in
PROMETHEUS_MULTIPROC_DIR (config/gunicorn.conf.py sets it up) and a scrape, whichever
worker answers it, adds up every worker's files (prometheus-client's multiprocess mode).
Elsewhere (runserver, the tests) they live in the process's default registry.

Names and units (docs/deployment.md, Metrics):
- storefront_http_requests_total{view, method, status}: requests answered.
- storefront_http_request_duration_seconds{view, method}: time from the request reaching
  Django to its response leaving the middleware (a streamed body is not included).
- storefront_outbox_pending_messages, storefront_outbox_oldest_pending_age_seconds: read
  from the database at scrape time (storefront.notifications.selectors.outbox_backlog).
"""

import logging
import time

from django.conf import settings
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from storefront.notifications.selectors import outbox_backlog

logger = logging.getLogger(__name__)
request_logger = logging.getLogger("storefront.request")

# A method outside these is counted as "other": clients choose the method, and each value
# would otherwise be a new time series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The view of a request answered before URL resolution (static files, a redirect to HTTPS,
# a CORS preflight) or matching no URL pattern.
UNRESOLVED = "<unresolved>"

REQUESTS = Counter(
    "storefront_http_requests",
    "HTTP requests answered, by URL name of the view, method and status.",
    ["view", "method", "status"],
)
REQUEST_DURATION = Histogram(
    "storefront_http_request_duration_seconds",
    "Seconds from the request reaching Django to its response, by URL name and method.",
    ["view", "method"],
)


def view_name(request) -> str:
    """The URL name of the view that answered (namespaced: "admin:index"), the dotted path of
    an unnamed one, or UNRESOLVED. URL names are a fixed set: paths would be unbounded."""
    match = request.resolver_match
    return match.view_name if match is not None else UNRESOLVED


class RequestMetricsMiddleware:
    """Count and time every request, and log one line for it (logger "storefront.request").

    Second in MIDDLEWARE, right after RequestIdMiddleware: the answers of every middleware
    after it (redirects, CORS preflights, lockouts) are counted, and the log line carries the
    request id. The line's message is "<method> <path> <status> <ms> ms (<view>)"; its extra
    fields (JSON logs in production) are method, path, status, duration_ms and view. The
    path is logged without its query string, which may hold search terms or tokens.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        view = view_name(request)
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(view, method, str(response.status_code)).inc()
        REQUEST_DURATION.labels(view, method).observe(seconds)
        if request_logger.isEnabledFor(logging.INFO):
            self._log(request, response, view, seconds)
        return response

    @staticmethod
    def _log(request, response, view: str, seconds: float) -> None:
        duration_ms = round(seconds * 1000, 1)
        request_logger.info(
            "%s %s %s %s ms (%s)",
            request.method,
            request.path,
            response.status_code,
            duration_ms,
            view,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "view": view,
            },
        )


class OutboxCollector:
    """The outbox backlog, read from the database when Prometheus scrapes (one query). While
    the database does not answer, the two metrics are left out and a warning is logged."""

    def collect(self):
        try:
            backlog = outbox_backlog()
        except Exception as exc:  # The rest of the scrape is still worth answering.
            logger.warning("Outbox backlog not read for /metrics: %s", type(exc).__name__)
            return
        yield GaugeMetricFamily(
            "storefront_outbox_pending_messages",
            "Outbox messages pending delivery (storefront/notifications).",
            value=backlog.pending,
        )
        yield GaugeMetricFamily(
            "storefront_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending outbox message, in seconds (0 when none is pending).",
            value=backlog.oldest_pending_age_seconds or 0.0,
        )


class _Registered:
    """Collects what `registry` does: the process's default registry inside a scrape's."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self):
        return self.registry.collect()


def exposition() -> bytes:
    """Every metric in Prometheus's text format (prometheus_client.CONTENT_TYPE_LATEST):
    every gunicorn worker's in multiprocess mode, this process's otherwise, and the outbox
    backlog as of now."""
    registry = CollectorRegistry()
    if settings.PROMETHEUS_MULTIPROC_DIR:
        MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        registry.register(_Registered(REGISTRY))
    registry.register(OutboxCollector())
    return generate_latest(registry)
