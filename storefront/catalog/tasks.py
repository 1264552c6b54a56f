"""Celery tasks of the catalog."""

from celery import shared_task
from django.utils import timezone

from storefront.catalog.cache import CHANGE_LOG_RETENTION
from storefront.catalog.models import CatalogChange


@shared_task
def prune_change_log() -> int:
    """Delete the catalog change log's rows older than CHANGE_LOG_RETENTION (one hour; run
    hourly by beat, see storefront/catalog/cache.py); return how many."""
    cutoff = timezone.now() - CHANGE_LOG_RETENTION
    deleted, _ = CatalogChange.objects.filter(created_at__lt=cutoff).delete()
    return deleted
