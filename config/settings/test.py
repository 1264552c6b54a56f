"""Test suite: PostgreSQL always (DATABASE_URL overrides the local default)."""

import os
import tempfile

from .base import *  # noqa: F403
from .base import database_config

DATABASES = {
    "default": database_config(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/storefront"),
        conn_max_age=0,
    )
}
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
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
# The catalog cache's check of the change log needs to run outside transactions, and most
# tests run inside one: the tests of the check (tests/test_catalog_cache_sync.py) turn it on.
CATALOG_CACHE_SYNC_SECONDS = 0
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="storefront-test-media-"))  # noqa: F405
# Static files come from the app finders in tests; an existing (empty) root keeps whitenoise quiet.
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="storefront-test-static-"))  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
