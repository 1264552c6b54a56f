"""Oscar's REST API (django-oscar-api) under /api/, and nothing else."""

from django.urls import include, path

urlpatterns = [path("api/", include("oscarapi.urls"))]
