"""Pricing errors. Each maps to an HTTP status and a stable `code` (see docs/pricing.md)."""

from storefront.core.exceptions import Conflict, DomainError


class ShippingMethodUnavailable(DomainError):
    """The shipping method asked for is not offered for the address (unknown code, another
    zone's, inactive, or none ships there); nothing changed (HTTP 400).

    `details`: {"shipping_method": <the code asked for, or null>, "country": <ISO code>,
    "offered": [<codes offered for the address>]}.
    """

    code = "shipping_method_unavailable"
    default_message = "This shipping method is not offered for this address."


class PriceChanged(Conflict):
    """The total recomputed at checkout differs from the client's `expected_total`: a price,
    shipping charge or stock changed since its quote; nothing changed (HTTP 409).

    `details`: {"expected_total": <decimal string>, "quote": <the new quote, as
    POST /api/checkout/quote/ answers it>}.
    """

    code = "price_changed"
    default_message = "The total changed since your quote; review the new quote."


class VoucherInvalid(DomainError):
    """The voucher code cannot be used for this quote or order: no voucher has it, it is
    withdrawn (inactive), not valid yet, not for the customer's membership, or the subtotal
    after promotions is below its minimum; nothing changed (HTTP 400).

    `details`: {"voucher_code": <the code as sent>} and, for a minimum not reached,
    "min_subtotal" (decimal string).
    """

    code = "voucher_invalid"
    default_message = "This voucher code is not valid."


class VoucherExpired(DomainError):
    """The voucher's date window has ended; nothing changed (HTTP 400).
    `details`: {"voucher_code", "ends_at" (ISO 8601)}."""

    code = "voucher_expired"
    default_message = "This voucher has expired."


class VoucherExhausted(DomainError):
    """The voucher has no use left: its usage limit is reached, or the customer's own (a
    guest's: the email's) per-customer limit; nothing changed (HTTP 400).
    `details`: {"voucher_code"}."""

    code = "voucher_exhausted"
    default_message = "This voucher has been used as many times as it may be."


class VoucherTakenMeanwhile(Conflict):
    """Checkout found the voucher's last use taken by concurrent orders between reading the
    voucher and claiming a use in its transaction: the order is not placed, no stock is
    sold (HTTP 409, the same code as VoucherExhausted: quote again to see it refused).
    `details`: {"voucher_code"}."""

    code = "voucher_exhausted"
    default_message = "This voucher's last use was taken by another order meanwhile."
