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
