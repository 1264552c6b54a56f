"""Order reads, with everything the API representations need in a fixed number of queries."""

from django.db.models import Prefetch, QuerySet

from storefront.accounts.models import User
from storefront.orders import guest_access
from storefront.orders.exceptions import OrderNotFound
from storefront.orders.models import Order, OrderEvent
from storefront.payments.models import Refund


def order_list(*, user: User) -> QuerySet[Order]:
    """Orders `user` may see (staff: all; customers: their own), newest first.

    Customer and payment are joined, items and discounts prefetched: a page costs 3 queries
    (plus 1 for the pagination count), whatever the number of orders and items.
    """
    return _shown(Order.objects.visible_to(user)).order_by("-placed_at", "-id")


def _shown(orders: QuerySet[Order]) -> QuerySet[Order]:
    """`orders` with what OrderSerializer shows: customer and payment joined, items and
    discounts prefetched."""
    return orders.select_related("customer", "payment").prefetch_related("items", "discounts")


def _detailed(orders: QuerySet[Order]) -> QuerySet[Order]:
    """`orders` with what OrderDetailSerializer shows: _shown's, and the events with their
    actors."""
    events = Prefetch("events", queryset=OrderEvent.objects.select_related("actor"))
    return _shown(orders).prefetch_related(events)


def order_detail(*, user: User, order_id: int) -> Order:
    """One order `user` may see, with customer, payment, items and events (with their actors).

    3 queries whatever the number of items and events. Raises OrderNotFound (404) for an
    unknown order or another customer's order.
    """
    try:
        return _detailed(Order.objects.visible_to(user)).get(pk=order_id)
    except Order.DoesNotExist:
        raise OrderNotFound() from None


def get_order(*, user: User, order_id: int) -> Order:
    """One order `user` may see, without related rows (for workflows); OrderNotFound (404)."""
    try:
        return Order.objects.visible_to(user).get(pk=order_id)
    except Order.DoesNotExist:
        raise OrderNotFound() from None


def customer_orders(*, customer: User) -> QuerySet[Order]:
    """Every order `customer` placed, oldest first, with payment, items and events (the data
    export of GET /api/me/export/): 3 queries whatever the number of orders."""
    return _detailed(Order.objects.for_customer(customer)).order_by("placed_at", "id")


def guest_order(*, access_token: str) -> Order:
    """The guest order `access_token` opens, with what OrderDetailSerializer shows (3 queries).

    Raises OrderNotFound (404) for a malformed or unknown token, whichever order it is for:
    one order's token opens no other. A guest order keeps its token once a customer has
    claimed it.
    """
    if not guest_access.is_well_formed(access_token):
        raise OrderNotFound()
    try:
        return _detailed(Order.objects).get(access_token_digest=guest_access.digest(access_token))
    except Order.DoesNotExist:
        raise OrderNotFound() from None


def order_refunds(*, order: Order) -> QuerySet[Refund]:
    """The refunds of `order`, oldest first, with their lines (two queries)."""
    return Refund.objects.filter(order=order).prefetch_related("lines").order_by("created_at", "id")
