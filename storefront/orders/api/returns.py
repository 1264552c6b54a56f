"""Returns of delivered items: customers request them, staff move them on
(storefront/orders/returns.py; rules in docs/returns.md)."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from storefront.core.api.schema import raises
from storefront.orders import returns, selectors
from storefront.orders.api.serializers import (
    ChangeReturnStatusSerializer,
    ReturnRequestSerializer,
    ReturnSerializer,
)
from storefront.orders.exceptions import (
    InvalidReturn,
    InvalidReturnTransition,
    ReturnNotAllowed,
    ReturnNotFound,
)
from storefront.payments.exceptions import InvalidRefund, PaymentNotAllowed, RefundExceedsCaptured


class OrderReturnsView(APIView):
    """The returns of an order."""

    @extend_schema(responses=ReturnSerializer(many=True))
    def get(self, request: Request, order_id: int) -> Response:
        """The order's returns, oldest first, with lines, events and refund; for its customer
        and staff; 404 for another customer's order."""
        order = selectors.get_order(user=request.user, order_id=order_id)
        return Response(ReturnSerializer(returns.order_returns(order=order), many=True).data)

    @extend_schema(request=ReturnRequestSerializer, responses={201: ReturnSerializer})
    @raises(InvalidReturn, ReturnNotAllowed)
    def post(self, request: Request, order_id: int) -> Response:
        """The order's customer (or staff): return {lines: [{item_id, quantity, reason?}]} of a
        delivered order within RETURN_WINDOW_DAYS (30) days of delivery.

        201 + the return, status requested (the customer is emailed); 400 invalid_return
        (details name each bad line: an item not of the order or given twice, more units
        than ordered less those already in a return); 409 return_not_allowed (not delivered,
        or the window has closed); 404 for another customer's order. Staff may open one for
        the customer (a return agreed by phone). Nothing changes on an error.
        """
        order = selectors.get_order(user=request.user, order_id=order_id)
        serializer = ReturnRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return_request = returns.request_return(
            order=order,
            actor=request.user,
            lines=[
                (line["item_id"], line["quantity"], line["reason"])
                for line in serializer.validated_data["lines"]
            ],
        )
        return_request = returns.order_returns(order=order).get(pk=return_request.pk)
        return Response(ReturnSerializer(return_request).data, status=status.HTTP_201_CREATED)


class OrderReturnDetailView(APIView):
    @extend_schema(responses=ReturnSerializer)
    @raises(ReturnNotFound)
    def get(self, request: Request, order_id: int, return_id: int) -> Response:
        """One return of the order, for its customer and staff; 404 otherwise."""
        order = selectors.get_order(user=request.user, order_id=order_id)
        returns.get_return(order=order, return_id=return_id)
        return Response(ReturnSerializer(returns.order_returns(order=order).get(pk=return_id)).data)


class OrderReturnStatusView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(request=ChangeReturnStatusSerializer, responses=ReturnSerializer)
    @raises(
        ReturnNotFound,
        InvalidReturnTransition,
        InvalidRefund,
        RefundExceedsCaptured,
        PaymentNotAllowed,
    )
    def post(self, request: Request, order_id: int, return_id: int) -> Response:
        """Staff: move the return to {status, note?}: approved or rejected (from requested),
        received (puts the units back in stock) or rejected (from approved), refunded (from
        received: refunds the lines' share, tax included, through the payment's provider).

        200 + the return; 409 invalid_return_transition; for refunded, the errors of
        POST /api/orders/{id}/refunds/ (e.g. 400 invalid_refund when staff refunded those
        units already); 403 for customers. Nothing changes on an error.
        """
        serializer = ChangeReturnStatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = selectors.get_order(user=request.user, order_id=order_id)
        return_request = returns.get_return(order=order, return_id=return_id)
        returns.move_return(
            return_request=return_request,
            status=serializer.validated_data["status"],
            actor=request.user,
            note=serializer.validated_data["note"],
        )
        return Response(ReturnSerializer(returns.order_returns(order=order).get(pk=return_id)).data)
