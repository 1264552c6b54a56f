"""The API docs pages (Swagger UI at /api/docs/, ReDoc at /api/redoc/): drf-spectacular's
views, answering OPTIONS as any Django page does."""

from django.views import View
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView


class PageOptionsMixin:
    """For a view that renders an HTML page: OPTIONS as Django answers it."""

    def options(self, request, *args, **kwargs):
        """200 with the Allow header and no body (Django's View.options).

        DRF would describe the view as metadata rendered through the page's HTML template,
        which fails on Swagger UI's (a 500) and makes nonsense of ReDoc's.
        """
        return View.options(self, request, *args, **kwargs)


class SwaggerView(PageOptionsMixin, SpectacularSwaggerView):
    """Swagger UI over /api/schema/ (assets from drf-spectacular-sidecar)."""


class RedocView(PageOptionsMixin, SpectacularRedocView):
    """ReDoc over /api/schema/ (assets from drf-spectacular-sidecar)."""
