"""Root URLs: an index at /, the REST API under /api/ (its index, health, OpenAPI schema and
docs), the admin, and the operators' /healthz, /readyz and /metrics (docs/deployment.md). A
path under /api/ that matches nothing answers the JSON 404."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from storefront.core.api import views as core_views
from storefront.core.api.docs import RedocView, SwaggerView

api_patterns = [
    path("", core_views.ApiRootView.as_view(), name="api-root"),
    path("health/", core_views.HealthView.as_view(), name="health"),
    path("", include("storefront.accounts.api.urls")),
    path("", include("storefront.catalog.api.urls")),
    path("", include("storefront.carts.api.urls")),
    path("", include("storefront.orders.api.urls")),
    path("", include("storefront.payments.api.urls")),
    path("", include("storefront.pricing.api.urls")),
    path("", include("storefront.analytics.api.urls")),
    path("", include("storefront.reviews.api.urls")),
    path("", include("storefront.wishlists.api.urls")),
    path("", include("storefront.webhooks.api.urls")),
]

urlpatterns = [
    path("", core_views.IndexView.as_view(), name="index"),
    path("admin/", admin.site.urls),
    # Without a trailing slash, as probes and Prometheus spell them.
    path("healthz", core_views.LivenessView.as_view(), name="healthz"),
    path("readyz", core_views.ReadinessView.as_view(), name="readyz"),
    path("metrics", core_views.MetricsView.as_view(), name="metrics"),
    path("api/", include(api_patterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", RedocView.as_view(url_name="schema"), name="api-redoc"),
    # Last: whatever else is under /api/ (or /api itself).
    re_path(
        r"^api(?:/(?P<rest>.*))?$",
        core_views.api_not_found,
        name=core_views.NOT_FOUND_URL_NAME,
    ),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "storefront.core.api.exceptions.bad_request"
handler403 = "storefront.core.api.exceptions.permission_denied"
handler404 = "storefront.core.api.exceptions.page_not_found"
handler500 = "storefront.core.api.exceptions.server_error"
