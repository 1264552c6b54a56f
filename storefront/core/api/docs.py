"""The API docs pages (Swagger UI at /api/docs/, ReDoc at /api/redoc/): drf-spectacular's
views, answering OPTIONS as any Django page does."""

from django.views import View
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView


class PageOptionsMixin:
    def options(self, request, *args, **kwargs):
        """200 with the Allow header and no body (Django's View.options).

        DRF would describe the view as metadata rendered through the page's HTML template,
        which fails on Swagger UI's (a 500) and makes nonsense of ReDoc's.
        """
        return View.options(self, request, *args, **kwargs)


class SwaggerView(PageOptionsMixin, SpectacularSwaggerView):
    pass


class RedocView(PageOptionsMixin, SpectacularRedocView):
    pass
