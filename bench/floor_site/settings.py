"""The framework floor: bare Django + DRF over one flat product table, for `make bench` only.

No contrib apps, no middleware, no authentication: what any Django + DRF list/detail costs
before an application adds anything. The table `floor_product` is created by
bench/loaders.py (load_floor). Also serves the server floor: a view returning constant JSON.

Environment: BENCH_DB_HOST, BENCH_DB_PORT, BENCH_DB_USER, BENCH_DB_PASSWORD,
BENCH_FLOOR_DB (default floor_bench), BENCH_SECRET_KEY, BENCH_PAGE_SIZE (default 24).
"""

import os

SECRET_KEY = os.environ.get("BENCH_SECRET_KEY", "bench-only-" + "x" * 50)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS = ["rest_framework", "bench.floor_site"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.floor_site.urls"
WSGI_APPLICATION = "bench.floor_site.wsgi.application"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BENCH_FLOOR_DB", "floor_bench"),
        "HOST": os.environ.get("BENCH_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("BENCH_DB_PORT", "5432"),
        "USER": os.environ.get("BENCH_DB_USER", "postgres"),
        "PASSWORD": os.environ.get("BENCH_DB_PASSWORD", ""),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": int(os.environ.get("BENCH_PAGE_SIZE", "24")),
    "COERCE_DECIMAL_TO_STRING": True,
}
LOGGING_CONFIG = None
