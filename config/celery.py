"""The Celery app: `celery -A config worker -B` (or `make worker`) runs tasks and the schedule.

Configuration comes from Django settings, every `CELERY_*` setting (config/settings/base.py):
the broker is Redis at REDIS_URL, tasks are found in each app's `tasks.py`.
"""

import os

from celery import Celery

# The same default as manage.py, so `make run` and `make worker` share settings and database.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("storefront")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
