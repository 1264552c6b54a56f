"""Order endpoints: checkout (customers and guests), order history, guest orders by access
token, cancellation, staff status changes, payment.

Errors use the shape of docs/api.md; codes and examples in docs/checkout.md.
"""

import uuid

from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.filters import OrderingFilter
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from storefront.accounts.exceptions import EmailNotVerified
from storefront.carts import services as carts
from storefront.carts.exceptions import CartNotFound
from storefront.core.api.filters import KnownQueryParameters
from storefront.core.api.schema import raises
from storefront.core.api.throttling import ClientAddressThrottle
from storefront.orders import guest_access, selectors, services
from storefront.orders.api.filters import OrderFilter
from storefront.orders.api.serializers import (
    ChangeOrderStatusSerializer,
    GuestCheckoutSerializer,
    GuestOrderSerializer,
    NoteSerializer,
    OrderDetailSerializer,
    OrderSerializer,
    PayOrderSerializer,
    PlaceOrderSerializer,
    RefundRequestSerializer,
    RefundSerializer,
)
from storefront.orders.exceptions import (
    EmptyCart,
    IdempotencyKeyReused,
    InvalidStatusTransition,
    OrderTooLarge,
    OutOfStock,
    PaymentRequired,
)
from storefront.orders.metrics import count_checkout
from storefront.orders.models import Order
from storefront.payments.exceptions import (
    InvalidPaymentToken,
    InvalidRefund,
    PaymentDeclined,
    PaymentMethodUnavailable,
    PaymentNotAllowed,
    RefundExceedsCaptured,
)
from storefront.pricing.exceptions import (
    PriceChanged,
    ShippingMethodUnavailable,
    VoucherExhausted,
    VoucherExpired,
    VoucherInvalid,
    VoucherTakenMeanwhile,
)

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
GUEST_CANCELLED = "Cancelled by the guest."
MAX_IDEMPOTENCY_KEY_LENGTH = 255

idempotency_key_parameter = OpenApiParameter(
    IDEMPOTENCY_KEY_HEADER,
    # What _idempotency_key takes: printable ASCII, no space at either end (it is stripped).
    {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_IDEMPOTENCY_KEY_LENGTH,
        "pattern": "^[!-~](?:[ -~]*[!-~])?$",
    },
    OpenApiParameter.HEADER,
    description=(
        "Optional, 1-255 printable ASCII characters, e.g. a UUID. Retrying with the same key "
        "and body returns the first order (200, header Idempotent-Replayed: true); the same "
        "key with another body is refused (422 idempotency_key_reused)."
    ),
)


def _idempotency_key(request: Request) -> str | None:
    raw = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if not (0 < len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH and key.isascii() and key.isprintable()):
        raise exceptions.ValidationError(
            {IDEMPOTENCY_KEY_HEADER: ["Send 1 to 255 printable ASCII characters."]}
        )
    return key


class OrderDetailMixin:
    request: Request

    def order_response(self, order_id: int, status_code: int = status.HTTP_200_OK, **kwargs):
        order = selectors.order_detail(user=self.request.user, order_id=order_id)
        return self.serialized(order, status_code, **kwargs)

    def serialized(self, order, status_code: int = status.HTTP_200_OK, **kwargs) -> Response:
        data = OrderDetailSerializer(order, context={"request": self.request}).data
        return Response(data, status=status_code, **kwargs)


class OrderListCreateView(OrderDetailMixin, ListModelMixin, GenericAPIView):
    serializer_class = OrderSerializer
    filter_backends = [KnownQueryParameters, DjangoFilterBackend, OrderingFilter]
    filterset_class = OrderFilter
    ordering_fields = ["placed_at", "total"]
    ordering = ["-placed_at", "-id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # Schema generation: no user.
            return Order.objects.none()
        return selectors.order_list(user=self.request.user)

    def get(self, request: Request) -> Response:
        """Orders with items and payment, newest first, paginated.

        Customers see their own; staff see every order. Filters: ?status=, ?payment_status=,
        ?placed_after=YYYY-MM-DD, ?placed_before=YYYY-MM-DD (days included),
        ?customer_email=; ?ordering=placed_at|-placed_at|total|-total.
        """
        return self.list(request)

    @extend_schema(
        request=PlaceOrderSerializer,
        parameters=[idempotency_key_parameter],
        responses={201: OrderDetailSerializer, 200: OrderDetailSerializer},
    )
    @raises(
        EmailNotVerified,
        EmptyCart,
        OrderTooLarge,
        PaymentMethodUnavailable,
        ShippingMethodUnavailable,
        VoucherInvalid,
        VoucherExpired,
        VoucherExhausted,
        VoucherTakenMeanwhile,
        OutOfStock,
        PriceChanged,
        IdempotencyKeyReused,
    )
    def post(self, request: Request) -> Response:
        """Check out the customer's cart: 201 + the order (with items, payment and events).

        Body: {shipping_address, billing_address? (each an object, text, or an id of one of
        your addresses; billing defaults to shipping), phone_number, additional_phone?,
        payment_method: "cash_on_delivery" (default) | "card", shipping_method? (a code the
        quote offers; default: the cheapest), voucher_code? (any case), expected_total? (the
        quote's total)}. 400 empty_cart; 400 shipping_method_unavailable; 400
        voucher_invalid, voucher_expired, voucher_exhausted; 409 voucher_exhausted (other
        orders took its last use meanwhile; no order, no stock sold); 409 price_changed (the
        total differs from expected_total: details.quote is the new quote); 400
        payment_method_unavailable (no provider takes the method, e.g. card without a
        gateway); 409 out_of_stock (details.lines: item_id, variant_id, sku,
        requested, available); 422 idempotency_key_reused.
        """
        idempotency_key = _idempotency_key(request)
        serializer = PlaceOrderSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        try:
            order, created = services.place_order(
                customer=request.user, idempotency_key=idempotency_key, **serializer.validated_data
            )
        except OutOfStock:
            count_checkout("out_of_stock")
            raise
        if created:
            count_checkout("placed")
            location = request.build_absolute_uri(
                reverse("order-detail", kwargs={"order_id": order.pk})
            )
            # place_order hands back the order with its lines, event and payment loaded.
            return self.serialized(order, status.HTTP_201_CREATED, headers={"Location": location})
        return self.order_response(order.pk, headers={"Idempotent-Replayed": "true"})


class OrderDetailView(OrderDetailMixin, APIView):
    @extend_schema(responses=OrderDetailSerializer)
    def get(self, request: Request, order_id: int) -> Response:
        """One order with items, payment and events; 404 for another customer's order."""
        return self.order_response(order_id)


class OrderCancelView(OrderDetailMixin, APIView):
    @extend_schema(request=NoteSerializer, responses=OrderDetailSerializer)
    @raises(PaymentMethodUnavailable, InvalidStatusTransition)
    def post(self, request: Request, order_id: int) -> Response:
        """Cancel a pending or processing order {note?}: stock comes back, a completed payment
        is refunded. 200 + the order; 409 invalid_status_transition once shipped."""
        serializer = NoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = selectors.get_order(user=request.user, order_id=order_id)
        services.cancel_order(
            order=order, actor=request.user, note=serializer.validated_data["note"]
        )
        return self.order_response(order_id)


class OrderStatusView(OrderDetailMixin, APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(request=ChangeOrderStatusSerializer, responses=OrderDetailSerializer)
    @raises(PaymentMethodUnavailable, InvalidStatusTransition, PaymentRequired)
    def post(self, request: Request, order_id: int) -> Response:
        """Staff: move the order to {status, note?} along the transition table.

        200 + the order; 409 invalid_status_transition; 409 payment_required (a card order
        moving to shipped or delivered before it is paid); 403 for customers.
        """
        serializer = ChangeOrderStatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = selectors.get_order(user=request.user, order_id=order_id)
        services.change_order_status(
            order=order,
            status=serializer.validated_data["status"],
            actor=request.user,
            note=serializer.validated_data["note"],
        )
        return self.order_response(order_id)


class OrderPayView(OrderDetailMixin, APIView):
    @extend_schema(request=PayOrderSerializer, responses=OrderDetailSerializer)
    @raises(InvalidPaymentToken, PaymentMethodUnavailable, PaymentDeclined, PaymentNotAllowed)
    def post(self, request: Request, order_id: int) -> Response:
        """Pay a card order with a provider {token} (sandbox: tok_success, tok_declined).

        200 + the order (a completed payment is never charged twice); 402 payment_declined
        (the payment is recorded as failed; retry with another token); 400
        invalid_payment_token; 400 payment_method_unavailable (no card provider configured);
        409 payment_not_allowed (cancelled or cash-on-delivery order).
        """
        serializer = PayOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = selectors.get_order(user=request.user, order_id=order_id)
        try:
            services.pay_order(order=order, token=serializer.validated_data["token"])
        except PaymentDeclined:
            count_checkout("declined")
            raise
        return self.order_response(order_id)


class OrderRefundsView(APIView):
    """The refunds of an order."""

    @extend_schema(responses=RefundSerializer(many=True))
    def get(self, request: Request, order_id: int) -> Response:
        """The order's refunds, oldest first, with their lines; for its customer and staff;
        404 for another customer's order."""
        order = selectors.get_order(user=request.user, order_id=order_id)
        refunds = selectors.order_refunds(order=order)
        return Response(RefundSerializer(refunds, many=True).data)

    @extend_schema(request=RefundRequestSerializer, responses={201: RefundSerializer})
    @raises(InvalidRefund, RefundExceedsCaptured, PaymentNotAllowed, PaymentMethodUnavailable)
    def post(self, request: Request, order_id: int) -> Response:
        """Staff: refund part or all of the order's captured payment {amount?, lines?:
        [{item_id, quantity}], shipping?, reason?, restock?}: lines for their share after
        discounts, tax included (docs/pricing.md, "Refunds"), through the payment's provider.

        201 + the refund; 400 invalid_refund (details name each problem: items not of the
        order, more units than are left to refund, shipping refunded already, nothing
        captured); 409 refund_exceeds_captured (more than is left to refund, e.g. the second
        of two concurrent refunds); 409 payment_not_allowed (the provider refused); 403 for
        customers. Nothing changes on an error.
        """
        if not request.user.is_staff:
            raise exceptions.PermissionDenied()
        serializer = RefundRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = selectors.get_order(user=request.user, order_id=order_id)
        refund = services.refund_order(
            order=order,
            actor=request.user,
            reason=data["reason"],
            amount=data.get("amount"),
            lines=[(line["item_id"], line["quantity"]) for line in data.get("lines", [])],
            shipping=data["shipping"],
            restock=data["restock"],
        )
        refund = selectors.order_refunds(order=order).get(pk=refund.pk)
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


class OrderPaymentCompleteView(OrderDetailMixin, APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(request=None, responses=OrderDetailSerializer)
    @raises(PaymentNotAllowed)
    def post(self, request: Request, order_id: int) -> Response:
        """Staff: record the cash of a cash-on-delivery order as received (idempotent).

        200 + the order; 409 payment_not_allowed for card payments and cancelled orders.
        """
        order = selectors.get_order(user=request.user, order_id=order_id)
        services.complete_cash_on_delivery_payment(order=order, actor=request.user)
        return self.order_response(order_id)


class GuestCheckoutView(APIView):
    """Check out a guest cart: the order of someone without an account."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (ClientAddressThrottle,)
    throttle_scope = "guest_checkout"

    @extend_schema(
        request=GuestCheckoutSerializer,
        parameters=[idempotency_key_parameter],
        responses={201: GuestOrderSerializer, 200: GuestOrderSerializer},
    )
    @raises(
        CartNotFound,
        EmptyCart,
        OrderTooLarge,
        PaymentMethodUnavailable,
        ShippingMethodUnavailable,
        VoucherInvalid,
        VoucherExpired,
        VoucherExhausted,
        VoucherTakenMeanwhile,
        OutOfStock,
        PriceChanged,
        IdempotencyKeyReused,
    )
    def post(self, request: Request, token: uuid.UUID) -> Response:
        """Place an order from the guest cart `token`: 201 + the order and its `access_token`.

        Body: {email, shipping_address (an object or text), billing_address? (the same;
        default: the shipping address), phone_number, additional_phone?, payment_method,
        shipping_method?, voucher_code?, expected_total?}. The same rules as POST
        /api/orders/: Idempotency-Key (scoped to this cart; a replay answers 200 with the
        same order and token, header Idempotent-Replayed: true), stock sold in the same
        transaction, the cart emptied, and the same error codes; 404 for an unknown cart.
        The order has no customer: `access_token` opens it at /api/guest-orders/{token}/ (the
        confirmation email to `email` carries the link). Throttled per client address
        (THROTTLE_RATE_GUEST_CHECKOUT, 429 throttled).
        """
        idempotency_key = _idempotency_key(request)
        serializer = GuestCheckoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cart = carts.get_guest_cart(token=token)
        try:
            order, created = services.place_guest_order(
                cart=cart, idempotency_key=idempotency_key, **serializer.validated_data
            )
        except OutOfStock:
            count_checkout("out_of_stock")
            raise
        if not created:
            return guest_order_response(
                request,
                selectors.guest_order(
                    access_token=guest_access.access_token(order_number=order.number)
                ),
                headers={"Idempotent-Replayed": "true"},
            )
        count_checkout("placed")
        access_token = guest_access.access_token(order_number=order.number)
        location = request.build_absolute_uri(
            reverse("guest-order-detail", kwargs={"access_token": access_token})
        )
        return guest_order_response(
            request, order, status.HTTP_201_CREATED, headers={"Location": location}
        )


def guest_order_response(
    request: Request, order: Order, status_code: int = status.HTTP_200_OK, **kwargs
) -> Response:
    data = GuestOrderSerializer(order, context={"request": request}).data
    return Response(data, status=status_code, **kwargs)


class GuestOrderView(APIView):
    """A guest order, opened by its access token."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(responses=GuestOrderSerializer)
    def get(self, request: Request, access_token: str) -> Response:
        """The guest order `access_token` opens, as GET /api/orders/{id}/ shows an order, plus
        its access_token; 404 for any other token."""
        return guest_order_response(request, selectors.guest_order(access_token=access_token))


class GuestOrderCancelView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(request=NoteSerializer, responses=GuestOrderSerializer)
    @raises(PaymentMethodUnavailable, InvalidStatusTransition)
    def post(self, request: Request, access_token: str) -> Response:
        """Cancel the guest order {note?} under the customer rules (pending or processing):
        stock comes back, a completed payment is refunded. 200 + the order; 409
        invalid_status_transition once shipped; 404 for an unknown token."""
        order = selectors.guest_order(access_token=access_token)
        serializer = NoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.cancel_order(
            order=order, actor=None, note=serializer.validated_data["note"] or GUEST_CANCELLED
        )
        return guest_order_response(request, selectors.guest_order(access_token=access_token))


class GuestOrderPayView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(request=PayOrderSerializer, responses=GuestOrderSerializer)
    @raises(InvalidPaymentToken, PaymentMethodUnavailable, PaymentDeclined, PaymentNotAllowed)
    def post(self, request: Request, access_token: str) -> Response:
        """Pay the guest order's card payment with a provider {token}, as POST
        /api/orders/{id}/pay/ does (same answers); 404 for an unknown access token."""
        # The token first: a wrong one answers 404 whatever the body.
        order = selectors.guest_order(access_token=access_token)
        serializer = PayOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.pay_order(order=order, token=serializer.validated_data["token"])
        except PaymentDeclined:
            count_checkout("declined")
            raise
        return guest_order_response(request, selectors.guest_order(access_token=access_token))
