"""WSGI entry point of the benchmark floors (gunicorn bench.floor_site.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.floor_site.settings")
application = get_wsgi_application()
