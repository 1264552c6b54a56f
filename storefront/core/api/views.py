"""The front door: `/` and `/api/` (indexes of links), GET /api/health/, the JSON 404 of
every path under /api/ that no endpoint matches (docs/api.md), and the operators' endpoints
GET /healthz, /readyz and /metrics (docs/deployment.md)."""

import secrets

from django.conf import settings
from django.http import HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from prometheus_client import CONTENT_TYPE_LATEST
from rest_framework import serializers
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from storefront.core.api.exceptions import error_body
from storefront.core.database import Failure
from storefront.core.health import readiness, system_health
from storefront.core.metrics import exposition

NOT_FOUND_URL_NAME = "api-not-found"

# The areas of the API and the URL names of their entry points, as GET /api/ lists them.
API_AREAS = {
    "accounts": {
        "register": "auth-register",
        "token": "auth-token",
        "logout": "auth-logout",
        "me": "me",
        "addresses": "address-list",
    },
    "catalog": {
        "products": "product-list",
        "categories": "category-list",
        "collections": "collection-list",
        "tags": "tag-list",
        "variants": "variant-list",
        "imports": "catalog-import-list",
        "export": "catalog-export",
    },
    "cart": {"cart": "cart", "cart_items": "cart-items", "guest_carts": "guest-carts"},
    "orders": {"orders": "order-list", "export": "order-export"},
    "wishlist": {"wishlist": "wishlist", "wishlist_items": "wishlist-items"},
    "webhooks": {"webhooks": "webhook-endpoint-list"},
    "analytics": {
        "summary": "analytics-summary",
        "top_products": "analytics-top-products",
        "sales": "analytics-sales",
        "sales_csv": "analytics-sales-csv",
        "revenue_by_category": "analytics-revenue-by-category",
        "refunds": "analytics-refunds",
    },
}
DOCUMENTATION = {"docs": "api-docs", "redoc": "api-redoc", "schema": "schema"}


def _links(request: Request, names: dict[str, str]) -> dict[str, str]:
    return {label: request.build_absolute_uri(reverse(name)) for label, name in names.items()}


class PublicView(APIView):
    """Anonymous and never throttled; a stale or bad token is ignored rather than a 401."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()


@extend_schema(exclude=True)  # The site's index, not an endpoint of the API.
class IndexView(PublicView):
    """GET /: the site's index, for a person or a client that starts at the root."""

    def get(self, request: Request) -> Response:
        """What this server is, with absolute links to the API, its docs, the admin and health."""
        links = _links(
            request,
            {"api": "api-root", **DOCUMENTATION, "admin": "admin:index", "health": "health"},
        )
        return Response(
            {
                "name": "Storefront",
                "description": "Headless e-commerce backend: a REST API under /api/.",
                "links": links,
            }
        )


class ApiRootView(PublicView):
    """GET /api/: the areas of the API, each with its endpoints."""

    @extend_schema(
        summary="Index of the API",
        responses=inline_serializer(
            "ApiIndex",
            {
                "links": serializers.DictField(child=serializers.URLField()),
                "areas": serializers.DictField(
                    child=serializers.DictField(child=serializers.URLField())
                ),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        """Absolute links: `links` (health, docs, schema) and `areas`, each area's endpoints."""
        return Response(
            {
                "links": _links(request, {"health": "health", **DOCUMENTATION}),
                "areas": {area: _links(request, names) for area, names in API_AREAS.items()},
            }
        )


CHECK = inline_serializer(
    "HealthCheck",
    {
        "status": serializers.ChoiceField(choices=["ok", "down"]),
        "error": serializers.CharField(required=False),
    },
)


@method_decorator(never_cache, name="dispatch")
class HealthView(PublicView):
    """GET /api/health/: whether this server reaches its database, cache and broker."""

    @extend_schema(
        summary="Health of this server",
        responses={
            200: inline_serializer(
                "Health",
                {
                    "status": serializers.ChoiceField(choices=["ok", "degraded"]),
                    "checks": inline_serializer(
                        "HealthChecks", {"database": CHECK, "cache": CHECK, "broker": CHECK}
                    ),
                },
            ),
            503: OpenApiResponse(
                description="`service_unavailable`: the database is down; `details.checks` as "
                "in a 200; `Retry-After` in seconds."
            ),
        },
    )
    def get(self, request: Request) -> Response:
        """200 while the database answers (`status` "ok", or "degraded" when the cache or the
        broker is down, which the API survives); 503 `service_unavailable` when it does not,
        the code every request answers during a database outage (storefront/core/database.py).

        Costs one SQL query, one cache round trip and one broker connection; never cached.
        """
        health = system_health()
        if health["status"] == "down":
            return _unavailable("The database is not answering.", checks=health["checks"])
        return Response(health)


def _unavailable(message: str, *, checks: dict) -> Response:
    """503 `service_unavailable` in the error shape, `checks` in its details, and the
    Retry-After (seconds) of a database outage."""
    body = error_body(503, "service_unavailable", message, details={"checks": checks})
    return Response(body, status=503, headers={"Retry-After": str(Failure.OUTAGE.retry_after)})


# --- Operators' endpoints: probes and metrics, outside the API and its schema -------------


@extend_schema(exclude=True)
@method_decorator(never_cache, name="dispatch")
class LivenessView(PublicView):
    """GET /healthz: the process is alive and serving."""

    def get(self, request: Request) -> Response:
        """200 {"status": "ok"}, with no I/O at all (no database, cache or broker): a failure
        here means the process or its threads are stuck, which a restart fixes."""
        return Response({"status": "ok"})


@extend_schema(exclude=True)
@method_decorator(never_cache, name="dispatch")
class ReadinessView(PublicView):
    """GET /readyz: this process can serve requests (storefront.core.health.readiness)."""

    def get(self, request: Request) -> Response:
        """200 {"status": "ready", "checks": {"database", "migrations", "cache", "broker",
        "outbox"}} when no check is down; 503 `service_unavailable` in the error shape, the
        checks in `details.checks` and `Retry-After` in seconds, when one is.

        Each check: {"status": "ok" | "down" | "skipped", "error"?: exception class name};
        outbox adds `pending` (messages) and `oldest_pending_age_seconds`. Never cached.
        """
        ready = readiness()
        if ready["status"] != "ready":
            down = [name for name, check in ready["checks"].items() if check["status"] == "down"]
            return _unavailable(f"Not ready: {', '.join(down)}.", checks=ready["checks"])
        return Response(ready)


class IsStaffOrMetricsToken(BasePermission):
    """Staff (session or API token), or `Authorization: Bearer <settings.METRICS_TOKEN>`
    when that setting is not empty."""

    def has_permission(self, request: Request, view) -> bool:
        if request.user and request.user.is_staff:
            return True
        token = settings.METRICS_TOKEN
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        return (
            bool(token)
            and scheme.lower() == "bearer"
            and secrets.compare_digest(credentials.strip().encode(), token.encode())
        )


@extend_schema(exclude=True)
@method_decorator(never_cache, name="dispatch")
class MetricsView(APIView):
    """GET /metrics: Prometheus metrics, for staff and the holder of METRICS_TOKEN."""

    permission_classes = (IsStaffOrMetricsToken,)
    throttle_classes = ()
    renderer_classes = (JSONRenderer,)

    def perform_content_negotiation(self, request, force=False):
        # The metrics are text whatever the Accept header; errors are JSON, the one shape.
        return super().perform_content_negotiation(request, force=True)

    def get(self, request: Request) -> HttpResponse:
        """200 text/plain (Prometheus text format): storefront_http_requests_total,
        storefront_http_request_duration_seconds, storefront_checkouts_total and the outbox
        backlog (storefront/core/metrics.py). 401 `not_authenticated` without credentials
        (or with a wrong token), 403 `permission_denied` for a customer. One query (the
        outbox) with the token; a session or API token adds the authentication's."""
        return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


def _endpoint_with_slash(request) -> str | None:
    """The path of `request` with a trailing slash if an endpoint lives there, else None."""
    path = request.path_info
    if not settings.APPEND_SLASH or path.endswith("/"):
        return None
    try:
        match = resolve(path + "/")
    except Resolver404:
        return None
    if match.url_name == NOT_FOUND_URL_NAME or not getattr(match.func, "should_append_slash", True):
        return None
    return request.path + "/"


@csrf_exempt
def api_not_found(request, rest: str = ""):
    """Every path under /api/ that no endpoint matches: 404 `not_found` in the error shape,
    with DEBUG on or off (DEBUG's technical 404 page would otherwise answer in HTML).

    GET or HEAD of an endpoint's path without its trailing slash redirects to it (301), as
    APPEND_SLASH does for the rest of the site. Any other method answers 404 naming the path
    with the slash: a client following a redirected POST would resend it as a GET, and
    CommonMiddleware refuses to redirect one in DEBUG (RuntimeError, a 500).
    """
    with_slash = _endpoint_with_slash(request)
    if with_slash and request.method in ("GET", "HEAD"):
        return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    message = "Not found."
    if with_slash:
        message = f"Not found. Send {request.method} to {with_slash} (with a trailing slash)."
    return JsonResponse(error_body(404, "not_found", message), status=404)
