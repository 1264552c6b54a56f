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


@shared_task(acks_late=True)
def run_catalog_import(import_id: int) -> None:
    """Run the queued catalog import `import_id` (storefront/catalog/imports/jobs.py). A
    second delivery of the task finds it no longer queued and does nothing."""
    from storefront.catalog.imports import jobs

    jobs.run_import(import_id)
