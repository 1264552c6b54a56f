"""Outgoing webhooks routes, under /api/: webhooks/ (staff; storefront/webhooks/api/views.py)."""

from rest_framework.routers import SimpleRouter

from storefront.webhooks.api import views

router = SimpleRouter(use_regex_path=False)
router.register("webhooks", views.WebhookEndpointViewSet, basename="webhook-endpoint")

urlpatterns = [*router.urls]
