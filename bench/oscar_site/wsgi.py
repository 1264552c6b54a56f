"""WSGI entry point of the benchmark's Oscar shop (gunicorn bench.oscar_site.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.oscar_site.settings")
application = get_wsgi_application()
