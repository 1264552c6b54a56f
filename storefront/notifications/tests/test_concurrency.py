import threading

import pytest
from django.core import mail
from django.db import connection, transaction

from storefront.catalog.tests.factories import VariantFactory
from storefront.notifications import services
from storefront.notifications.models import LowStockAlert, OutboxMessage


@pytest.mark.django_db(transaction=True)
def test_concurrent_stock_changes_of_a_low_variant_alert_once(settings):
    settings.LOW_STOCK_THRESHOLD = 5
    settings.STAFF_NOTIFICATION_EMAILS = ["stock@example.com"]
    variant = VariantFactory(stock_quantity=2)
    start = threading.Barrier(4)
    errors = []

    def checkout() -> None:
        try:
            start.wait()
            with transaction.atomic():
                services.stock_changed(variant_ids=[variant.pk])
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=checkout) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert LowStockAlert.objects.filter(variant=variant, resolved_at__isnull=True).count() == 1
    assert OutboxMessage.objects.filter(kind="low_stock").count() == 1
    assert len(mail.outbox) == 1
