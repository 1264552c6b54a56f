"""Production: DEBUG off, HTTPS only, secrets from the environment.

Required: DJANGO_SECRET_KEY (50+ random characters), DJANGO_ALLOWED_HOSTS, DATABASE_URL.
Set explicitly: NUM_PROXIES, the number of reverse proxies in front of gunicorn that append the
client's address to X-Forwarded-For (0 if gunicorn faces the clients). Throttles and login
lockouts count clients by that address; unset counts as 0, and `check --deploy` warns
(storefront.W001), since behind a proxy every client would then share the proxy's address. The
proxy must also set X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER below) and overwrite, not pass
on, any X-Forwarded-Proto the client sent.
Optional: REDIS_URL (the broker; the cache uses CACHE_URL, default the same Redis, database 1,
with CACHE_REDIS_TIMEOUT and CACHE_BREAKER_RESET_SECONDS),
DJANGO_CSRF_TRUSTED_ORIGINS, DJANGO_SECURE_SSL_REDIRECT (default on; turn off only
behind a proxy that already redirects), DJANGO_HSTS_SECONDS (default one year), EMAIL_URL-style
SMTP settings EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS,
DEFAULT_FROM_EMAIL, PAYMENT_SANDBOX (default off: card payments need a registered gateway,
see docs/checkout.md; on, `check --deploy` warns).
Logs: every line is one JSON object (python-json-logger) on stderr: time, level, logger,
message, request_id, plus the extra fields of the record (a request's line: method, path,
status, duration_ms, view; docs/deployment.md).
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASE_CONN_MAX_AGE, database_config, database_url, env_bool, env_list

DATABASES = {
    "default": database_config(
        database_url(embedded=False),
        conn_max_age=DATABASE_CONN_MAX_AGE,
        conn_health_checks=True,
    )
}

DEBUG = False
# PAYMENT_SANDBOX stays as base.py reads it: off unless the environment asks for it (a
# staging site, say); dev.py and test.py are the ones that turn it on.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure"):
    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY to 50 or more random characters.")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# Throttle counters must be shared by every gunicorn worker: Redis, not per-process memory.
# Short timeouts and a circuit breaker (CACHE_REDIS_OPTIONS, storefront/core/cache.py): a
# request never waits on a Redis that is down or hung for more than one short timeout.
CACHES = {
    "default": {
        "BACKEND": "storefront.core.cache.RedisCache",
        "LOCATION": os.environ.get("CACHE_URL", REDIS_URL.rsplit("/", 1)[0] + "/1"),  # noqa: F405
        "OPTIONS": CACHE_REDIS_OPTIONS,  # noqa: F405
    }
}
NUM_PROXIES = int(os.environ["NUM_PROXIES"]) if os.environ.get("NUM_PROXIES") else None
# DRF's None would trust any X-Forwarded-For: unset means 0 there too.
REST_FRAMEWORK = {**REST_FRAMEWORK, "NUM_PROXIES": NUM_PROXIES or 0}  # noqa: F405

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
# Probes and the Prometheus scraper call gunicorn directly, over plain HTTP inside the
# deployment's network (compose.yaml): a redirect to HTTPS would fail every probe.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "shop@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# JSON lines for log collectors; the fields of base.py's plain format, named.
LOGGING = {
    **LOGGING,  # noqa: F405
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json",
        }
    },
}
