"""Test suite: DATABASE_URL's PostgreSQL, or the embedded one when it is unset; REDIS_URL's
Redis, or a private redis-server started for the run when it is unset (storefront/core/servers.py).
With both unset the suite uses no server of the machine."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import database_config, database_url

DATABASES = {"default": database_config(database_url(embedded=True), conn_max_age=0)}
if not os.environ.get("REDIS_URL"):
    from storefront.core.servers import private_redis_url

    private_redis_url(Path(tempfile.mkdtemp(prefix="storefront-test-redis-")))
REDIS_URL = os.environ["REDIS_URL"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The Celery worker started by the integration tests sets EMAIL_BACKEND to the file-based
# backend and EMAIL_FILE_PATH to a folder, so the tests can count what it sent.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", "")
# The worker-crash tests point the SMTP backend at a server of their own on loopback.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
# Tasks run in-process when published, so a test finds their emails in mail.outbox; the
# integration tests of storefront/notifications run a real worker instead. Their broker is a
# Redis database of its own, which they flush.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", True)  # noqa: F405
CELERY_TASK_EAGER_PROPAGATES = True
# Cards are paid with the sandbox's test tokens; tests of production behaviour turn it off.
PAYMENT_SANDBOX = env_bool("PAYMENT_SANDBOX", True)  # noqa: F405
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL.rsplit("/", 1)[0] + "/15")
# The catalog cache's check of the change log needs to run outside transactions, and most
# tests run inside one: the tests of the check (tests/test_catalog_cache_sync.py) turn it on.
CATALOG_CACHE_SYNC_SECONDS = 0
# A worker process started by the tests is given the suite's folders (IMPORTS_ROOT,
# MEDIA_ROOT), so that it reads the files the suite stored.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or tempfile.mkdtemp(prefix="storefront-test-media-"))
IMPORTS_ROOT = Path(
    os.environ.get("IMPORTS_ROOT") or tempfile.mkdtemp(prefix="storefront-test-imports-")
)
# The tests' image servers and webhook receivers listen on loopback.
OUTBOUND_HTTP_ALLOWED_NETWORKS = ("127.0.0.0/8", "::1/128")
# Static files come from the app finders in tests; an existing (empty) root keeps whitenoise quiet.
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="storefront-test-static-"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
