"""The one pricing pipeline: what a cart costs, as a quote.

The cart (its amounts), the quote endpoints and checkout all call build_quote; no amount
is computed anywhere else. Every amount is a Decimal in the store currency
(settings.STORE_CURRENCY), rounded half-up to the cent (money) where a rule divides or
multiplies by a rate. The rules, in the order they apply (docs/pricing.md, with worked
examples that storefront/pricing/tests check):

1. Member price. Each line: list_price is the variant's price; unit_price the price of one
   unit for the customer's membership tier, member_price(list_price, the tier's
   percentage), rounded per unit (a guest, or a tier of 0 %: the list price); line_total =
   unit_price x quantity, rounded per line. subtotal = the sum of the line totals. What the
   tier took off shows in `applied` (kind "membership"), not in discount_total: it is
   already in the unit prices, as the catalog shows them.
2. Promotion. Each line gets one automatic promotion at most, of those active now, for the
   customer's membership, selecting its product: the highest priority, then the largest
   discount, then the lowest id. A percentage takes money(line_total x value / 100); a
   fixed amount takes min(value, unit_price) off each unit.
3. Voucher (optional code), on what the lines cost after their promotions: a percentage
   takes money(amount x value / 100) of each line; a fixed amount, at most those amounts'
   sum, is shared over the lines in proportion to them, each share rounded down to the cent
   and the cents left given one each to the lines with the largest remainders (then in
   line order); free shipping makes the shipping charged 0. It must be active, in its date
   window, for the membership, and the subtotal after promotions must reach its minimum.
   A line's discount_total is its promotion plus its voucher share; discount_total their
   sum.
4. Shipping: the methods offered for the shipping address's country (its zone's active
   methods, or the rest-of-the-world zone's when no zone lists the country). A method's
   price is its flat price or, with weight bands, the price of the first band whose
   max_grams the cart's weight (the variants' weight_grams x quantity; unknown: 0) does
   not exceed (a heavier cart is not offered the method); 0 when the subtotal after
   discounts (subtotal - discount_total) reaches its free-shipping threshold, or with a
   free-shipping voucher.
   The quote charges the method asked for; without one, the cheapest offered (then by
   position and code). A store without zones charges nothing.
5. Tax: each line is taxed on line_total - discount_total at the rate of its product's
   tax class for the shipping address (the rate of its region if the store has one, else
   of its country; none: 0), shipping at the rate of settings.SHIPPING_TAX_CLASS (default
   standard). With net prices (settings.PRICES_INCLUDE_TAX off) a line's tax is
   money(amount x rate) and is added to the total; with gross prices it is the part of the
   amount that is tax, money(amount x rate / (1 + rate)), and is only shown. Rounded per
   line and for shipping, then summed: tax_total.
6. total = subtotal - discount_total + shipping + tax_total (if net).
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import F, OuterRef, QuerySet
from django.utils import timezone

from storefront.core.api.formats import AMOUNT_FIELD, TAX_RATE_FIELD
from storefront.pricing.exceptions import (
    ShippingMethodUnavailable,
    VoucherExhausted,
    VoucherExpired,
    VoucherInvalid,
)
from storefront.pricing.models import MembershipTier, Promotion, ShippingMethod, Voucher

if TYPE_CHECKING:
    from storefront.carts.models import CartItem

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")


def money(amount: Decimal) -> Decimal:
    """`amount` rounded half-up to the cent (0.005 -> 0.01), the one rounding rule."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def line_total(*, unit_price: Decimal, quantity: int) -> Decimal:
    """The total of `quantity` units at `unit_price` (store currency), to the cent."""
    return money(unit_price * quantity)


def member_price(list_price: Decimal, percentage: Decimal) -> Decimal:
    """The unit price for a member whose tier takes `percentage` (0 to 100) off: the list
    price less that share of it, rounded half-up to the cent per unit. The catalog's SQL
    writes the same rule as round(price * (100 - percentage) / 100, 2) (PostgreSQL rounds
    a numeric's halves away from zero: up, for prices that are never negative)."""
    return money(list_price * (HUNDRED - percentage) / HUNDRED)


def membership_of(user) -> str | None:
    """The membership (User.Membership value) whose tier prices `user` sees: None for an
    anonymous visitor, who pays list prices."""
    return user.membership if user is not None and user.is_authenticated else None


def tier_discount(membership: str | None) -> Decimal:
    """The percentage (0 to 100) the tier of `membership` takes off list prices: 0 for
    None or a membership without a tier row. One query (none for None)."""
    if membership is None:
        return Decimal("0")
    percentage = (
        MembershipTier.objects.filter(code=membership)
        .values_list("discount_percentage", flat=True)
        .first()
    )
    return percentage if percentage is not None else Decimal("0")


def with_promotion_targets(lines: QuerySet["CartItem"]) -> QuerySet["CartItem"]:
    """Cart items with what build_quote matches promotions against: each line's variant
    and product (select_related), `category_path` (its product's category, a treebeard
    path), `collection_ids` and `tag_ids` (its product's). Adds no query: the arrays are
    subqueries of the one that reads the lines."""
    from storefront.catalog.models import Product

    product = OuterRef("variant__product_id")
    return lines.select_related("variant__product").annotate(
        category_path=F("variant__product__category__path"),
        collection_ids=ArraySubquery(
            Product.collections.through.objects.filter(product_id=product).values("collection_id")
        ),
        tag_ids=ArraySubquery(
            Product.tags.through.objects.filter(product_id=product).values("tag_id")
        ),
    )


@dataclass(frozen=True)
class QuoteLine:
    """One cart line as charged. Amounts in the store currency; quantity in units;
    tax_rate a fraction (0.20 for 20 %). `promotion_id`: the promotion it got, if any."""

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
    promotion_id: int | None = None


@dataclass(frozen=True)
class ShippingOffer:
    """A shipping method offered for an address, at its price for this quote."""

    code: str
    name: str
    price: Decimal
    min_days: int
    max_days: int


@dataclass(frozen=True)
class Applied:
    """A discount the quote applied: `kind` "promotion", "voucher" or "membership", the
    promotion's or voucher's code or the membership, and what it took off (store currency;
    a free-shipping voucher: the shipping price waived). The id of the promotion or
    voucher, for the order's record (not shown)."""

    kind: str
    code: str
    name: str
    amount: Decimal
    description: str
    promotion_id: int | None = None
    voucher_id: int | None = None

    def as_json(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "code": self.code,
            "name": self.name,
            "amount": _amount(self.amount),
            "description": self.description,
        }


@dataclass(frozen=True)
class PromotionRule:
    """An active promotion as quotes apply it (Promotion, with what it selects: category
    paths whose subtrees it covers, collection, tag and product ids; all empty: every
    product)."""

    id: int
    code: str
    name: str
    description: str
    kind: str
    value: Decimal
    priority: int
    category_paths: tuple[str, ...]
    collection_ids: frozenset[int]
    tag_ids: frozenset[int]
    product_ids: frozenset[int]

    def selects(self, item: "CartItem") -> bool:
        if not (self.category_paths or self.collection_ids or self.tag_ids or self.product_ids):
            return True
        if item.variant.product_id in self.product_ids:
            return True
        if self.category_paths and any(
            item.category_path.startswith(path) for path in self.category_paths
        ):
            return True
        if self.collection_ids and not self.collection_ids.isdisjoint(item.collection_ids):
            return True
        return bool(self.tag_ids) and not self.tag_ids.isdisjoint(item.tag_ids)

    def discount(self, *, unit_price: Decimal, quantity: int, amount: Decimal) -> Decimal:
        """What it takes off a line of `quantity` units at `unit_price` costing `amount`."""
        if self.kind == Promotion.Kind.PERCENTAGE:
            return money(amount * self.value / HUNDRED)
        return min(self.value, unit_price) * quantity

    def describe(self) -> str:
        if self.description:
            return self.description
        if self.kind == Promotion.Kind.PERCENTAGE:
            return f"{self.value.normalize():f} % off"
        return f"{_amount(self.value)} off each unit"


@dataclass(frozen=True)
class VoucherRule:
    """The voucher a quote was asked for, as stored (Voucher); amounts in the store
    currency, times in UTC."""

    id: int
    code: str
    name: str
    kind: str
    value: Decimal
    min_subtotal: Decimal | None
    starts_at: datetime | None
    ends_at: datetime | None
    usage_limit: int | None
    per_customer_limit: int | None
    tiers: tuple[str, ...]
    times_used: int
    is_active: bool

    def describe(self) -> str:
        if self.kind == Voucher.Kind.PERCENTAGE:
            return f"{self.value.normalize():f} % off the order"
        if self.kind == Voucher.Kind.FIXED:
            return f"{_amount(self.value)} off the order"
        return "Free shipping"


@dataclass(frozen=True)
class QuoteContext:
    """What applies to one cart besides its lines: for the shipping address, its country's
    active shipping methods (cheapest first within their positions), whether the store has
    a zone at all, and each tax class's rate there (fractions; a class without a rate is
    not taxed); for the customer, the membership and its tier (name, percentage), and the
    promotions active now for it; the voucher asked for (`voucher_code` as sent; `voucher`
    None when no voucher has it)."""

    country: str
    methods: tuple[ShippingMethod, ...]
    store_ships: bool
    tax_rates: dict[str, Decimal] = field(default_factory=dict)
    membership: str | None = None
    tier_name: str = ""
    tier_percentage: Decimal = Decimal("0")
    promotions: tuple[PromotionRule, ...] = ()
    voucher_code: str | None = None
    voucher: VoucherRule | None = None

    def tax_rate(self, tax_class: str) -> Decimal:
        return self.tax_rates.get(tax_class, Decimal("0"))


@dataclass(frozen=True)
class Quote:
    """What a cart costs: its lines, subtotal, discounts, shipping (null when the store
    charges none, or no method ships to the address), taxes and total, in `currency`, and
    the discounts applied."""

    lines: tuple[QuoteLine, ...]
    subtotal: Decimal
    discount_total: Decimal
    shipping: ShippingOffer | None
    shipping_methods: tuple[ShippingOffer, ...]
    tax_total: Decimal
    total: Decimal
    currency: str
    prices_include_tax: bool
    applied: tuple[Applied, ...] = ()
    voucher: VoucherRule | None = None

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
            "applied": [applied.as_json() for applied in self.applied],
        }


# One statement, whatever the setup. Its rows are the methods of the zone that ships to the
# country (the one listing it, else the rest of the world's); each row also carries whether
# the store has zones at all, the country's tax rates (its region's after, so that they
# replace the country's), the membership's tier, the promotions active now for it (with
# what each selects) and the voucher asked for. The one-row VALUES keeps those when no
# method matches. Decimals travel as text: JSON numbers would be read as floats.
CONTEXT_SQL = """
SELECT EXISTS (SELECT 1 FROM pricing_shippingzone),
       (SELECT coalesce(json_agg(json_build_array(t.tax_class, t.rate::text)
                                 ORDER BY t.region = '' DESC), '[]')
        FROM pricing_taxrate t
        WHERE t.country = %(country)s AND (t.region = '' OR upper(t.region) = upper(%(region)s))),
       (SELECT json_build_array(tier.name, tier.discount_percentage::text)
        FROM pricing_membershiptier tier WHERE tier.code = %(membership)s::varchar),
       (SELECT coalesce(json_agg(json_build_array(
                   pr.id, pr.code, pr.name, pr.description, pr.kind, pr.value::text, pr.priority,
                   ARRAY(SELECT c.path FROM pricing_promotion_categories pc
                         JOIN catalog_category c ON c.id = pc.category_id
                         WHERE pc.promotion_id = pr.id),
                   ARRAY(SELECT collection_id FROM pricing_promotion_collections
                         WHERE promotion_id = pr.id),
                   ARRAY(SELECT tag_id FROM pricing_promotion_tags WHERE promotion_id = pr.id),
                   ARRAY(SELECT product_id FROM pricing_promotion_products
                         WHERE promotion_id = pr.id)) ORDER BY pr.id), '[]')
        FROM pricing_promotion pr
        WHERE pr.is_active AND (pr.starts_at IS NULL OR pr.starts_at <= now())
          AND (pr.ends_at IS NULL OR pr.ends_at > now())
          AND (cardinality(pr.tiers) = 0 OR %(membership)s::varchar = ANY(pr.tiers))),
       (SELECT json_build_array(v.id, v.code, v.name, v.kind, v.value::text,
                                v.min_subtotal::text, v.starts_at, v.ends_at, v.usage_limit,
                                v.per_customer_limit, v.tiers, v.times_used, v.is_active)
        FROM pricing_voucher v WHERE v.code = upper(%(voucher)s::varchar)),
       m.id, m.zone_id, m.code, m.name, m.price, m.free_shipping_threshold, m.min_days,
       m.max_days, m.position, m.weight_bands
FROM (VALUES (1)) AS one (x)
LEFT JOIN pricing_shippingmethod m ON m.is_active AND m.zone_id = COALESCE(
    (SELECT zone_id FROM pricing_shippingzonecountry WHERE country = %(country)s),
    (SELECT id FROM pricing_shippingzone WHERE rest_of_world))
ORDER BY m.position, m.price, m.code
"""
CONTEXT_COLUMNS = 6
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
    "weight_bands",
)


def quote_context(
    *,
    country: str,
    region: str = "",
    membership: str | None = None,
    voucher_code: str | None = None,
) -> QuoteContext:
    """What applies to a cart shipped to `country` (ISO 3166-1 alpha-2) and `region` (as
    written, compared ignoring case; "" for none), for a customer of `membership` (None: a
    guest), with `voucher_code` (compared ignoring case; None: no voucher). One query.

    The shipping methods are the active ones of the zone listing the country, or of the
    rest-of-the-world zone when none does; each tax class's rate is the region's, else the
    country's; the promotions are those active now (window, is_active) for the membership
    (a guest: those for everyone). An unknown voucher code gives `voucher` None (build_quote
    refuses it).
    """
    params = {
        "country": country,
        "region": region,
        "membership": membership,
        "voucher": voucher_code,
    }
    with connection.cursor() as cursor:
        cursor.execute(CONTEXT_SQL, params)
        rows = cursor.fetchall()
    store_ships, taxes, tier, promotions, voucher = (_json(v) for v in rows[0][:5])
    methods = tuple(
        _method(row[CONTEXT_COLUMNS - 1 :]) for row in rows if row[CONTEXT_COLUMNS - 1] is not None
    )
    return QuoteContext(
        country=country,
        methods=methods,
        store_ships=store_ships,
        # Country rates come first, so a region's rate of the same class replaces them.
        tax_rates={tax_class: Decimal(rate) for tax_class, rate in taxes},
        membership=membership,
        tier_name=tier[0] if tier else "",
        tier_percentage=Decimal(tier[1]) if tier else Decimal("0"),
        promotions=tuple(_promotion(row) for row in promotions),
        voucher_code=voucher_code,
        voucher=_voucher(voucher) if voucher else None,
    )


def build_quote(
    *,
    lines: Sequence["CartItem"],
    context: QuoteContext | None,
    shipping_method: str | None = None,
) -> Quote:
    """The quote of `lines` (cart items with their variants and products loaded, and their
    promotion targets when the context has promotions: with_promotion_targets; no query)
    for the customer, shipping address and voucher of `context` (quote_context; None: no
    address yet, so no shipping, tax or discount), with the method coded `shipping_method`
    or, without one, the cheapest. The rules: the module docstring.

    Raises ShippingMethodUnavailable (400) when `shipping_method` is given and not offered;
    VoucherInvalid, VoucherExpired or VoucherExhausted (400) for a voucher that cannot be
    used (its per-customer limit is checked apart: vouchers.check_customer_uses). A quote
    for an address no method ships to has `shipping` null and no methods (checkout refuses
    it: require_shipping).
    """
    prices_include_tax = settings.PRICES_INCLUDE_TAX
    percentage = context.tier_percentage if context else Decimal("0")
    priced = [_member_line(item, percentage) for item in lines]
    subtotal = sum((line.line_total for line in priced), ZERO)
    applied: list[Applied] = []
    membership_amount = sum(
        ((line.list_price * line.quantity) - line.line_total for line in priced), ZERO
    )
    if context and membership_amount > 0:
        applied.append(
            Applied(
                kind="membership",
                code=context.membership or "",
                name=context.tier_name,
                amount=membership_amount,
                description=f"{context.tier_name} members: "
                f"{context.tier_percentage.normalize():f} % off list prices",
            )
        )

    promotions = context.promotions if context else ()
    promoted = [
        _best_promotion(item, line, promotions) for item, line in zip(lines, priced, strict=True)
    ]
    applied += _promotions_applied(promoted)

    voucher = context.voucher if context else None
    if context and context.voucher_code is not None:
        _check_voucher(context, subtotal=subtotal - sum((a for _, a in promoted), ZERO))
    after_promotions = [
        line.line_total - amount for line, (_, amount) in zip(priced, promoted, strict=True)
    ]
    shares = _voucher_shares(voucher, after_promotions)

    quote_lines = [
        _taxed(
            line,
            promotion_amount + share,
            context.tax_rate(item.variant.product.tax_class) if context else Decimal("0"),
            prices_include_tax,
            promotion,
        )
        for item, line, (promotion, promotion_amount), share in zip(
            lines, priced, promoted, shares, strict=True
        )
    ]
    discount_total = sum((line.discount_total for line in quote_lines), ZERO)

    free_shipping = voucher is not None and voucher.kind == Voucher.Kind.FREE_SHIPPING
    weight = sum((item.variant.weight_grams or 0) * item.quantity for item in lines)
    offers = _offers(context, subtotal=subtotal - discount_total, weight=weight) if context else ()
    chosen = _choose(offers, context, shipping_method)
    if voucher is not None:
        waived = chosen.price if free_shipping and chosen else ZERO
        amount = sum(shares, ZERO) + waived
        applied.append(
            Applied(
                kind="voucher",
                code=voucher.code,
                name=voucher.name,
                amount=amount,
                description=voucher.describe(),
                voucher_id=voucher.id,
            )
        )
    if free_shipping:
        offers = tuple(_free(offer) for offer in offers)
        chosen = _free(chosen) if chosen else None
    shipping = chosen.price if chosen else ZERO
    shipping_tax = (
        tax(shipping, context.tax_rate(settings.SHIPPING_TAX_CLASS), prices_include_tax)
        if context
        else ZERO
    )
    tax_total = sum((line.tax_total for line in quote_lines), shipping_tax)
    total = subtotal - discount_total + shipping + (ZERO if prices_include_tax else tax_total)
    return Quote(
        lines=tuple(quote_lines),
        subtotal=subtotal,
        discount_total=discount_total,
        shipping=chosen,
        shipping_methods=offers,
        tax_total=tax_total,
        total=total,
        currency=settings.STORE_CURRENCY,
        prices_include_tax=prices_include_tax,
        applied=tuple(applied),
        voucher=voucher,
    )


def tax(amount: Decimal, rate: Decimal, prices_include_tax: bool) -> Decimal:
    """The tax on `amount` (store currency) at `rate` (a fraction), to the cent: on top of
    a net amount, money(amount x rate); within a gross one, money(amount x rate / (1 +
    rate))."""
    if prices_include_tax:
        return money(amount * rate / (1 + rate))
    return money(amount * rate)


def require_shipping(quote: Quote, context: QuoteContext) -> None:
    """Checkout's rule: a store that ships (has zones) must ship this order. Raises
    ShippingMethodUnavailable (400) when no method ships to the address."""
    if context.store_ships and quote.shipping is None:
        raise _unavailable(None, context, quote.shipping_methods)


# --- The steps ------------------------------------------------------------------------------


def _member_line(item: "CartItem", percentage: Decimal) -> QuoteLine:
    """Rule 1: the line at the member's unit price, before discounts and tax."""
    price = item.variant.price
    unit_price = member_price(price, percentage) if percentage else price
    return QuoteLine(
        item_id=item.pk,
        variant_id=item.variant_id,
        sku=item.variant.sku,
        quantity=item.quantity,
        list_price=price,
        unit_price=unit_price,
        discount_total=ZERO,
        tax_rate=Decimal("0"),
        tax_total=ZERO,
        line_total=line_total(unit_price=unit_price, quantity=item.quantity),
    )


def _best_promotion(
    item: "CartItem", line: QuoteLine, promotions: Sequence[PromotionRule]
) -> tuple[PromotionRule | None, Decimal]:
    """Rule 2: the line's promotion (highest priority, largest discount, lowest id) and
    what it takes off; (None, 0) when none selects the line."""
    best: tuple[PromotionRule | None, Decimal] = (None, ZERO)
    best_key: tuple | None = None
    for promotion in promotions:
        if not promotion.selects(item):
            continue
        amount = promotion.discount(
            unit_price=line.unit_price, quantity=line.quantity, amount=line.line_total
        )
        key = (-promotion.priority, -amount, promotion.id)
        if best_key is None or key < best_key:
            best, best_key = (promotion, amount), key
    return best


def _promotions_applied(promoted: list[tuple[PromotionRule | None, Decimal]]) -> list[Applied]:
    """One `applied` entry per promotion used, with the sum over its lines, by code."""
    amounts: dict[int, Decimal] = {}
    rules: dict[int, PromotionRule] = {}
    for promotion, amount in promoted:
        if promotion is not None:
            amounts[promotion.id] = amounts.get(promotion.id, ZERO) + amount
            rules[promotion.id] = promotion
    return [
        Applied(
            kind="promotion",
            code=rule.code,
            name=rule.name,
            amount=amounts[rule.id],
            description=rule.describe(),
            promotion_id=rule.id,
        )
        for rule in sorted(rules.values(), key=lambda rule: rule.code)
    ]


def _check_voucher(context: QuoteContext, *, subtotal: Decimal) -> None:
    """Rule 3's conditions, on the subtotal after promotions. Raises VoucherInvalid,
    VoucherExpired or VoucherExhausted."""
    voucher, code = context.voucher, context.voucher_code
    details = {"voucher_code": code}
    if voucher is None or not voucher.is_active:
        raise VoucherInvalid("No voucher with this code can be used.", details=details)
    now = timezone.now()
    if voucher.starts_at is not None and now < voucher.starts_at:
        raise VoucherInvalid(
            f"This voucher is valid from {voucher.starts_at.isoformat()}.", details=details
        )
    if voucher.ends_at is not None and now >= voucher.ends_at:
        raise VoucherExpired(
            f"This voucher expired at {voucher.ends_at.isoformat()}.",
            details={**details, "ends_at": voucher.ends_at.isoformat()},
        )
    if voucher.tiers and context.membership not in voucher.tiers:
        raise VoucherInvalid(
            "This voucher is for members of " + ", ".join(voucher.tiers) + " only.",
            details=details,
        )
    if voucher.usage_limit is not None and voucher.times_used >= voucher.usage_limit:
        raise VoucherExhausted(details=details)
    if voucher.min_subtotal is not None and subtotal < voucher.min_subtotal:
        raise VoucherInvalid(
            f"This voucher needs a subtotal of at least {_amount(voucher.min_subtotal)}.",
            details={**details, "min_subtotal": _amount(voucher.min_subtotal)},
        )


def _voucher_shares(voucher: VoucherRule | None, amounts: list[Decimal]) -> list[Decimal]:
    """Rule 3: what the voucher takes off each line costing `amounts` (after promotions)."""
    if voucher is None or voucher.kind == Voucher.Kind.FREE_SHIPPING:
        return [ZERO] * len(amounts)
    if voucher.kind == Voucher.Kind.PERCENTAGE:
        return [money(amount * voucher.value / HUNDRED) for amount in amounts]
    return allocate(min(voucher.value, sum(amounts, ZERO)), amounts)


def allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """`total` (to the cent, at most the sum of `weights`) shared over `weights` in
    proportion: each share rounded down to the cent, then the cents left given one each to
    the largest remainders, ties to the earlier weight. The shares sum to `total` exactly,
    and none exceeds its weight."""
    whole = sum(weights, ZERO)
    if whole <= 0 or total <= 0:
        return [ZERO] * len(weights)
    exact = [total * weight / whole for weight in weights]
    shares = [share.quantize(CENT, rounding=ROUND_DOWN) for share in exact]
    left = int((total - sum(shares, ZERO)) / CENT)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in by_remainder[:left]:
        shares[i] += CENT
    return shares


def _taxed(
    line: QuoteLine,
    discount: Decimal,
    rate: Decimal,
    prices_include_tax: bool,
    promotion: PromotionRule | None,
) -> QuoteLine:
    """Rule 5: the line with its discounts, tax rate and tax."""
    return replace(
        line,
        discount_total=discount,
        tax_rate=rate,
        tax_total=tax(line.line_total - discount, rate, prices_include_tax),
        promotion_id=promotion.id if promotion else None,
    )


def _offers(context: QuoteContext, *, subtotal: Decimal, weight: int) -> tuple[ShippingOffer, ...]:
    """Rule 4: the methods offered for a cart of `subtotal` (after discounts) and `weight`
    (grams), at their prices for it."""
    offers = []
    for method in context.methods:
        price = method_price(method, weight=weight)
        if price is None:
            continue
        if (
            method.free_shipping_threshold is not None
            and subtotal >= method.free_shipping_threshold
        ):
            price = ZERO
        offers.append(
            ShippingOffer(
                code=method.code,
                name=method.name,
                price=price,
                min_days=method.min_days,
                max_days=method.max_days,
            )
        )
    return tuple(offers)


def method_price(method: ShippingMethod, *, weight: int) -> Decimal | None:
    """What `method` charges for a cart of `weight` grams before any free-shipping rule:
    its flat price, or with weight bands the price of the first band whose max_grams
    `weight` does not exceed; None when the cart is heavier than its last band."""
    if not method.weight_bands:
        return method.price
    for band in method.weight_bands:
        if weight <= band["max_grams"]:
            return Decimal(band["price"])
    return None


def _free(offer: ShippingOffer) -> ShippingOffer:
    return replace(offer, price=ZERO)


def _choose(
    offers: tuple[ShippingOffer, ...], context: QuoteContext | None, code: str | None
) -> ShippingOffer | None:
    if code is None:
        # The cheapest; min() keeps the first of equal prices, so position then code decide.
        return min(offers, key=lambda offer: offer.price, default=None)
    for offer in offers:
        if offer.code == code:
            return offer
    raise _unavailable(code, context, offers)


def _unavailable(
    code: str | None, context: QuoteContext | None, offers: Sequence[ShippingOffer]
) -> ShippingMethodUnavailable:
    country = context.country if context else None
    if code is not None:
        message = f"The shipping method {code!r} is not offered for this address."
    elif context and context.methods:
        # Methods ship there, but not a cart this heavy (their weight bands).
        message = f"No shipping method ships a cart this heavy to {country}."
    else:
        message = f"No shipping method ships to {country}."
    offered = [offer.code for offer in offers]
    return ShippingMethodUnavailable(
        message, details={"shipping_method": code, "country": country, "offered": offered}
    )


# --- Reading the context ---------------------------------------------------------------------


def _json(value: Any) -> Any:
    # json, not jsonb: psycopg may hand it over as text.
    return json.loads(value) if isinstance(value, str) else value


def _method(columns: Sequence[Any]) -> ShippingMethod:
    values = dict(zip(METHOD_COLUMNS, columns, strict=True))
    # jsonb: Django's connection hands it over as text, for JSONField to decode.
    values["weight_bands"] = _json(values["weight_bands"])
    return ShippingMethod(**values)


def _promotion(row: list) -> PromotionRule:
    pk, code, name, description, kind, value, priority, paths, collections, tags, products = row
    return PromotionRule(
        id=pk,
        code=code,
        name=name,
        description=description,
        kind=kind,
        value=Decimal(value),
        priority=priority,
        category_paths=tuple(paths),
        collection_ids=frozenset(collections),
        tag_ids=frozenset(tags),
        product_ids=frozenset(products),
    )


def _voucher(row: list) -> VoucherRule:
    (pk, code, name, kind, value, min_subtotal, starts_at, ends_at, usage_limit,
     per_customer_limit, tiers, times_used, is_active) = row  # fmt: skip
    return VoucherRule(
        id=pk,
        code=code,
        name=name,
        kind=kind,
        value=Decimal(value),
        min_subtotal=Decimal(min_subtotal) if min_subtotal is not None else None,
        starts_at=_timestamp(starts_at),
        ends_at=_timestamp(ends_at),
        usage_limit=usage_limit,
        per_customer_limit=per_customer_limit,
        tiers=tuple(tiers),
        times_used=times_used,
        is_active=is_active,
    )


def _timestamp(text: str | None) -> datetime | None:
    # PostgreSQL's JSON writes a timestamptz as ISO 8601 with its offset.
    return datetime.fromisoformat(text) if text is not None else None


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
