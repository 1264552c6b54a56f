"""The one pricing pipeline: what a cart costs, as a quote.

The cart (its amounts), the quote endpoints and checkout all call build_quote; no amount
is computed anywhere else. Every amount is a Decimal in the store currency
(settings.STORE_CURRENCY), rounded half-up to the cent (money) where a rule divides or
multiplies by a rate. The rules, in the order they apply (docs/pricing.md, with worked
examples that storefront/pricing/tests check):

1. Each line: list_price is the variant's price, unit_price the price charged for one unit
   (today the list price), line_total = unit_price x quantity, rounded per line.
2. subtotal = the sum of the line totals; discount_total = the sum of the line discounts
   (today none).
3. Shipping: the methods offered for the shipping address's country (its zone's active
   methods, or the rest-of-the-world zone's when no zone lists the country). A method's
   price is its flat price, 0 when the subtotal after discounts reaches its
   free-shipping threshold. The quote charges the method asked for; without one, the
   cheapest offered (then by position and code). A store without zones charges nothing.
4. tax_total (today none: no tax rates yet) is added to the total when catalog prices are
   net (settings.PRICES_INCLUDE_TAX off), and only shown when they are gross.
5. total = subtotal - discount_total + shipping + tax (if net).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection

from storefront.core.api.formats import AMOUNT_FIELD, TAX_RATE_FIELD
from storefront.pricing.exceptions import ShippingMethodUnavailable
from storefront.pricing.models import ShippingMethod

if TYPE_CHECKING:
    from storefront.carts.models import CartItem

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(amount: Decimal) -> Decimal:
    """`amount` rounded half-up to the cent (0.005 -> 0.01), the one rounding rule."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def line_total(*, unit_price: Decimal, quantity: int) -> Decimal:
    """The total of `quantity` units at `unit_price` (store currency), to the cent."""
    return money(unit_price * quantity)


@dataclass(frozen=True)
class QuoteLine:
    """One cart line as charged. Amounts in the store currency; quantity in units;
    tax_rate a fraction (0.20 for 20 %)."""

    item_id: int
    variant_id: int
    sku: str
    quantity: int
    list_price: Decimal
    unit_price: Decimal
    discount_total: Decimal
    tax_rate: Decimal
    tax_total: Decimal
    line_total: Decimal


@dataclass(frozen=True)
class ShippingOffer:
    """A shipping method offered for an address, at its price for this quote."""

    code: str
    name: str
    price: Decimal
    min_days: int
    max_days: int


@dataclass(frozen=True)
class ShippingRates:
    """What the store offers for one country: its active methods (cheapest first within
    their positions) and whether the store ships anywhere at all (has a zone)."""

    country: str
    methods: tuple[ShippingMethod, ...]
    store_ships: bool


@dataclass(frozen=True)
class Quote:
    """What a cart costs: its lines, subtotal, discounts, shipping (null when the store
    charges none, or no method ships to the address), taxes and total, in `currency`."""

    lines: tuple[QuoteLine, ...]
    subtotal: Decimal
    discount_total: Decimal
    shipping: ShippingOffer | None
    shipping_methods: tuple[ShippingOffer, ...]
    tax_total: Decimal
    total: Decimal
    currency: str
    prices_include_tax: bool
    applied: tuple[dict[str, Any], ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        """The quote as the API shows it: amounts as decimal strings with two places, tax
        rates with up to four."""
        return {
            "lines": [
                {
                    "item_id": line.item_id,
                    "variant_id": line.variant_id,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "list_price": _amount(line.list_price),
                    "unit_price": _amount(line.unit_price),
                    "discount_total": _amount(line.discount_total),
                    "tax_rate": TAX_RATE_FIELD.to_representation(line.tax_rate),
                    "tax_total": _amount(line.tax_total),
                    "line_total": _amount(line.line_total),
                }
                for line in self.lines
            ],
            "subtotal": _amount(self.subtotal),
            "discount_total": _amount(self.discount_total),
            "shipping": _offer(self.shipping) if self.shipping else None,
            "shipping_methods": [_offer(offer) for offer in self.shipping_methods],
            "tax_total": _amount(self.tax_total),
            "total": _amount(self.total),
            "currency": self.currency,
            "prices_include_tax": self.prices_include_tax,
            "applied": list(self.applied),
        }


# One statement, whatever the setup: the methods of the zone that ships to the country (the
# one listing it, else the rest of the world's), and whether the store has zones at all. The
# one-row VALUES keeps that flag when no method matches.
RATES_SQL = """
SELECT EXISTS (SELECT 1 FROM pricing_shippingzone),
       m.id, m.zone_id, m.code, m.name, m.price, m.free_shipping_threshold, m.min_days,
       m.max_days, m.position
FROM (VALUES (1)) AS one (x)
LEFT JOIN pricing_shippingmethod m ON m.is_active AND m.zone_id = COALESCE(
    (SELECT zone_id FROM pricing_shippingzonecountry WHERE country = %s),
    (SELECT id FROM pricing_shippingzone WHERE rest_of_world))
ORDER BY m.position, m.price, m.code
"""
METHOD_COLUMNS = (
    "id",
    "zone_id",
    "code",
    "name",
    "price",
    "free_shipping_threshold",
    "min_days",
    "max_days",
    "position",
)


def shipping_rates(*, country: str) -> ShippingRates:
    """The active shipping methods for addresses in `country` (ISO 3166-1 alpha-2): those
    of the zone listing it, or of the rest-of-the-world zone when none does; and whether
    the store has zones at all. One query."""
    with connection.cursor() as cursor:
        cursor.execute(RATES_SQL, [country])
        rows = cursor.fetchall()
    methods = tuple(
        ShippingMethod(**dict(zip(METHOD_COLUMNS, row[1:], strict=True)))
        for row in rows
        if row[1] is not None
    )
    return ShippingRates(country=country, methods=methods, store_ships=rows[0][0])


def build_quote(
    *,
    lines: Sequence["CartItem"],
    rates: ShippingRates | None,
    shipping_method: str | None = None,
) -> Quote:
    """The quote of `lines` (cart items with their variants loaded; no query) shipped at
    `rates` (shipping_rates of the shipping address's country; None: no address yet, so no
    shipping), with the method coded `shipping_method` or, without one, the cheapest.

    Raises ShippingMethodUnavailable (400) when `shipping_method` is given and not offered
    at `rates`. A quote for an address no method ships to has `shipping` null and no
    methods (checkout refuses it: require_shipping).
    """
    quote_lines = tuple(_line(item) for item in lines)
    subtotal = sum((line.line_total for line in quote_lines), ZERO)
    discount_total = sum((line.discount_total for line in quote_lines), ZERO)
    tax_total = sum((line.tax_total for line in quote_lines), ZERO)
    offers = _offers(rates, subtotal=subtotal - discount_total) if rates else ()
    chosen = _choose(offers, rates, shipping_method)
    shipping = chosen.price if chosen else ZERO
    prices_include_tax = settings.PRICES_INCLUDE_TAX
    total = subtotal - discount_total + shipping + (ZERO if prices_include_tax else tax_total)
    return Quote(
        lines=quote_lines,
        subtotal=subtotal,
        discount_total=discount_total,
        shipping=chosen,
        shipping_methods=offers,
        tax_total=tax_total,
        total=total,
        currency=settings.STORE_CURRENCY,
        prices_include_tax=prices_include_tax,
    )


def require_shipping(quote: Quote, rates: ShippingRates) -> None:
    """Checkout's rule: a store that ships (has zones) must ship this order. Raises
    ShippingMethodUnavailable (400) when no method ships to the address."""
    if rates.store_ships and quote.shipping is None:
        raise _unavailable(None, rates)


def _line(item: "CartItem") -> QuoteLine:
    price = item.variant.price
    return QuoteLine(
        item_id=item.pk,
        variant_id=item.variant_id,
        sku=item.variant.sku,
        quantity=item.quantity,
        list_price=price,
        unit_price=price,
        discount_total=ZERO,
        tax_rate=Decimal("0"),
        tax_total=ZERO,
        line_total=line_total(unit_price=price, quantity=item.quantity),
    )


def _offers(rates: ShippingRates, *, subtotal: Decimal) -> tuple[ShippingOffer, ...]:
    return tuple(
        ShippingOffer(
            code=method.code,
            name=method.name,
            price=(
                ZERO
                if method.free_shipping_threshold is not None
                and subtotal >= method.free_shipping_threshold
                else method.price
            ),
            min_days=method.min_days,
            max_days=method.max_days,
        )
        for method in rates.methods
    )


def _choose(
    offers: tuple[ShippingOffer, ...], rates: ShippingRates | None, code: str | None
) -> ShippingOffer | None:
    if code is None:
        # The cheapest; min() keeps the first of equal prices, so position then code decide.
        return min(offers, key=lambda offer: offer.price, default=None)
    for offer in offers:
        if offer.code == code:
            return offer
    raise _unavailable(code, rates)


def _unavailable(code: str | None, rates: ShippingRates | None) -> ShippingMethodUnavailable:
    country = rates.country if rates else None
    message = (
        f"No shipping method ships to {country}."
        if code is None
        else f"The shipping method {code!r} is not offered for this address."
    )
    offered = [method.code for method in rates.methods] if rates else []
    return ShippingMethodUnavailable(
        message, details={"shipping_method": code, "country": country, "offered": offered}
    )


def _amount(value: Decimal) -> str:
    return AMOUNT_FIELD.to_representation(value)


def _offer(offer: ShippingOffer) -> dict[str, Any]:
    return {
        "code": offer.code,
        "name": offer.name,
        "price": _amount(offer.price),
        "min_days": offer.min_days,
        "max_days": offer.max_days,
    }
