"""`manage.py delete_stale_guest_carts [--days N]`: purge abandoned guest carts now.

Celery beat runs the same every night (storefront.carts.tasks.delete_stale_guest_carts).
"""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from storefront.carts.services import delete_stale_guest_carts


class Command(BaseCommand):
    help = (
        "Delete guest carts (and their items) untouched for --days days "
        "(default GUEST_CART_MAX_AGE_DAYS, 30)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=settings.GUEST_CART_MAX_AGE_DAYS)

    def handle(self, *args, days: int, **options) -> None:
        if days < 1:
            raise CommandError("--days must be at least 1.")
        deleted = delete_stale_guest_carts(updated_before=timezone.now() - timedelta(days=days))
        self.stdout.write(f"Deleted {deleted} guest cart(s) untouched for {days} day(s).")
