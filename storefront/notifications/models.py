"""The notification outbox, and the stock alert state of variants: low-stock alerts (staff)
and back-in-stock subscriptions (customers and guests).

An `OutboxMessage` is written in the same database transaction as the change it reports
(an order placed, shipped, refunded...), so the email exists if and only if the change does.
It is published to Celery after commit and re-published by a periodic drain until a worker
has sent it (`next_attempt_at` says when); its unique `key` names the email, so one email goes
out per key, however often the message is delivered.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from storefront.core.models import TimeStampedModel


class OutboxMessage(TimeStampedModel):
    """One email to send: `kind` says which, `payload` holds the ids it is about.

    `key` is unique per (kind, object), e.g. "order_confirmation:order:42": writing the same
    notification twice keeps one row, and the worker sends each row at most once.
    """

    class Kind(models.TextChoices):
        ORDER_CONFIRMATION = "order_confirmation", "Order confirmation"
        ORDER_STATUS = "order_status", "Order status change"
        PAYMENT_REFUNDED = "payment_refunded", "Payment refunded"
        ORDER_EXPIRED = "order_expired", "Order expired unpaid"
        RETURN_STATUS = "return_status", "Return status change"
        LOW_STOCK = "low_stock", "Low-stock alert"
        BACK_IN_STOCK = "back_in_stock", "Back-in-stock alert"
        DAILY_SALES_REPORT = "daily_sales_report", "Daily sales report"
        WELCOME = "welcome", "Welcome"
        EMAIL_VERIFICATION = "email_verification", "Email verification"
        PASSWORD_RESET = "password_reset", "Password reset"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        # Nothing to send any more (e.g. the order was deleted); not an error.
        SKIPPED = "skipped", "Skipped"
        # Gave up after NOTIFICATIONS_MAX_ATTEMPTS attempts; `last_error` says why.
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    key = models.CharField(max_length=255, unique=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Last time the message was handed to the broker; NULL until the broker took it once.
    # For staff reading a message's history (admin); timing is next_attempt_at's alone.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # While pending: when the drain publishes it (again) if no worker has sent it by then,
    # after a lost publication, a dead worker or a failed attempt; NULL: at the next drain.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    recipients = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The drain's scan: pending messages that are due.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="notifications_outbox_due",
            ),
        ]

    def __str__(self) -> str:
        return self.key


class LowStockAlert(models.Model):
    """A variant's stock fell below settings.LOW_STOCK_THRESHOLD at `raised_at`.

    At most one alert per variant is open (`resolved_at` NULL) at a time: a sale that keeps the
    stock low raises no new alert; a restock to the threshold or above resolves it, so the next
    fall alerts again. One alert, one email.
    """

    variant = models.ForeignKey(
        "catalog.ProductVariant", on_delete=models.CASCADE, related_name="low_stock_alerts"
    )
    stock_quantity = models.PositiveIntegerField()
    threshold = models.PositiveIntegerField()
    raised_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["variant"],
                condition=models.Q(resolved_at__isnull=True),
                name="notifications_one_open_low_stock_alert",
            ),
        ]

    def __str__(self) -> str:
        return f"Variant {self.variant_id}: {self.stock_quantity} < {self.threshold}"


class BackInStockSubscription(models.Model):
    """Someone asked to be emailed when an out-of-stock variant is back in stock.

    A customer's subscription names the customer (the email goes to their account's address
    as it is when sent, and nowhere once the account is anonymised); a guest's holds the
    email given. The rise of the variant's stock above zero that first follows ends it
    (`notified_at`, set in the transaction that raised the stock, with its one email queued:
    catalog.stock). At most one open subscription per variant and person, so subscribing
    twice keeps one; once notified, the same person may subscribe again.
    """

    variant = models.ForeignKey(
        "catalog.ProductVariant",
        on_delete=models.CASCADE,
        related_name="back_in_stock_subscriptions",
    )
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="back_in_stock_subscriptions",
    )
    # A guest's address, lower-cased; blank for a customer's subscription.
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Also the index of the stock module's lookup of a variant's open subscriptions
            # (variant first). NULLs not distinct: a guest's has no customer.
            models.UniqueConstraint(
                fields=["variant", "customer", "email"],
                condition=models.Q(notified_at__isnull=True),
                nulls_distinct=False,
                name="notifications_one_open_back_in_stock_subscription",
            ),
            models.CheckConstraint(
                condition=(models.Q(customer__isnull=False) & models.Q(email=""))
                | (models.Q(customer__isnull=True) & ~models.Q(email="")),
                name="notifications_back_in_stock_customer_or_email",
            ),
        ]

    def __str__(self) -> str:
        who = f"customer {self.customer_id}" if self.customer_id else self.email
        return f"Variant {self.variant_id}: {who}"
