"""Refund amounts: what giving back some units of an order, or its shipping, returns to the
customer (store currency, Decimal, to the cent). The one home of these amounts; the order
workflow (orders.services.refund_order) records and sends them.

Rules (docs/pricing.md, "Refunds", has worked examples; each is a test):

1. What a line charged is its total after its discounts, with its tax when the order's
   prices were net of tax (tax added on top): `line_total - discount_total (+ tax_total)`.
   Shipping charged `shipping_total`, with its tax when net: the order's tax less its
   lines' tax.
2. Refunding `q` of a line's `Q` units gives back `charged * q / Q`, rounded half-up to the
   cent; the refund that takes the line's last units gives back what is left of it
   (charged less what earlier refunds of it gave), so that refunding a line in parts gives
   back exactly what it charged, never a cent more or less.
3. Shipping is refunded whole or not at all, once.
4. A refund of a free amount (no lines) is the amount asked, within what is left to refund
   of the payment (checked by the payment's conditional update, not here).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from storefront.pricing.quotes import ZERO, money


@dataclass(frozen=True)
class LineRefund:
    """`quantity` units of order item `item_id` given back for `amount` (store currency)."""

    item_id: int
    quantity: int
    amount: Decimal


def taxed_on_top(order) -> bool:
    """Whether the order's prices were net of tax (tax added on top of them), read from its
    own amounts, so that a later change of settings.PRICES_INCLUDE_TAX does not alter it:
    total = subtotal - discounts + shipping (+ tax when net)."""
    return order.tax_total != 0 and order.total == (
        order.subtotal - order.discount_total + order.shipping_total + order.tax_total
    )


def line_charged(item, *, net: bool) -> Decimal:
    """Rule 1: what order item `item` charged in all (store currency)."""
    charged = item.line_total - item.discount_total
    return charged + item.tax_total if net else charged


def shipping_charged(order, items: Iterable) -> Decimal:
    """Rule 1: what the order charged for shipping, with its tax when net (store currency);
    `items` are all of the order's items."""
    if not taxed_on_top(order):
        return order.shipping_total
    return order.shipping_total + order.tax_total - sum((item.tax_total for item in items), ZERO)


def line_refunds(
    *,
    order,
    items: Mapping[int, object],
    quantities: Mapping[int, int],
    refunded_units: Mapping[int, int],
    refunded_amounts: Mapping[int, Decimal],
) -> list[LineRefund]:
    """Rule 2: the amount of refunding `quantities` ({item id: units}) of the order's
    `items` ({item id: OrderItem}), given the units and amounts of earlier refunds of each
    item (`refunded_units`, `refunded_amounts`). The caller has checked that each quantity
    is at least 1 and at most the units not yet refunded."""
    net = taxed_on_top(order)
    refunds = []
    for item_id, quantity in quantities.items():
        item = items[item_id]
        charged = line_charged(item, net=net)
        done_units = refunded_units.get(item_id, 0)
        done_amount = refunded_amounts.get(item_id, ZERO)
        if done_units + quantity >= item.quantity:
            amount = charged - done_amount
        else:
            amount = min(money(charged * quantity / item.quantity), charged - done_amount)
        refunds.append(LineRefund(item_id=item_id, quantity=quantity, amount=max(amount, ZERO)))
    return refunds
