"""catalog/stock.py, the one writer of stock: sales, restocks, staff sets, and the low-stock
alerts and cache invalidation that follow each of them. Emails go through the outbox, sent
in-process (config.settings.test runs Celery eagerly) to Django's locmem outbox."""

import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection, transaction

from storefront.accounts.tests.factories import StaffFactory
from storefront.catalog import cache, services, stock
from storefront.catalog.models import ProductVariant
from storefront.catalog.tests.factories import ProductFactory, VariantFactory
from storefront.notifications.models import LowStockAlert, OutboxMessage
from storefront.orders.exceptions import OutOfStock
from storefront.webhooks import services as webhooks

pytestmark = pytest.mark.django_db

Status = OutboxMessage.Status


def units(variant: ProductVariant) -> int:
    return ProductVariant.objects.values_list("stock_quantity", flat=True).get(pk=variant.pk)


def locked(variant: ProductVariant) -> ProductVariant:
    """The variant locked and read under the lock, as a checkout holds it."""
    return ProductVariant.objects.select_for_update().get(pk=variant.pk)


@pytest.fixture
def invalidations(monkeypatch) -> list[tuple[list[int], bool]]:
    """The calls of cache.invalidate_stock: (product ids, availability changed)."""
    calls = []
    real = cache.invalidate_stock

    def record(*, product_ids, availability_changed):
        calls.append((sorted(set(product_ids)), availability_changed))
        real(product_ids=product_ids, availability_changed=availability_changed)

    monkeypatch.setattr(cache, "invalidate_stock", record)
    return calls


# --- sell, restock, set_stock --------------------------------------------------------------


def test_sell_takes_the_units_of_every_line_in_one_statement(django_assert_num_queries):
    shirt, mug = VariantFactory(stock_quantity=10), VariantFactory(stock_quantity=7)
    with transaction.atomic(), webhooks.collect():
        lines = [(locked(shirt), 3), (locked(mug), 2)]
        # Nothing falls below the threshold (5): the low-stock check costs nothing. The
        # stock.changed events are collected, as a checkout collects them into its own
        # statement (orders.services.place_order).
        with django_assert_num_queries(1):
            stock.sell(lines=lines)
        events = webhooks.take_collected()

    assert [(event, data["variant_id"], data["stock_quantity"]) for event, data in events] == [
        ("stock.changed", shirt.pk, 7),
        ("stock.changed", mug.pk, 5),
    ]
    assert (units(shirt), units(mug)) == (7, 5)
    assert [variant.stock_quantity for variant, _ in lines] == [7, 5]


def test_sell_refuses_more_than_the_stock_of_a_variant_the_caller_did_not_lock():
    variant = VariantFactory(stock_quantity=10)
    stale = ProductVariant.objects.get(pk=variant.pk)
    ProductVariant.objects.filter(pk=variant.pk).update(stock_quantity=1)  # A sale meanwhile.

    with pytest.raises(OutOfStock), transaction.atomic():
        stock.sell(lines=[(stale, 2)])

    assert units(variant) == 1


def test_sell_invalidates_the_products_sold_and_everything_when_one_runs_out(invalidations):
    kept, sold_out = VariantFactory(stock_quantity=10), VariantFactory(stock_quantity=2)
    with transaction.atomic():
        stock.sell(lines=[(locked(kept), 1)])
        stock.sell(lines=[(locked(kept), 1), (locked(sold_out), 2)])

    assert invalidations == [
        ([kept.product_id], False),
        (sorted([kept.product_id, sold_out.product_id]), True),
    ]


def test_restock_adds_the_units_and_skips_deleted_variants(invalidations):
    variant, gone = VariantFactory(stock_quantity=0), VariantFactory()
    gone_id = gone.pk
    gone.delete()

    stock.restock(quantities={variant.pk: 4, gone_id: 2})

    assert units(variant) == 4
    # It came back from zero: a product may enter the in-stock listings.
    assert invalidations == [([variant.product_id], True)]


def test_set_stock_writes_only_the_variants_whose_stock_differs(
    invalidations, django_assert_num_queries
):
    same, lowered = VariantFactory(stock_quantity=10), VariantFactory(stock_quantity=10)
    before = ProductVariant.objects.get(pk=same.pk).updated_at

    # The lock, the UPDATE, the low-stock check resolving any alert of `lowered`, and the
    # stock.changed webhook events (one statement, storefront/webhooks).
    with django_assert_num_queries(4):
        stock.set_stock(quantities={same.pk: 10, lowered.pk: 8})

    assert (units(same), units(lowered)) == (10, 8)
    assert ProductVariant.objects.get(pk=same.pk).updated_at == before
    assert invalidations == [([lowered.product_id], False)]


def test_set_stock_to_zero_or_from_zero_invalidates_every_listing(invalidations):
    empty, full = VariantFactory(stock_quantity=0), VariantFactory(stock_quantity=5)

    stock.set_stock(quantities={empty.pk: 3})
    stock.set_stock(quantities={full.pk: 0})
    stock.set_stock(quantities={full.pk: 0})  # Nothing differs: nothing to invalidate.

    assert invalidations == [([empty.product_id], True), ([full.product_id], True)]


def test_nothing_to_move_costs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        stock.sell(lines=[])
        stock.restock(quantities={})
        stock.set_stock(quantities={})


# --- low stock -----------------------------------------------------------------------------


@pytest.fixture
def low_stock_setup(settings):
    settings.LOW_STOCK_THRESHOLD = 5
    settings.STAFF_NOTIFICATION_EMAILS = []
    StaffFactory(email="boss@example.com")
    return VariantFactory(sku="MUG-1", stock_quantity=6, product=ProductFactory(name="Mug"))


def sell(variant: ProductVariant, units: int, callbacks) -> None:
    """Sell `units` as a checkout does (negative: put them back, as a cancellation does)."""
    with callbacks(execute=True), transaction.atomic():
        if units > 0:
            stock.sell(lines=[(locked(variant), units)])
        else:
            stock.restock(quantities={variant.pk: -units})
    variant.refresh_from_db()


def test_stock_above_the_threshold_alerts_nobody(
    low_stock_setup, django_capture_on_commit_callbacks
):
    sell(low_stock_setup, 1, django_capture_on_commit_callbacks)  # 5 left: not below 5

    assert mail.outbox == []
    assert not LowStockAlert.objects.exists()


def test_falling_below_the_threshold_alerts_staff_once(
    low_stock_setup, django_capture_on_commit_callbacks
):
    sell(low_stock_setup, 2, django_capture_on_commit_callbacks)  # 4 left
    sell(low_stock_setup, 1, django_capture_on_commit_callbacks)  # 3 left: still low

    [email] = mail.outbox
    assert email.to == ["boss@example.com"]
    assert email.subject == "Low stock: MUG-1 (Mug)"
    assert "Units in stock when the alert was raised: 4" in email.body
    assert LowStockAlert.objects.get().stock_quantity == 4


def test_a_restock_rearms_the_alert(low_stock_setup, django_capture_on_commit_callbacks):
    variant = low_stock_setup
    sell(variant, 3, django_capture_on_commit_callbacks)  # 3 left: alert
    sell(variant, -10, django_capture_on_commit_callbacks)  # restocked to 13: resolved
    sell(variant, 12, django_capture_on_commit_callbacks)  # 1 left: alert again

    assert len(mail.outbox) == 2
    assert LowStockAlert.objects.filter(resolved_at__isnull=False).count() == 1
    assert LowStockAlert.objects.filter(resolved_at__isnull=True).count() == 1


def test_a_fall_above_the_threshold_costs_no_query(low_stock_setup, django_assert_num_queries):
    """A sale (fell=True) cannot end an alert: every rise resolves the alerts it ends."""
    variant = low_stock_setup

    with django_assert_num_queries(0):
        stock.check_low_stock(variant_ids=[variant.pk], stock={variant.pk: 5}, fell=True)


def test_a_staff_edit_of_a_variant_checks_its_stock(
    low_stock_setup, django_capture_on_commit_callbacks
):
    variant = low_stock_setup
    with django_capture_on_commit_callbacks(execute=True):
        # Lowered by hand: alert.
        services.update_product(
            product=variant.product, changes={}, variants=[{"id": variant.pk, "stock_quantity": 2}]
        )
    with django_capture_on_commit_callbacks(execute=True):
        # Restocked: resolved.
        services.update_product(
            product=variant.product, changes={}, variants=[{"id": variant.pk, "stock_quantity": 30}]
        )
    variant.refresh_from_db()
    sell(variant, 27, django_capture_on_commit_callbacks)  # 3 left: alert again

    assert len(mail.outbox) == 2
    assert [a.resolved_at is None for a in variant.low_stock_alerts.order_by("pk")] == [
        False,
        True,
    ]


def test_a_staff_edit_that_leaves_the_stock_out_keeps_the_alert_of_a_sale_it_did_not_see(
    low_stock_setup, django_capture_on_commit_callbacks
):
    variant = low_stock_setup
    product = ProductVariant.objects.get(pk=variant.pk).product  # Read before the sale.
    sell(variant, 3, django_capture_on_commit_callbacks)  # 3 left: alert

    with django_capture_on_commit_callbacks(execute=True):
        services.update_product(
            product=product, changes={}, variants=[{"id": variant.pk, "price": Decimal("9.99")}]
        )

    assert LowStockAlert.objects.get().resolved_at is None
    assert units(variant) == 3
    assert len(mail.outbox) == 1


def test_a_new_variant_with_little_stock_alerts_nobody(low_stock_setup):
    VariantFactory(stock_quantity=1)
    services.update_product(
        product=low_stock_setup.product,
        changes={},
        variants=[{"id": low_stock_setup.pk}, {"sku": "MUG-2", "price": 1, "stock_quantity": 1}],
    )

    assert not LowStockAlert.objects.exists()


def test_staff_notification_emails_setting_overrides_staff_users(
    low_stock_setup, settings, django_capture_on_commit_callbacks
):
    settings.STAFF_NOTIFICATION_EMAILS = ["stock@example.com", "ops@example.com"]

    sell(low_stock_setup, 3, django_capture_on_commit_callbacks)

    assert mail.outbox[0].to == ["stock@example.com", "ops@example.com"]


def test_a_staff_alert_without_staff_is_skipped(settings, django_capture_on_commit_callbacks):
    settings.LOW_STOCK_THRESHOLD = 5
    settings.STAFF_NOTIFICATION_EMAILS = []
    variant = VariantFactory(stock_quantity=0)

    with django_capture_on_commit_callbacks(execute=True):
        stock.check_low_stock(variant_ids=[variant.pk])

    assert mail.outbox == []
    assert OutboxMessage.objects.get().status == Status.SKIPPED


def test_check_low_stock_runs_a_fixed_number_of_queries(low_stock_setup, django_assert_num_queries):
    variants = [VariantFactory(stock_quantity=quantity) for quantity in (0, 1, 2, 50, 60)]

    with django_assert_num_queries(5):
        stock.check_low_stock(variant_ids=[v.pk for v in variants])

    assert OutboxMessage.objects.filter(kind="low_stock").count() == 3


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
                stock.check_low_stock(variant_ids=[variant.pk])
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
