"""Local development: `make run`. The embedded PostgreSQL unless DATABASE_URL is set (base.py,
database_url); emails to the console."""

import socket
from urllib.parse import urlsplit

from .base import *  # noqa: F403
from .base import (
    CELERY_BROKER_URL,
    DATABASE_CONN_MAX_AGE,
    database_config,
    database_url,
    env_bool,
    env_list,
)

DATABASES = {
    "default": database_config(
        database_url(embedded=True),
        conn_max_age=DATABASE_CONN_MAX_AGE,
        conn_health_checks=True,
    )
}

DEBUG = env_bool("DJANGO_DEBUG", True)
ALLOWED_HOSTS = ["*"]
# The usual local front-end dev servers (create-react-app, Next.js: 3000; Vite: 5173).
CORS_ALLOWED_ORIGINS = env_list(
    "CORS_ALLOWED_ORIGINS",
    "http://localhost:3000,http://127.0.0.1:3000,http://localhost:5173,http://127.0.0.1:5173",
)
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# Cards are paid with the sandbox's test tokens (docs/checkout.md, Payments).
PAYMENT_SANDBOX = env_bool("PAYMENT_SANDBOX", True)


def _broker_reachable(url: str) -> bool:
    """Whether a TCP connection to the Redis broker at `url` opens within a quarter second."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("redis"):
        return True
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 0.25):
            return True
    except OSError:
        return False


# `make run` works without Redis: tasks then run in-process when published, and their emails
# print here. With Redis up, tasks go to the broker and `make worker` runs them.
CELERY_TASK_ALWAYS_EAGER = env_bool(
    "CELERY_TASK_ALWAYS_EAGER", not _broker_reachable(CELERY_BROKER_URL)
)
