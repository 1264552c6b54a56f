"""Background work on orders, run by Celery beat (config/settings/base.py,
CELERY_BEAT_SCHEDULE): unpaid card orders expire, unsettled card payments are reconciled
with their providers. Each task is idempotent: a run that overlaps another, or is
redelivered after a crash, changes nothing twice (every order is handled under its row
lock by orders.services)."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from storefront.core.exceptions import DomainError
from storefront.orders import services
from storefront.orders.models import Order
from storefront.payments.models import Payment
from storefront.payments.providers import provider_of

logger = logging.getLogger(__name__)
# Orders handled per run; the next run takes the rest.
BATCH = 500


@shared_task
def expire_unpaid_orders() -> int:
    """Cancel the pending card orders past their payment_due_at that are still unpaid
    (orders.services.expire_order: payment voided, stock back, an "expired" event, an email);
    return how many expired. Every minute by beat."""
    due = (
        Order.objects.filter(
            status=Order.Status.PENDING,
            payment_due_at__isnull=False,
            payment_due_at__lte=timezone.now(),
        )
        .order_by("payment_due_at")
        .values_list("pk", flat=True)[:BATCH]
    )
    expired = 0
    for order_id in list(due):
        try:
            expired += services.expire_order(order_id=order_id)
        except DomainError:  # The provider is unreachable: the next run tries again.
            logger.warning("order %s could not expire now", order_id, exc_info=True)
    return expired


@shared_task
def reconcile_payments() -> int:
    """Ask the providers about the card payments still unsettled (pending, requires action
    or failed, with a provider reference) whose order was placed more than
    settings.PAYMENT_RECONCILE_AFTER_MINUTES ago, and record their answers
    (orders.services.settle_payment, source "reconciliation"): a payment that succeeded at
    the provider completes and its order moves to processing, one cancelled there cancels
    its order with its stock back. So a webhook that never arrives loses nothing. Return how
    many payments were asked about. Every three minutes by beat."""
    before = timezone.now() - timedelta(minutes=settings.PAYMENT_RECONCILE_AFTER_MINUTES)
    payments = list(
        Payment.objects.filter(
            method=Payment.Method.CARD,
            status__in=Payment.UNPAID,
            order__placed_at__lte=before,
        )
        .exclude(provider_reference="")
        .order_by("pk")[:BATCH]
    )
    for payment in payments:
        try:
            state = provider_of(payment).retrieve(payment=payment)
            services.settle_payment(payment_id=payment.pk, state=state, source="reconciliation")
        except DomainError:
            logger.warning("payment %s could not be reconciled now", payment.pk, exc_info=True)
    return len(payments)
