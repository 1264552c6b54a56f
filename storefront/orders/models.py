"""Orders: what a customer bought, at which price, and how the order moved since.

Order items are snapshots (names, SKU, unit price at the time of sale), so later catalog
changes never alter a placed order. Amounts are Decimal in `currency` (ISO 4217).
"""

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from storefront.core.models import TimeStampedModel


class OrderQuerySet(models.QuerySet["Order"]):
    def for_customer(self, customer) -> "OrderQuerySet":
        """The orders placed by one customer."""
        return self.filter(customer=customer)

    def visible_to(self, user) -> "OrderQuerySet":
        """Every order for staff; a customer's own orders otherwise."""
        return self.all() if user.is_staff else self.for_customer(user)

    def guest(self) -> "OrderQuerySet":
        """Orders placed from a guest cart that no customer has claimed yet."""
        return self.filter(customer__isnull=True)


class Order(TimeStampedModel):
    """A placed order. Orders are financial records: a customer with orders cannot be deleted.

    `status` moves only along TRANSITIONS (see orders.services.change_order_status), and
    a card order reaches PAID_BEFORE only with a completed payment; `payment_status`
    mirrors the status of the order's Payment, for filtering.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"

    # The one table of allowed status changes: from -> the statuses it may move to.
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.PENDING: frozenset({Status.PROCESSING, Status.CANCELLED}),
        Status.PROCESSING: frozenset({Status.SHIPPED, Status.CANCELLED}),
        Status.SHIPPED: frozenset({Status.DELIVERED}),
        Status.DELIVERED: frozenset(),
        Status.CANCELLED: frozenset(),
    }
    # Statuses an order paid online (card) reaches only once its payment is completed: the
    # goods leave only when paid. Cash on delivery is paid to the courier, so it ships unpaid.
    PAID_BEFORE: ClassVar[frozenset[str]] = frozenset({Status.SHIPPED, Status.DELIVERED})

    class PaymentStatus(models.TextChoices):
        """Payment.Status, mirrored."""

        PENDING = "pending", "Pending"
        REQUIRES_ACTION = "requires_action", "Requires action"
        AUTHORISED = "authorised", "Authorised"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded", "Refunded"
        VOIDED = "voided", "Voided"

    number = models.CharField(max_length=32, unique=True)
    # Null for a guest order until a customer verifies `email` (orders.services
    # .claim_guest_orders).
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="orders",
        null=True,
        blank=True,
    )
    # The email given at checkout: the customer's at the time, or the guest's (where a guest
    # order's emails go; a customer's go to their current email).
    email = models.EmailField(max_length=254, blank=True, default="")
    # A guest order: the token of the guest cart it was placed from (the scope of its
    # Idempotency-Key), and the SHA-256 of its access token (orders.guest_access), never the
    # token itself.
    guest_cart_token = models.UUIDField(null=True, blank=True, editable=False)
    access_token_digest = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    payment_status = models.CharField(
        max_length=24, choices=PaymentStatus.choices, default=PaymentStatus.PENDING, db_index=True
    )
    # Each address as text (what clients read) and as a postal address
    # (storefront.accounts.addresses: a dict of its FIELDS), both snapshots taken at checkout.
    shipping_address = models.TextField()
    billing_address = models.TextField()
    shipping_address_details = models.JSONField(default=dict)
    billing_address_details = models.JSONField(default=dict)
    phone_number = models.CharField(max_length=32)
    additional_phone = models.CharField(max_length=32, blank=True)
    currency = models.CharField(max_length=3)
    # The quote it was placed at (storefront/pricing/quotes.py), in `currency`:
    # total = subtotal - discount_total + shipping_total (+ tax_total when prices are net).
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    discount_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    shipping_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    tax_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=14, decimal_places=2)
    # The shipping method charged ("" when the store charged no shipping).
    shipping_method_code = models.CharField(max_length=64, blank=True, default="")
    shipping_method_name = models.CharField(max_length=128, blank=True, default="")
    # The voucher the order used (its code as entered, upper-cased, stays if it is deleted);
    # the order holds one of its uses until cancelled (storefront/pricing/vouchers.py).
    voucher = models.ForeignKey(
        "pricing.Voucher", on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    voucher_code = models.CharField(max_length=64, blank=True, default="")
    # Client-chosen key that makes a retried checkout return the first order (Idempotency-Key
    # header); `request_fingerprint` is a hash of the request body it was first used with.
    # NULL, not "", for "no key": the unique constraint must ignore orders placed without one.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    request_fingerprint = models.CharField(max_length=64, blank=True)
    placed_at = models.DateTimeField(default=timezone.now, db_index=True)
    # An order paid online that is still unpaid at this time is cancelled, its stock back
    # (placed_at + settings.ORDER_PAYMENT_TIMEOUT_MINUTES; None: it never expires, e.g. cash
    # on delivery; orders.services.expire_order).
    payment_due_at = models.DateTimeField(null=True, blank=True)
    # When it was delivered: returns are accepted for settings.RETURN_WINDOW_DAYS from then.
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            # A customer's checkouts share one space of keys, a guest cart's another (a guest
            # order keeps its cart's scope once claimed).
            models.UniqueConstraint(
                fields=["customer", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False, guest_cart_token__isnull=True),
                name="orders_order_unique_idempotency_key",
            ),
            models.UniqueConstraint(
                fields=["guest_cart_token", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False, guest_cart_token__isnull=False),
                name="orders_order_unique_guest_idempotency_key",
            ),
            models.CheckConstraint(
                condition=models.Q(customer__isnull=False)
                | models.Q(guest_cart_token__isnull=False),
                name="orders_order_customer_or_guest",
            ),
            models.CheckConstraint(condition=models.Q(total__gte=0), name="orders_total_gte_0"),
        ]
        indexes = [
            models.Index(fields=["customer", "-placed_at"], name="orders_customer_placed"),
            # The expiry task's scan: unpaid orders past their due time.
            models.Index(
                fields=["payment_due_at"],
                name="orders_payment_due",
                condition=models.Q(status="pending", payment_due_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def can_transition_to(self, status: str) -> bool:
        """Whether TRANSITIONS allow moving from the current status to `status`."""
        return status in self.TRANSITIONS.get(self.status, frozenset())

    def can_cancel(self) -> bool:
        """Whether the order may still be cancelled: pending or processing, not yet shipped."""
        return self.can_transition_to(self.Status.CANCELLED)


def _largest_value(field: models.DecimalField) -> Decimal:
    """The largest value a DECIMAL(max_digits, decimal_places) column holds."""
    return Decimal(10) ** (field.max_digits - field.decimal_places) - Decimal(1).scaleb(
        -field.decimal_places
    )


# The largest total an order can record (Order.total is DECIMAL(14, 2): 999,999,999,999.99).
# A cart may not hold more (carts.services), so that every cart can be checked out.
MAX_ORDER_TOTAL = _largest_value(Order._meta.get_field("total"))


class OrderItem(models.Model):
    """One line of an order: a snapshot of the variant as sold, `quantity` units at `unit_price`."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.SET_NULL, null=True, related_name="order_items"
    )
    variant = models.ForeignKey(
        "catalog.ProductVariant", on_delete=models.SET_NULL, null=True, related_name="order_items"
    )
    product_name = models.CharField(max_length=255)
    variant_name = models.CharField(max_length=255, blank=True)
    sku = models.CharField("SKU", max_length=64)
    # The quote's line (storefront/pricing/quotes.py): the variant's price, the price charged
    # per unit, the line's discount, its tax rate (a fraction) and tax; store currency.
    list_price = models.DecimalField(max_digits=12, decimal_places=2)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField()
    discount_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4, default=0)
    tax_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    line_total = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="orders_item_quantity_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class OrderDiscount(models.Model):
    """A discount the order was placed with, as its quote's `applied` listed it: a
    promotion, the voucher or the membership discount, and what it took off (store
    currency; for a free-shipping voucher, the shipping price waived). The promotion or
    voucher itself is kept while it exists; code and name are snapshots."""

    class Kind(models.TextChoices):
        PROMOTION = "promotion", "Promotion"
        VOUCHER = "voucher", "Voucher"
        MEMBERSHIP = "membership", "Membership"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="discounts")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    code = models.CharField(max_length=64)
    name = models.CharField(max_length=128, blank=True)
    description = models.CharField(max_length=255, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    promotion = models.ForeignKey(
        "pricing.Promotion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    voucher = models.ForeignKey(
        "pricing.Voucher", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["kind", "code"], name="orders_discount_kind_code")]

    def __str__(self) -> str:
        return f"{self.kind} {self.code}: {self.amount}"


class OrderEvent(models.Model):
    """A status change of an order: who moved it, when, from which status to which, and why
    (`note`, free text; `reason`, a code for what the system did on its own: "expired" for an
    order cancelled unpaid, "payment_canceled" for one whose payment the provider cancelled)."""

    class Reason(models.TextChoices):
        EXPIRED = "expired", "Expired unpaid"
        PAYMENT_CANCELED = "payment_canceled", "Payment cancelled at the provider"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    note = models.TextField(blank=True)
    reason = models.CharField(max_length=32, choices=Reason.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status or '-'} -> {self.to_status}"


class Return(TimeStampedModel):
    """A customer's request to send back delivered items (ReturnLine), within
    settings.RETURN_WINDOW_DAYS of delivery.

    Status moves only along TRANSITIONS (storefront/orders/returns.py), each change with a
    ReturnEvent and an email: requested -> approved | rejected; approved -> received (the
    units go back in stock) | rejected; received -> refunded (through the order's refund,
    `refund`). Rejected and refunded are final.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        RECEIVED = "received", "Received"
        REFUNDED = "refunded", "Refunded"

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.REQUESTED: frozenset({Status.APPROVED, Status.REJECTED}),
        Status.APPROVED: frozenset({Status.RECEIVED, Status.REJECTED}),
        Status.RECEIVED: frozenset({Status.REFUNDED}),
        Status.REJECTED: frozenset(),
        Status.REFUNDED: frozenset(),
    }

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.REQUESTED, db_index=True
    )
    refund = models.OneToOneField(
        "payments.Refund",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="return_request",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Return {self.pk} of order {self.order_id} ({self.status})"


class ReturnLine(models.Model):
    """`quantity` units of an order item the customer sends back, and why."""

    return_request = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    order_item = models.ForeignKey(OrderItem, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="orders_return_line_quantity_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x item {self.order_item_id}"


class ReturnEvent(models.Model):
    """A status change of a return: who moved it, when, from which status to which, and why."""

    return_request = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"return {self.return_request_id}: {self.from_status or '-'} -> {self.to_status}"
