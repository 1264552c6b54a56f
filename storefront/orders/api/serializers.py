"""Order representations and inputs. Amounts are decimal strings in `currency` (ISO 4217)."""

import re
from decimal import Decimal
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from storefront.accounts import addresses
from storefront.accounts.api.serializers import PostalAddressSerializer
from storefront.accounts.models import Address, phone_validator
from storefront.core.api.formats import AMOUNT_FIELD, DATETIME_FIELD, PRICE_FIELD, TAX_RATE_FIELD
from storefront.core.api.schema import NOT_BLANK_PATTERN
from storefront.core.models import MAX_ID, is_valid_id
from storefront.orders import guest_access
from storefront.orders.models import Order, OrderDiscount, OrderEvent, OrderItem, Return
from storefront.payments.models import Payment, Refund

MAX_ADDRESS_LENGTH = 2000
MAX_NOTE_LENGTH = 2000
# 12 to 19 digits, optionally grouped: what a card number (PAN) looks like.
CARD_NUMBER = re.compile(r"[0-9][0-9 -]{10,22}[0-9]")


class OrderShippingMethodSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class AppliedDiscountSerializer(serializers.Serializer):
    """A discount a quote or order applied: {kind, code, name, amount, description}."""

    kind = serializers.ChoiceField(choices=OrderDiscount.Kind.choices)
    code = serializers.CharField(
        help_text="The promotion's or voucher's code, or the membership (bronze, silver, gold)."
    )
    name = serializers.CharField()
    amount = serializers.DecimalField(
        max_digits=None,
        decimal_places=2,
        help_text="What it took off, in the store currency (a free-shipping voucher: the "
        "shipping price waived; a membership: already in the unit prices).",
    )
    description = serializers.CharField()


class OrderItemSerializer(serializers.ModelSerializer):
    """A line as sold: snapshots that later catalog changes never alter (the quote's line:
    list price, unit price charged, discount, tax rate as a fraction, tax, line total)."""

    class Meta:
        model = OrderItem
        fields = [
            "id",
            "product_id",
            "variant_id",
            "product_name",
            "variant_name",
            "sku",
            "list_price",
            "unit_price",
            "quantity",
            "discount_total",
            "tax_rate",
            "tax_total",
            "line_total",
        ]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    client_secret = serializers.SerializerMethodField(
        help_text="The provider's secret that confirms the payment in the customer's browser "
        "(Stripe.js confirmCardPayment; the sandbox's /api/payments/sandbox/confirm/); shown "
        "to the order's owner only, while the payment is not settled; null otherwise.",
    )

    def get_client_secret(self, payment: Payment) -> str | None:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        owner = self.context.get("guest_owner") or (
            user is not None and user.is_authenticated and user.pk == payment.order.customer_id
        )
        return _shown_secret(payment, owner=bool(owner))

    class Meta:
        model = Payment
        fields = [
            "id",
            "method",
            "provider",
            "status",
            "amount",
            "currency",
            "captured_amount",
            "refunded_amount",
            "provider_reference",
            "client_secret",
            "failure_code",
            "refund_reference",
            "authorised_at",
            "completed_at",
            "refunded_at",
            "voided_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class OrderEventSerializer(serializers.ModelSerializer):
    actor_role = serializers.SerializerMethodField(
        help_text='Who made the change: "customer", "staff" or "system".'
    )
    actor_email = serializers.SerializerMethodField(
        help_text="The staff member's or customer's email; shown to staff only."
    )
    reason = serializers.ChoiceField(
        choices=OrderEvent.Reason.choices,
        allow_blank=True,
        read_only=True,
        help_text='Why the system made the change ("expired", "payment_canceled"); "" for none.',
    )

    class Meta:
        model = OrderEvent
        fields = [
            "id",
            "from_status",
            "to_status",
            "note",
            "reason",
            "actor_role",
            "actor_email",
            "created_at",
        ]
        read_only_fields = fields

    def get_actor_role(self, event: OrderEvent) -> str:
        if event.actor_id is None:
            return "system"
        # event.order is the prefetching order (no query).
        return "customer" if event.actor_id == event.order.customer_id else "staff"

    def get_actor_email(self, event: OrderEvent) -> str | None:
        request = self.context.get("request")
        if event.actor is None or request is None or not request.user.is_staff:
            return None
        return event.actor.email


class OrderCustomerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()


class OrderSerializer(serializers.ModelSerializer):
    customer = OrderCustomerSerializer(
        allow_null=True, help_text="Null for a guest order no customer has claimed."
    )
    email = serializers.EmailField(
        help_text="The email given at checkout (a guest order's emails go there)."
    )
    shipping_address = serializers.CharField(
        help_text="The shipping address as text, as printed on a parcel."
    )
    billing_address = serializers.CharField(help_text="The billing address as text.")
    shipping_address_details = PostalAddressSerializer(
        help_text="The shipping address as given at checkout (a text address: its text in "
        "line1, the store's country)."
    )
    billing_address_details = PostalAddressSerializer(help_text="The billing address, as above.")
    shipping_method = OrderShippingMethodSerializer(
        allow_null=True,
        help_text="The shipping method charged (its price: shipping_total); null when the "
        "store charged no shipping.",
    )
    voucher_code = serializers.CharField(
        help_text='The voucher the order used (upper-cased), "" for none.'
    )
    applied = AppliedDiscountSerializer(
        many=True,
        source="discounts",
        help_text="The discounts the order was placed with, as its quote listed them.",
    )
    items = OrderItemSerializer(many=True)
    payment = PaymentSerializer(allow_null=True)
    can_cancel = serializers.BooleanField(
        help_text="Whether the order may still be cancelled (pending or processing)."
    )

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "status",
            "payment_status",
            "customer",
            "email",
            "shipping_address",
            "billing_address",
            "shipping_address_details",
            "billing_address_details",
            "phone_number",
            "additional_phone",
            "currency",
            "subtotal",
            "discount_total",
            "shipping_total",
            "tax_total",
            "total",
            "shipping_method",
            "voucher_code",
            "applied",
            "placed_at",
            "updated_at",
            "payment_due_at",
            "delivered_at",
            "can_cancel",
            "items",
            "payment",
        ]
        read_only_fields = fields

    def to_representation(self, order: Order) -> dict[str, Any]:
        # Built by hand: DRF builds every nested field of a ModelSerializer afresh for each
        # response, which cost more than the whole checkout's SQL. The declared fields above
        # still define the shape (and the OpenAPI schema); orders/tests/test_serializers.py
        # checks that this output equals theirs.
        customer = order.customer
        datetime = DATETIME_FIELD.to_representation
        return {
            "id": order.pk,
            "number": order.number,
            "status": order.status,
            "payment_status": order.payment_status,
            "customer": {"id": customer.pk, "email": customer.email} if customer else None,
            "email": order.email,
            "shipping_address": order.shipping_address,
            "billing_address": order.billing_address,
            # In FIELDS order: jsonb reads its keys back in an order of its own.
            "shipping_address_details": addresses.normalised(order.shipping_address_details),
            "billing_address_details": addresses.normalised(order.billing_address_details),
            "phone_number": order.phone_number,
            "additional_phone": order.additional_phone,
            "currency": order.currency,
            "subtotal": AMOUNT_FIELD.to_representation(order.subtotal),
            "discount_total": AMOUNT_FIELD.to_representation(order.discount_total),
            "shipping_total": AMOUNT_FIELD.to_representation(order.shipping_total),
            "tax_total": AMOUNT_FIELD.to_representation(order.tax_total),
            "total": AMOUNT_FIELD.to_representation(order.total),
            "shipping_method": (
                {"code": order.shipping_method_code, "name": order.shipping_method_name}
                if order.shipping_method_code
                else None
            ),
            "voucher_code": order.voucher_code,
            "applied": [
                {
                    "kind": discount.kind,
                    "code": discount.code,
                    "name": discount.name,
                    "amount": AMOUNT_FIELD.to_representation(discount.amount),
                    "description": discount.description,
                }
                for discount in order.discounts.all()
            ],
            "placed_at": datetime(order.placed_at),
            "updated_at": datetime(order.updated_at),
            "payment_due_at": datetime(order.payment_due_at),
            "delivered_at": datetime(order.delivered_at),
            "can_cancel": order.can_cancel(),
            "items": [
                {
                    "id": item.pk,
                    "product_id": item.product_id,
                    "variant_id": item.variant_id,
                    "product_name": item.product_name,
                    "variant_name": item.variant_name,
                    "sku": item.sku,
                    "list_price": PRICE_FIELD.to_representation(item.list_price),
                    "unit_price": PRICE_FIELD.to_representation(item.unit_price),
                    "quantity": item.quantity,
                    "discount_total": AMOUNT_FIELD.to_representation(item.discount_total),
                    "tax_rate": TAX_RATE_FIELD.to_representation(item.tax_rate),
                    "tax_total": AMOUNT_FIELD.to_representation(item.tax_total),
                    "line_total": AMOUNT_FIELD.to_representation(item.line_total),
                }
                for item in order.items.all()
            ],
            "payment": _payment_representation(order, owner=self._shown_to_owner(order)),
        }

    def _shown_to_owner(self, order: Order) -> bool:
        """Whether the response goes to the order's owner: its customer, or for a guest
        order the holder of its access token (GuestOrderSerializer)."""
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return user is not None and user.is_authenticated and user.pk == order.customer_id


def _payment_representation(order: Order, *, owner: bool) -> dict[str, Any] | None:
    try:
        payment = order.payment
    except Payment.DoesNotExist:
        return None
    datetime = DATETIME_FIELD.to_representation
    return {
        "id": payment.pk,
        "method": payment.method,
        "provider": payment.provider,
        "status": payment.status,
        "amount": AMOUNT_FIELD.to_representation(payment.amount),
        "currency": payment.currency,
        "captured_amount": AMOUNT_FIELD.to_representation(payment.captured_amount),
        "refunded_amount": AMOUNT_FIELD.to_representation(payment.refunded_amount),
        "provider_reference": payment.provider_reference,
        "client_secret": _shown_secret(payment, owner=owner),
        "failure_code": payment.failure_code,
        "refund_reference": payment.refund_reference,
        "authorised_at": datetime(payment.authorised_at),
        "completed_at": datetime(payment.completed_at),
        "refunded_at": datetime(payment.refunded_at),
        "voided_at": datetime(payment.voided_at),
        "created_at": datetime(payment.created_at),
        "updated_at": datetime(payment.updated_at),
    }


def _shown_secret(payment: Payment, *, owner: bool) -> str | None:
    """The payment's client secret for its owner while it is not settled, else None."""
    if owner and payment.client_secret and payment.status in Payment.UNPAID:
        return payment.client_secret
    return None


class OrderDetailSerializer(OrderSerializer):
    events = OrderEventSerializer(many=True)

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "events"]
        read_only_fields = fields

    def to_representation(self, order: Order) -> dict[str, Any]:
        # By hand, as OrderSerializer's; the actor rules are OrderEventSerializer's.
        data = super().to_representation(order)
        events = OrderEventSerializer(context=self.context)
        data["events"] = [
            {
                "id": event.pk,
                "from_status": event.from_status,
                "to_status": event.to_status,
                "note": event.note,
                "reason": event.reason,
                "actor_role": events.get_actor_role(event),
                "actor_email": events.get_actor_email(event),
                "created_at": DATETIME_FIELD.to_representation(event.created_at),
            }
            for event in order.events.all()
        ]
        return data


TEXT_ADDRESS_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_ADDRESS_LENGTH,
    # Not only whitespace: the text is stripped, then may not be blank.
    "pattern": NOT_BLANK_PATTERN,
    "description": "The address as text, as printed on a parcel (its country: the store's).",
}
ADDRESS_ID_SCHEMA = {
    "type": "integer",
    "minimum": 1,
    "maximum": MAX_ID,
    "description": "The id of one of your addresses (GET /api/me/addresses/).",
}


class AddressField(serializers.Field):
    """An address given to checkout: a postal address object (PostalAddressSerializer), the
    text printed on a parcel, or (with `book=True`, the default) the id of one of the
    customer's saved addresses.

    Its value is the postal address as a dict (addresses.normalised), the text, or the id
    (an integer the serializer still has to look up). A malformed object answers 400 with
    the errors of its fields under the field's name, e.g.
    {"shipping_address": {"country": ['"XX" is not a valid choice.']}}.
    """

    default_error_messages = {
        "invalid": "Send the address as an object, as text, or as the id of one of your addresses.",
        "invalid_guest": "Send the address as an object or as text.",
    }

    def __init__(self, *, book: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.book = book
        # Text is judged as a CharField judges it: stripped, not blank, at most
        # MAX_ADDRESS_LENGTH characters, and no NUL or lone surrogate (a text column
        # cannot store them), in the same words.
        self.text = serializers.CharField(max_length=MAX_ADDRESS_LENGTH)

    def to_internal_value(self, data: Any) -> int | str | dict[str, str]:
        if isinstance(data, dict):
            postal = PostalAddressSerializer(data=data)
            if not postal.is_valid():
                raise serializers.ValidationError(postal.errors)
            return addresses.normalised(postal.validated_data)
        if isinstance(data, str):
            return self.text.run_validation(data)
        if self.book and isinstance(data, int) and not isinstance(data, bool) and is_valid_id(data):
            return data
        self.fail("invalid" if self.book else "invalid_guest")

    def to_representation(self, value: Any) -> Any:
        return value


class AddressFieldSchema(OpenApiSerializerFieldExtension):
    """AddressField in the OpenAPI schema: oneOf the object, the text and, for a customer,
    the address id."""

    target_class = AddressField

    def map_serializer_field(self, auto_schema, direction):
        postal = auto_schema.resolve_serializer(PostalAddressSerializer, direction).ref
        choices = [postal, TEXT_ADDRESS_SCHEMA]
        if self.target.book:
            choices.append(ADDRESS_ID_SCHEMA)
        return {"oneOf": choices}


def resolve_address_ids(
    attrs: dict[str, Any], names: tuple[str, ...], customer: Any
) -> dict[str, Any]:
    """`attrs` with every address id under `names` replaced by the postal address of that
    entry of `customer`'s address book (one query, none without ids). Raises a 400
    ValidationError naming each field whose id is not one of the customer's."""
    ids = {attrs[name] for name in names if isinstance(attrs.get(name), int)}
    if not ids:
        return attrs
    book = {
        address.pk: addresses.from_book(address)
        for address in Address.objects.filter(customer=customer, pk__in=ids)
    }
    errors = {
        name: ["No address of yours has this id."]
        for name in names
        if isinstance(attrs.get(name), int) and attrs[name] not in book
    }
    if errors:
        raise serializers.ValidationError(errors)
    return {
        **attrs,
        **{name: book[attrs[name]] for name in names if isinstance(attrs.get(name), int)},
    }


def shipping_method_field() -> serializers.SlugField:
    return serializers.SlugField(
        max_length=64,
        required=False,
        help_text="The code of a shipping method offered for the address (the quote lists "
        "them); default: the cheapest offered.",
    )


def voucher_code_field() -> serializers.CharField:
    return serializers.CharField(
        max_length=64,
        required=False,
        help_text="A voucher code, in any case; 400 voucher_invalid, voucher_expired or "
        "voucher_exhausted when it cannot be used.",
    )


class CheckoutContactSerializer(serializers.Serializer):
    """What every checkout takes besides the addresses: phones, payment method, shipping
    method, voucher code and the total the client expects to pay."""

    phone_number = serializers.CharField(max_length=32, validators=[phone_validator])
    additional_phone = serializers.CharField(
        max_length=32, validators=[phone_validator], required=False, allow_blank=True, default=""
    )
    payment_method = serializers.ChoiceField(
        choices=Payment.Method.choices, default=Payment.Method.CASH_ON_DELIVERY
    )
    shipping_method = shipping_method_field()
    voucher_code = voucher_code_field()
    expected_total = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        help_text="The quote's total: checkout answers 409 price_changed (with the new quote) "
        "instead of charging a different one.",
    )


class PlaceOrderSerializer(CheckoutContactSerializer):
    """Checkout input; the customer (context["request"].user) owns any address id given.

    billing_address defaults to the shipping address. The validated addresses are postal
    address dicts or text (the service's inputs): an id is replaced by the postal address of
    that entry of the customer's address book, and another customer's id answers 400.
    """

    shipping_address = AddressField()
    billing_address = AddressField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs.setdefault("billing_address", attrs["shipping_address"])
        names = ("shipping_address", "billing_address")
        return resolve_address_ids(attrs, names, self.context["request"].user)


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(
        max_length=MAX_NOTE_LENGTH, required=False, allow_blank=True, default=""
    )


class ChangeOrderStatusSerializer(NoteSerializer):
    status = serializers.ChoiceField(choices=Order.Status.choices)


class PayOrderSerializer(serializers.Serializer):
    token = serializers.CharField(
        max_length=255, help_text='A payment provider token (sandbox: "tok_success").'
    )

    def validate_token(self, token: str) -> str:
        # Card numbers must never reach the server, let alone be stored or logged.
        if CARD_NUMBER.fullmatch(token):
            raise serializers.ValidationError("Send a payment provider token, never a card number.")
        return token


class GuestCheckoutSerializer(CheckoutContactSerializer):
    """Guest checkout input: the guest's email, the addresses as objects or text (a guest
    has no address book; billing defaults to shipping), phones and payment method."""

    email = serializers.EmailField(max_length=254)
    shipping_address = AddressField(book=False)
    billing_address = AddressField(book=False, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs.setdefault("billing_address", attrs["shipping_address"])
        return attrs


class GuestOrderSerializer(OrderDetailSerializer):
    """A guest order as GET /api/orders/{id}/ shows it, plus `access_token`: what opens it
    at /api/guest-orders/{access_token}/ (shown in the checkout's answer, and its replay)."""

    access_token = serializers.CharField(help_text="64 hex characters; keep it secret.")

    class Meta(OrderDetailSerializer.Meta):
        fields = [*OrderDetailSerializer.Meta.fields, "access_token"]
        read_only_fields = fields

    def to_representation(self, order: Order) -> dict[str, Any]:
        data = super().to_representation(order)
        data["access_token"] = guest_access.access_token(order_number=order.number)
        return data

    def _shown_to_owner(self, order: Order) -> bool:
        return True  # Only the holder of its access token sees a guest order.


MAX_REFUND_LINES = 1000


class RefundLineRequestSerializer(serializers.Serializer):
    item_id = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="An item of this order (its `id`)."
    )
    quantity = serializers.IntegerField(
        min_value=1, max_value=2_147_483_647, help_text="Units of the item to refund."
    )


class RefundRequestSerializer(serializers.Serializer):
    """POST /api/orders/{id}/refunds/: an amount, lines, shipping, or lines with a smaller
    amount."""

    amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text="Store currency. Alone: a free amount; with lines or shipping: at most what "
        "they charged. Default: what the lines and shipping charged.",
    )
    lines = RefundLineRequestSerializer(
        many=True,
        required=False,
        max_length=MAX_REFUND_LINES,
        help_text="Items and units to refund, each for its share after discounts, with tax.",
    )
    shipping = serializers.BooleanField(
        default=False, help_text="Refund the shipping too (once per order)."
    )
    reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)
    restock = serializers.BooleanField(
        default=False, help_text="Put the lines' units back in stock."
    )


class RefundLineSerializer(serializers.Serializer):
    item_id = serializers.IntegerField(source="order_item_id")
    quantity = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class RefundSerializer(serializers.Serializer):
    """A refund of an order's payment (payments.Refund); amounts in the store currency."""

    id = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    shipping_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    lines = RefundLineSerializer(many=True)
    status = serializers.ChoiceField(choices=Refund.Status.choices)
    source = serializers.ChoiceField(choices=Refund.Source.choices)
    reason = serializers.CharField()
    restock = serializers.BooleanField()
    provider_reference = serializers.CharField()
    created_at = serializers.DateTimeField()


class ReturnLineRequestSerializer(serializers.Serializer):
    item_id = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="A delivered item of this order (its `id`)."
    )
    quantity = serializers.IntegerField(
        min_value=1, max_value=2_147_483_647, help_text="Units of the item to send back."
    )
    reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class ReturnRequestSerializer(serializers.Serializer):
    """POST /api/orders/{id}/returns/: the items and units to send back."""

    lines = ReturnLineRequestSerializer(many=True, min_length=1, max_length=MAX_REFUND_LINES)


class ChangeReturnStatusSerializer(NoteSerializer):
    """POST /api/orders/{id}/returns/{return_id}/status/ (staff)."""

    status = serializers.ChoiceField(
        choices=[
            (value, label)
            for value, label in Return.Status.choices
            if value != Return.Status.REQUESTED
        ],
        help_text="approved, rejected, received (restocks) or refunded (refunds the lines).",
    )


class ReturnLineSerializer(serializers.Serializer):
    item_id = serializers.IntegerField(source="order_item_id")
    quantity = serializers.IntegerField()
    reason = serializers.CharField()


class ReturnEventSerializer(serializers.Serializer):
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()


class ReturnSerializer(serializers.Serializer):
    """A return of an order's delivered items (orders.Return) and its refund once refunded."""

    id = serializers.IntegerField()
    order_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Return.Status.choices)
    lines = ReturnLineSerializer(many=True)
    events = ReturnEventSerializer(many=True)
    refund = RefundSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
