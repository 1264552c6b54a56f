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
4. Tax: each line is taxed at the rate of its product's tax class for the shipping
   address (the rate of its region if the store has one, else of its country; none: 0),
   shipping at the rate of settings.SHIPPING_TAX_CLASS (default standard). With net prices
   (settings.PRICES_INCLUDE_TAX off) a line's tax is money(amount x rate) and is added to
   the total; with gross prices it is the part of the amount that is tax,
   money(amount x rate / (1 + rate)), and is only shown. Rounded per line and for
   shipping, then summed: tax_total.
5. total = subtotal - discount_total + shipping + tax_total (if net).
"""

import json
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
class DestinationRates:
    """What applies to one shipping address: its country's active shipping methods
    (cheapest first within their positions), whether the store ships anywhere at all (has a
    zone), and the tax rate of each tax class there (fractions; a class without a rate is
    not taxed)."""

    country: str
    methods: tuple[ShippingMethod, ...]
    store_ships: bool
    tax_rates: dict[str, Decimal] = field(default_factory=dict)

    def tax_rate(self, tax_class: str) -> Decimal:
        return self.tax_rates.get(tax_class, Decimal("0"))


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
# one listing it, else the rest of the world's), whether the store has zones at all, and the
# country's tax rates, its region's first (so that they replace the country's). The one-row
# VALUES keeps the flag and the rates when no method matches. Rates travel as text: JSON
# numbers would be read as floats.
RATES_SQL = """
SELECT EXISTS (SELECT 1 FROM pricing_shippingzone),
       (SELECT coalesce(json_agg(json_build_array(t.tax_class, t.rate::text)
                                 ORDER BY t.region = '' DESC), '[]')
        FROM pricing_taxrate t
        WHERE t.country = %(country)s AND (t.region = '' OR upper(t.region) = upper(%(region)s))),
       m.id, m.zone_id, m.code, m.name, m.price, m.free_shipping_threshold, m.min_days,
       m.max_days, m.position
FROM (VALUES (1)) AS one (x)
LEFT JOIN pricing_shippingmethod m ON m.is_active AND m.zone_id = COALESCE(
    (SELECT zone_id FROM pricing_shippingzonecountry WHERE country = %(country)s),
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


def destination_rates(*, country: str, region: str = "") -> DestinationRates:
    """The shipping methods and tax rates for an address in `country` (ISO 3166-1 alpha-2)
    and `region` (as written, compared ignoring case; "" for none): the active methods of the
    zone listing the country, or of the rest-of-the-world zone when none does; whether the
    store has zones at all; each tax class's rate, the region's replacing the country's.
    One query."""
    with connection.cursor() as cursor:
        cursor.execute(RATES_SQL, {"country": country, "region": region})
        rows = cursor.fetchall()
    store_ships, taxes = rows[0][0], rows[0][1]
    if isinstance(taxes, str):  # json, not jsonb: psycopg may hand it over as text
        taxes = json.loads(taxes)
    methods = tuple(
        ShippingMethod(**dict(zip(METHOD_COLUMNS, row[2:], strict=True)))
        for row in rows
        if row[2] is not None
    )
    # Country rates come first, so a region's rate of the same class replaces them.
    tax_rates = {tax_class: Decimal(rate) for tax_class, rate in taxes}
    return DestinationRates(
        country=country, methods=methods, store_ships=store_ships, tax_rates=tax_rates
    )


def build_quote(
    *,
    lines: Sequence["CartItem"],
    rates: DestinationRates | None,
    shipping_method: str | None = None,
) -> Quote:
    """The quote of `lines` (cart items with their variants and products loaded; no query)
    shipped and taxed at `rates` (destination_rates of the shipping address; None: no
    address yet, so no shipping and no tax), with the method coded `shipping_method` or,
    without one, the cheapest.

    Raises ShippingMethodUnavailable (400) when `shipping_method` is given and not offered
    at `rates`. A quote for an address no method ships to has `shipping` null and no
    methods (checkout refuses it: require_shipping).
    """
    prices_include_tax = settings.PRICES_INCLUDE_TAX
    quote_lines = tuple(_line(item, rates, prices_include_tax) for item in lines)
    subtotal = sum((line.line_total for line in quote_lines), ZERO)
    discount_total = sum((line.discount_total for line in quote_lines), ZERO)
    offers = _offers(rates, subtotal=subtotal - discount_total) if rates else ()
    chosen = _choose(offers, rates, shipping_method)
    shipping = chosen.price if chosen else ZERO
    shipping_tax = (
        tax(shipping, rates.tax_rate(settings.SHIPPING_TAX_CLASS), prices_include_tax)
        if rates
        else ZERO
    )
    tax_total = sum((line.tax_total for line in quote_lines), shipping_tax)
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


def tax(amount: Decimal, rate: Decimal, prices_include_tax: bool) -> Decimal:
    """The tax on `amount` (store currency) at `rate` (a fraction), to the cent: on top of
    a net amount, money(amount x rate); within a gross one, money(amount x rate / (1 +
    rate))."""
    if prices_include_tax:
        return money(amount * rate / (1 + rate))
    return money(amount * rate)


def require_shipping(quote: Quote, rates: DestinationRates) -> None:
    """Checkout's rule: a store that ships (has zones) must ship this order. Raises
    ShippingMethodUnavailable (400) when no method ships to the address."""
    if rates.store_ships and quote.shipping is None:
        raise _unavailable(None, rates)


def _line(item: "CartItem", rates: DestinationRates | None, prices_include_tax: bool) -> QuoteLine:
    price = item.variant.price
    total = line_total(unit_price=price, quantity=item.quantity)
    discount = ZERO
    rate = rates.tax_rate(item.variant.product.tax_class) if rates else Decimal("0")
    return QuoteLine(
        item_id=item.pk,
        variant_id=item.variant_id,
        sku=item.variant.sku,
        quantity=item.quantity,
        list_price=price,
        unit_price=price,
        discount_total=discount,
        tax_rate=rate,
        tax_total=tax(total - discount, rate, prices_include_tax),
        line_total=total,
    )


def _offers(rates: DestinationRates, *, subtotal: Decimal) -> tuple[ShippingOffer, ...]:
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
    offers: tuple[ShippingOffer, ...], rates: DestinationRates | None, code: str | None
) -> ShippingOffer | None:
    if code is None:
        # The cheapest; min() keeps the first of equal prices, so position then code decide.
        return min(offers, key=lambda offer: offer.price, default=None)
    for offer in offers:
        if offer.code == code:
            return offer
    raise _unavailable(code, rates)


def _unavailable(code: str | None, rates: DestinationRates | None) -> ShippingMethodUnavailable:
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
