"""Quote endpoints: what the cart costs before checkout, with the same pipeline checkout
charges (storefront/pricing/quotes.py). Errors use the shape of docs/api.md."""

import uuid

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from storefront.accounts import addresses
from storefront.carts import services as carts
from storefront.carts.exceptions import CartNotFound
from storefront.carts.models import CartItem
from storefront.core.api.schema import raises
from storefront.core.api.throttling import ClientAddressThrottle
from storefront.pricing import quotes, vouchers
from storefront.pricing.api.serializers import (
    GuestQuoteRequestSerializer,
    QuoteRequestSerializer,
    QuoteSerializer,
)
from storefront.pricing.exceptions import (
    ShippingMethodUnavailable,
    VoucherExhausted,
    VoucherExpired,
    VoucherInvalid,
)


def quote_response(lines, data: dict, *, customer, email: str | None) -> Response:
    """The quote of `lines` for `customer` (None: a guest, whose per-customer voucher uses
    count by `email`) as the request `data` asks: shipping address, method, voucher."""
    _, shipping = addresses.snapshot(data["shipping_address"])
    context = quotes.quote_context(
        country=shipping["country"],
        region=shipping["region"],
        membership=quotes.membership_of(customer),
        voucher_code=data.get("voucher_code"),
    )
    quote = quotes.build_quote(
        lines=lines, context=context, shipping_method=data.get("shipping_method")
    )
    if quote.voucher is not None:
        vouchers.check_customer_uses(quote.voucher, customer=customer, email=email)
    return Response(quote.as_json())


def quote_lines(cart_items: QuerySet[CartItem]) -> list[CartItem]:
    """The cart items a quote prices, oldest first, with what it reads of them (1 query)."""
    return list(quotes.with_promotion_targets(cart_items).order_by("id"))


class CustomerQuoteView(APIView):
    @extend_schema(request=QuoteRequestSerializer, responses=QuoteSerializer)
    @raises(ShippingMethodUnavailable, VoucherInvalid, VoucherExpired, VoucherExhausted)
    def post(self, request: Request) -> Response:
        """What the customer's cart costs shipped to {shipping_address, shipping_method?,
        voucher_code?}, at the prices of the customer's membership tier.

        200 + the quote (an empty cart quotes 0.00). shipping_address: an object, text or
        an id of your addresses, as at checkout. 400 shipping_method_unavailable for a
        method not offered for the address; 400 voucher_invalid, voucher_expired or
        voucher_exhausted for a voucher that cannot be used. Checkout with the quote's
        `total` as `expected_total` charges exactly it, or answers 409 price_changed.
        """
        serializer = QuoteRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        lines = quote_lines(CartItem.objects.filter(cart__customer=request.user))
        return quote_response(
            lines, serializer.validated_data, customer=request.user, email=request.user.email
        )


class GuestQuoteView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (ClientAddressThrottle,)
    throttle_scope = "guest_checkout"

    @extend_schema(request=GuestQuoteRequestSerializer, responses=QuoteSerializer)
    @raises(
        CartNotFound, ShippingMethodUnavailable, VoucherInvalid, VoucherExpired, VoucherExhausted
    )
    def post(self, request: Request, token: uuid.UUID) -> Response:
        """What the guest cart `token` costs shipped to {shipping_address (object or text),
        shipping_method?, voucher_code?, email?}: as POST /api/checkout/quote/, at list
        prices; `email` counts a voucher's per-customer uses as checkout will. 404 for an
        unknown cart."""
        serializer = GuestQuoteRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cart = carts.get_guest_cart(token=token)
        data = serializer.validated_data
        lines = quote_lines(CartItem.objects.filter(cart=cart))
        return quote_response(lines, data, customer=None, email=data.get("email"))
