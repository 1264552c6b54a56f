"""Payments: one per order. No card data is ever stored, only the provider's reference."""

from typing import ClassVar

from django.db import models

from storefront.core.models import TimeStampedModel


class Payment(TimeStampedModel):
    """The payment of one order: `amount` in `currency` (ISO 4217), via `method`.

    Status moves pending -> completed | failed, failed -> completed | failed (a declined card
    may be retried), completed -> refunded. Card payments hold only provider references;
    card numbers never reach Storefront (clients send a provider token).
    """

    class Method(models.TextChoices):
        CASH_ON_DELIVERY = "cash_on_delivery", "Cash on delivery"
        CARD = "card", "Card"

    # Methods paid when the goods are handed over; an order paid any other way must be paid
    # before it ships (Order.PAID_BEFORE).
    PAID_ON_DELIVERY: ClassVar[frozenset[str]] = frozenset({Method.CASH_ON_DELIVERY})

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        REFUNDED = "refunded", "Refunded"

    # The one table of allowed status changes: from -> the statuses it may move to.
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.PENDING: frozenset({Status.COMPLETED, Status.FAILED}),
        Status.FAILED: frozenset({Status.COMPLETED, Status.FAILED}),
        Status.COMPLETED: frozenset({Status.REFUNDED}),
        Status.REFUNDED: frozenset(),
    }

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="payment")
    method = models.CharField(
        max_length=32, choices=Method.choices, default=Method.CASH_ON_DELIVERY
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    provider_reference = models.CharField(
        max_length=255, blank=True, help_text="The provider's id of the last charge attempt."
    )
    failure_code = models.CharField(
        max_length=64,
        blank=True,
        help_text="Why the last charge attempt failed, e.g. card_declined.",
    )
    refund_reference = models.CharField(
        max_length=255, blank=True, help_text="The provider's id of the refund."
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="payments_amount_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.amount} {self.currency} ({self.status})"
