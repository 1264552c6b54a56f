"""Periodic upkeep of accounts (Celery beat: settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task
from django.utils import timezone
from knox.models import AuthToken


@shared_task
def delete_expired_tokens() -> int:
    """Delete every expired API token; return how many. Idempotent.

    Authentication refuses an expired token whether or not it has been deleted yet
    (authentication.TokenAuthentication); this keeps the table from growing.
    """
    deleted, _ = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
    return deleted
