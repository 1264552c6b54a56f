"""Returns: a customer sends back delivered items, staff refund them.

    requested -> approved | rejected
    approved  -> received (the units go back in stock) | rejected
    received  -> refunded (orders.services.refund_order, for the lines' share after
                 discounts, tax included: docs/pricing.md, "Refunds")

Every change goes through Return.TRANSITIONS with a ReturnEvent and an email to the
customer (orders.emails.enqueue_return_email). Stock goes back through the stock module,
money through the one refund path. The order row is locked for each change, so two
requests for the same units, or a return racing a staff refund, cannot both pass the
quantity checks. Rules in docs/returns.md.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from storefront.accounts.models import User
from storefront.orders import emails, services
from storefront.orders.exceptions import (
    InvalidReturn,
    InvalidReturnTransition,
    ReturnNotAllowed,
    ReturnNotFound,
)
from storefront.orders.models import Order, Return, ReturnEvent, ReturnLine
from storefront.payments.models import Refund

# Returns that still hold their units: a rejected return gives them back to the customer.
HOLDING_UNITS = frozenset(set(Return.Status.values) - {Return.Status.REJECTED})


def return_deadline(order: Order):
    """The last moment the order may be returned (settings.RETURN_WINDOW_DAYS days after its
    delivery), or None before it is delivered."""
    if order.delivered_at is None:
        return None
    return order.delivered_at + timedelta(days=settings.RETURN_WINDOW_DAYS)


def request_return(
    *, order: Order, actor: User | None, lines: list[tuple[int, int, str]]
) -> Return:
    """Open a return of `lines` ((order item id, units, reason) triples) of a delivered
    order, in status requested; the customer is emailed.

    Raises ReturnNotAllowed (409) when the order is not delivered or was delivered more than
    settings.RETURN_WINDOW_DAYS days ago, and InvalidReturn (400) when no line is given, an
    item is not of the order or is given twice, or more units are asked for than were
    ordered less those in the order's other returns (rejected ones excepted). Nothing
    changes when it raises.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        deadline = return_deadline(order)
        if order.status != Order.Status.DELIVERED or deadline is None or timezone.now() > deadline:
            raise ReturnNotAllowed(
                "Only a delivered order can be returned, within "
                f"{settings.RETURN_WINDOW_DAYS} days of its delivery.",
                details={
                    "status": order.status,
                    "delivered_at": order.delivered_at.isoformat() if order.delivered_at else None,
                    "return_window_days": settings.RETURN_WINDOW_DAYS,
                },
            )
        ordered = dict(order.items.values_list("pk", "quantity"))
        returned = dict(
            ReturnLine.objects.filter(
                return_request__order=order, return_request__status__in=HOLDING_UNITS
            )
            .values("order_item_id")
            .annotate(units=Sum("quantity"))
            .values_list("order_item_id", "units")
        )
        if not lines:
            raise InvalidReturn(details={"lines": "Give at least one item to return."})
        errors = services.line_errors(
            order,
            [(item_id, units) for item_id, units, _reason in lines],
            ordered=ordered,
            taken=returned,
            left_to="return",
        )
        if errors:
            raise InvalidReturn(details=errors)
        return_request = Return.objects.create(order=order)
        ReturnLine.objects.bulk_create(
            ReturnLine(
                return_request=return_request, order_item_id=item, quantity=units, reason=reason
            )
            for item, units, reason in lines
        )
        ReturnEvent.objects.create(
            return_request=return_request, actor=actor, to_status=Return.Status.REQUESTED
        )
        emails.enqueue_return_email(return_id=return_request.pk, status=Return.Status.REQUESTED)
    return return_request


def move_return(
    *, return_request: Return, status: str, actor: User | None, note: str = ""
) -> Return:
    """Move a return to `status` (a Return.Status value) along Return.TRANSITIONS, with an
    event and an email. Moving to received puts its units back in stock; moving to refunded
    refunds its lines through orders.services.refund_order (source "return", no second
    restock) and links the refund.

    Raises InvalidReturnTransition (409) for a move the table does not allow (the same
    status again included), and what refund_order raises (InvalidRefund,
    RefundExceedsCaptured, PaymentNotAllowed) when the refund fails. Nothing changes when
    it raises.
    """
    with transaction.atomic():
        Order.objects.select_for_update().filter(pk=return_request.order_id).get()
        return_request = Return.objects.select_for_update().get(pk=return_request.pk)
        from_status = return_request.status
        allowed = Return.TRANSITIONS[from_status]
        if status not in allowed:
            raise InvalidReturnTransition(
                from_status=from_status, to_status=status, allowed=sorted(allowed)
            )
        lines = list(return_request.lines.select_related("order_item"))
        if status == Return.Status.RECEIVED:
            services.restock_lines((line.order_item.variant_id, line.quantity) for line in lines)
        if status == Return.Status.REFUNDED:
            return_request.refund = services.refund_order(
                order=return_request.order,
                actor=actor,
                reason=note or f"Return {return_request.pk}.",
                lines=[(line.order_item_id, line.quantity) for line in lines],
                source=Refund.Source.RETURN,
            )
        return_request.status = status
        return_request.save(update_fields=["status", "refund", "updated_at"])
        ReturnEvent.objects.create(
            return_request=return_request,
            actor=actor,
            from_status=from_status,
            to_status=status,
            note=note,
        )
        emails.enqueue_return_email(return_id=return_request.pk, status=status)
    return return_request


def get_return(*, order: Order, return_id: int) -> Return:
    """Return `return_id` of `order` (an order the caller may see); ReturnNotFound (404)."""
    try:
        return Return.objects.get(order=order, pk=return_id)
    except Return.DoesNotExist:
        raise ReturnNotFound() from None


def order_returns(*, order: Order):
    """The returns of `order`, oldest first, with their lines, events and refund (four
    queries whatever their number)."""
    return (
        Return.objects.filter(order=order)
        .select_related("refund")
        .prefetch_related("lines", "events", "refund__lines")
        .order_by("created_at", "id")
    )
