"""Periodic upkeep of carts (Celery beat: settings.CELERY_BEAT_SCHEDULE)."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from storefront.carts import services


@shared_task
def delete_stale_guest_carts() -> int:
    """Delete guest carts untouched for GUEST_CART_MAX_AGE_DAYS days; return how many.

    Idempotent: a second run finds nothing more to delete. Customers' carts are never deleted.
    """
    cutoff = timezone.now() - timedelta(days=settings.GUEST_CART_MAX_AGE_DAYS)
    return services.delete_stale_guest_carts(updated_before=cutoff)
