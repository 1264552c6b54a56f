"""The project's URLs plus /api/fail/, a view that raises (a 500), for the middleware tests."""

from django.urls import path

from config.urls import handler404, handler500
from config.urls import urlpatterns as project_urlpatterns


def fail(request):
    raise RuntimeError("A bug.")


urlpatterns = [path("api/fail/", fail), *project_urlpatterns]

__all__ = ["handler404", "handler500", "urlpatterns"]
