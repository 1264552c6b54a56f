"""Quote endpoints: what the cart costs before checkout, with the same pipeline checkout
charges (storefront/pricing/quotes.py). Errors use the shape of docs/api.md."""

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from storefront.accounts import addresses
from storefront.carts import selectors as cart_selectors
from storefront.carts import services as carts
from storefront.carts.exceptions import CartNotFound
from storefront.core.api.schema import raises
from storefront.core.api.throttling import ClientAddressThrottle
from storefront.pricing import quotes
from storefront.pricing.api.serializers import (
    GuestQuoteRequestSerializer,
    QuoteRequestSerializer,
    QuoteSerializer,
)
from storefront.pricing.exceptions import ShippingMethodUnavailable


def quote_response(lines, data: dict) -> Response:
    _, shipping = addresses.snapshot(data["shipping_address"])
    rates = quotes.destination_rates(country=shipping["country"], region=shipping["region"])
    quote = quotes.build_quote(
        lines=lines, rates=rates, shipping_method=data.get("shipping_method")
    )
    return Response(quote.as_json())


class CustomerQuoteView(APIView):
    @extend_schema(request=QuoteRequestSerializer, responses=QuoteSerializer)
    @raises(ShippingMethodUnavailable)
    def post(self, request: Request) -> Response:
        """What the customer's cart costs shipped to {shipping_address, shipping_method?}.

        200 + the quote (an empty cart quotes 0.00). shipping_address: an object, text or
        an id of your addresses, as at checkout. 400 shipping_method_unavailable for a
        method not offered for the address. Checkout with the quote's `total` as
        `expected_total` charges exactly it, or answers 409 price_changed.
        """
        serializer = QuoteRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        lines = cart_selectors.customer_cart_items(customer=request.user)
        return quote_response(lines, serializer.validated_data)


class GuestQuoteView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (ClientAddressThrottle,)
    throttle_scope = "guest_checkout"

    @extend_schema(request=GuestQuoteRequestSerializer, responses=QuoteSerializer)
    @raises(CartNotFound, ShippingMethodUnavailable)
    def post(self, request: Request, token: uuid.UUID) -> Response:
        """What the guest cart `token` costs shipped to {shipping_address (object or text),
        shipping_method?}: as POST /api/checkout/quote/; 404 for an unknown cart."""
        serializer = GuestQuoteRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cart = carts.get_guest_cart(token=token)
        return quote_response(cart_selectors.cart_items(cart=cart), serializer.validated_data)
