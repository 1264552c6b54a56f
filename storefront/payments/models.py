"""Payments: one per order, its events and its refunds. No card data is ever stored, only the
provider's references (clients send a provider token or confirm on the provider's page)."""

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from storefront.core.models import TimeStampedModel


class Payment(TimeStampedModel):
    """The payment of one order: `amount` in `currency` (ISO 4217), via `method`, held by
    the provider named in `provider` ("" until one took it).

    Status moves only along TRANSITIONS (storefront/payments/services.py), each change with
    a PaymentEvent:

        pending ──> requires_action ──> authorised ──> completed ──> partially_refunded
           │              │                 │              │               │
           └──> failed <──┘                 └──> voided    └──> refunded <─┘

    pending, requires_action and failed may also complete or be voided directly, and a
    failed payment may be tried again. `captured_amount` is what the provider captured,
    `refunded_amount` what was refunded of it (never more: a CHECK constraint, and the
    refund's conditional update, storefront/payments/services.py reserve_refund).
    Card payments hold only provider references and, for the order's owner, the provider's
    `client_secret` of the payment (a PaymentIntent's, which confirms it in the browser; it
    cannot capture or refund). Card numbers never reach Storefront.
    """

    class Method(models.TextChoices):
        CASH_ON_DELIVERY = "cash_on_delivery", "Cash on delivery"
        CARD = "card", "Card"

    # Methods paid when the goods are handed over; an order paid any other way must be paid
    # before it ships (Order.PAID_BEFORE), and expires unpaid (orders.services.expire_order).
    PAID_ON_DELIVERY: ClassVar[frozenset[str]] = frozenset({Method.CASH_ON_DELIVERY})

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        REQUIRES_ACTION = "requires_action", "Requires action"
        AUTHORISED = "authorised", "Authorised"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded", "Refunded"
        VOIDED = "voided", "Voided"

    # The one table of allowed status changes: from -> the statuses it may move to.
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.PENDING: frozenset(
            {
                Status.REQUIRES_ACTION,
                Status.AUTHORISED,
                Status.COMPLETED,
                Status.FAILED,
                Status.VOIDED,
            }
        ),
        Status.REQUIRES_ACTION: frozenset(
            {Status.AUTHORISED, Status.COMPLETED, Status.FAILED, Status.VOIDED}
        ),
        Status.FAILED: frozenset(
            {
                Status.REQUIRES_ACTION,
                Status.AUTHORISED,
                Status.COMPLETED,
                Status.FAILED,
                Status.VOIDED,
            }
        ),
        Status.AUTHORISED: frozenset({Status.COMPLETED, Status.VOIDED}),
        Status.COMPLETED: frozenset({Status.PARTIALLY_REFUNDED, Status.REFUNDED}),
        Status.PARTIALLY_REFUNDED: frozenset({Status.PARTIALLY_REFUNDED, Status.REFUNDED}),
        Status.REFUNDED: frozenset(),
        Status.VOIDED: frozenset(),
    }
    # No money has moved: the order still waits for its payment (and expires without it).
    UNPAID: ClassVar[frozenset[str]] = frozenset(
        {Status.PENDING, Status.REQUIRES_ACTION, Status.FAILED}
    )
    # Money was captured (some may have been refunded since).
    CAPTURED: ClassVar[frozenset[str]] = frozenset(
        {Status.COMPLETED, Status.PARTIALLY_REFUNDED, Status.REFUNDED}
    )

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="payment")
    method = models.CharField(
        max_length=32, choices=Method.choices, default=Method.CASH_ON_DELIVERY
    )
    provider = models.CharField(
        max_length=32, blank=True, help_text='The provider holding it, e.g. "stripe", "sandbox".'
    )
    status = models.CharField(
        max_length=24, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    captured_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    refunded_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    # Authorisation attempts so far: each gets its own idempotency key (a declined card may be
    # tried again with another token), a retry of the same attempt reuses it.
    attempts = models.PositiveIntegerField(default=0)
    provider_reference = models.CharField(
        max_length=255,
        blank=True,
        db_index=True,
        help_text="The provider's id of the payment (e.g. a PaymentIntent's pi_...).",
    )
    client_secret = models.CharField(
        max_length=255,
        blank=True,
        help_text="The provider's secret for confirming the payment in the customer's browser.",
    )
    failure_code = models.CharField(
        max_length=64,
        blank=True,
        help_text="Why the last attempt failed, e.g. card_declined.",
    )
    refund_reference = models.CharField(
        max_length=255, blank=True, help_text="The provider's id of the last refund."
    )
    authorised_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="payments_amount_gte_0"),
            models.CheckConstraint(
                condition=models.Q(captured_amount__gte=0, captured_amount__lte=models.F("amount")),
                name="payments_captured_within_amount",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    refunded_amount__gte=0, refunded_amount__lte=models.F("captured_amount")
                ),
                name="payments_refunded_within_captured",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.amount} {self.currency} ({self.status})"

    @property
    def refundable_amount(self) -> Decimal:
        """What may still be refunded: captured less refunded (store currency)."""
        return self.captured_amount - self.refunded_amount


class PaymentEvent(models.Model):
    """A status change of a payment: from which status to which, what the provider said
    (`reference`, `amount` moved if any, store currency) and who or what caused it
    (`source`: checkout, webhook, reconciliation, expiry, staff, ...)."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=24)
    to_status = models.CharField(max_length=24)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    reference = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=32)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.payment_id}: {self.from_status} -> {self.to_status} ({self.source})"


class Refund(TimeStampedModel):
    """Money given back on an order's payment: `amount` (store currency, > 0), of which
    `shipping_amount` for shipping, the rest for `lines` (RefundLine) or a free amount.

    Status: pending (reserved on the payment, the provider not yet answered), succeeded,
    failed (the reservation is given back). `source` says who asked: staff, a return, a
    cancellation, or the provider (a refund made in the provider's dashboard, learnt from
    its webhook). `restock`: whether the lines' units went back in stock.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        STAFF = "staff", "Staff"
        RETURN = "return", "Return"
        CANCELLATION = "cancellation", "Cancellation"
        PROVIDER = "provider", "Provider"

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    shipping_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    reason = models.CharField(max_length=500, blank=True)
    restock = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.STAFF)
    provider_reference = models.CharField(max_length=255, blank=True, db_index=True)
    failure_code = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payments_refund_gt_0"),
            models.CheckConstraint(
                condition=models.Q(shipping_amount__gte=0, shipping_amount__lte=models.F("amount")),
                name="payments_refund_shipping_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} of order {self.order_id} ({self.status})"


class RefundLine(models.Model):
    """`quantity` units of an order item refunded, for `amount` (store currency: their share
    of the line's total after discounts, tax included; storefront/pricing/refunds.py)."""

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    order_item = models.ForeignKey(
        "orders.OrderItem", on_delete=models.PROTECT, related_name="refund_lines"
    )
    quantity = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="payments_refund_line_quantity_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x item {self.order_item_id}: {self.amount}"


class WebhookEvent(models.Model):
    """A provider's webhook event, recorded once by its id: a second delivery of the same
    event finds it here and changes nothing."""

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=128)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="payments_webhook_event_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id} ({self.type})"


class SandboxPayment(models.Model):
    """The sandbox provider's own record of a payment it took (what a real gateway keeps on
    its side), so that it can answer a later capture, void, refund or status query."""

    reference = models.CharField(max_length=64, unique=True)
    # The key of the call that created it: the same key again returns this payment.
    idempotency_key = models.CharField(max_length=255, unique=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=24)
    client_secret = models.CharField(max_length=128, blank=True)
    captured_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    refunded_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    capture = models.BooleanField(default=True)
    # Refunds made, by the idempotency key of their call: {key: {"reference", "amount"}}.
    refunds = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.reference} ({self.status})"
