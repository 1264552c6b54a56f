"""Root URLs: the REST API under /api/, its OpenAPI schema and docs, and the admin."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from storefront.core.api.docs import RedocView, SwaggerView

api_patterns = [
    path("", include("storefront.accounts.api.urls")),
    path("", include("storefront.catalog.api.urls")),
    path("", include("storefront.carts.api.urls")),
    path("", include("storefront.orders.api.urls")),
    path("", include("storefront.payments.api.urls")),
    path("", include("storefront.analytics.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", RedocView.as_view(url_name="schema"), name="api-redoc"),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "storefront.core.api.exceptions.bad_request"
handler403 = "storefront.core.api.exceptions.permission_denied"
handler404 = "storefront.core.api.exceptions.page_not_found"
handler500 = "storefront.core.api.exceptions.server_error"
