"""What a quote charges besides the lines: shipping zones and their methods, tax rates.

A shipping zone is a set of countries (each country in at most one zone), or the rest of
the world (at most one such zone: the countries no other zone lists). Its methods are what
an address in the zone may be shipped with. A store without zones charges no shipping.
Amounts are in the store currency (settings.STORE_CURRENCY).

A tax rate is the rate of one tax class (standard, reduced, zero) in a country, or in one
region of it (a state, province...; a region's rate replaces the country's). Rates are
fractions: 0.2000 is 20 %.

Discounts (how they combine: docs/pricing.md, storefront/pricing/quotes.py): a membership
tier's percentage off every price for its members (User.membership); automatic promotions,
a percentage or fixed amount off each unit of the products they select; vouchers, a code a
customer enters for a percentage or fixed amount off the order, or free shipping.
Percentages are from 0 to 100 (10.00 is 10 %).
"""

from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F
from django.db.models.functions import Upper
from django_countries.fields import CountryField

from storefront.accounts.models import User
from storefront.core.models import TimeStampedModel

MAX_DAYS = 365
# A variant's weight and a weight band's bound: up to 10 tonnes, in grams.
MAX_WEIGHT_GRAMS = 10_000_000
MAX_WEIGHT_BANDS = 20
# What staff write of a method (the API and the admin).
METHOD_FIELDS = (
    "code",
    "name",
    "price",
    "free_shipping_threshold",
    "min_days",
    "max_days",
    "is_active",
    "position",
    "weight_bands",
)


def validate_weight_bands(bands) -> None:
    """A method's weight bands: a list of at most MAX_WEIGHT_BANDS objects {"max_grams":
    integer 1..MAX_WEIGHT_GRAMS, "price": decimal string >= 0 with at most 2 places}, with
    max_grams strictly increasing. Raises ValidationError naming what is wrong."""
    if not isinstance(bands, list) or len(bands) > MAX_WEIGHT_BANDS:
        raise ValidationError(f"A list of at most {MAX_WEIGHT_BANDS} weight bands.")
    previous = 0
    for index, band in enumerate(bands):
        where = f"Weight band {index + 1}"
        if not isinstance(band, dict) or set(band) != {"max_grams", "price"}:
            raise ValidationError(f'{where}: an object {{"max_grams", "price"}}.')
        grams, price = band["max_grams"], band["price"]
        if type(grams) is not int or not previous < grams <= MAX_WEIGHT_GRAMS:
            raise ValidationError(
                f"{where}: max_grams must be a whole number of grams above the band before "
                f"({previous}), at most {MAX_WEIGHT_GRAMS}."
            )
        try:
            amount = Decimal(price) if isinstance(price, str) else None
        except ArithmeticError:
            amount = None
        if (
            amount is None
            or not amount.is_finite()
            or amount < 0
            or -amount.as_tuple().exponent > 2
            or amount >= Decimal("1e10")
        ):
            raise ValidationError(
                f"{where}: price must be a decimal string from 0, at most 2 places."
            )
        previous = grams


class ShippingZone(TimeStampedModel):
    """Countries shipped to alike. `rest_of_world`: the countries of no other zone (then
    the zone lists none itself)."""

    name = models.CharField(max_length=128, unique=True)
    rest_of_world = models.BooleanField(default=False)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rest_of_world"],
                condition=models.Q(rest_of_world=True),
                name="pricing_one_rest_of_world_zone",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ShippingZoneCountry(models.Model):
    """A country of a zone: unique, so no two zones overlap (the database says so too)."""

    zone = models.ForeignKey(ShippingZone, on_delete=models.CASCADE, related_name="countries")
    # ISO 3166-1 alpha-2 code.
    country = CountryField(unique=True)

    class Meta:
        ordering = ["country"]
        verbose_name_plural = "shipping zone countries"

    def __str__(self) -> str:
        return str(self.country)


class ShippingMethod(TimeStampedModel):
    """A way to ship to the zone's addresses, at a flat `price` (store currency), free when
    the quote's subtotal after discounts reaches `free_shipping_threshold` (if set),
    delivered in `min_days` to `max_days` days."""

    zone = models.ForeignKey(ShippingZone, on_delete=models.CASCADE, related_name="methods")
    # What clients send as shipping_method: unique across zones.
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=128)
    price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    free_shipping_threshold = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    min_days = models.PositiveSmallIntegerField(default=1)
    max_days = models.PositiveSmallIntegerField(default=5)
    is_active = models.BooleanField(default=True)
    # Methods are offered in this order (then by price and code).
    position = models.PositiveSmallIntegerField(default=0)
    # Priced by the cart's weight (validate_weight_bands): the price of the first band whose
    # max_grams the cart's weight does not exceed replaces `price`; a cart heavier than the
    # last band is not offered the method. Empty: the flat `price` for any weight.
    weight_bands = models.JSONField(default=list, blank=True, validators=[validate_weight_bands])

    class Meta:
        ordering = ["position", "price", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price__gte=0), name="pricing_method_price_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(free_shipping_threshold__gte=0),
                name="pricing_method_threshold_gte_0",
            ),
            models.CheckConstraint(
                condition=models.Q(min_days__lte=models.F("max_days"), max_days__lte=MAX_DAYS),
                name="pricing_method_days_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class TaxClass(models.TextChoices):
    """How a product (or shipping) is taxed: which of a country's rates applies."""

    STANDARD = "standard", "Standard"
    REDUCED = "reduced", "Reduced"
    ZERO = "zero", "Zero"


class TaxRate(TimeStampedModel):
    """The rate of `tax_class` in `country` (ISO 3166-1 alpha-2), or only in its `region`
    ("" for the whole country); a fraction from 0 to 1 with four places."""

    country = CountryField()
    region = models.CharField(max_length=128, blank=True, default="")
    tax_class = models.CharField(max_length=16, choices=TaxClass.choices, default=TaxClass.STANDARD)
    rate = models.DecimalField(max_digits=5, decimal_places=4)
    name = models.CharField(max_length=128, blank=True, help_text='E.g. "VAT" or "Sales tax".')

    class Meta:
        ordering = ["country", "region", "tax_class"]
        constraints = [
            # Regions compare ignoring case, as quotes match them (quotes.RATES_SQL).
            models.UniqueConstraint(
                F("country"),
                Upper("region"),
                F("tax_class"),
                name="pricing_one_rate_per_place_class",
            ),
            models.CheckConstraint(
                condition=models.Q(rate__gte=0, rate__lte=1), name="pricing_tax_rate_0_to_1"
            ),
        ]

    def __str__(self) -> str:
        where = f"{self.country}-{self.region}" if self.region else str(self.country)
        return f"{where} {self.tax_class} {self.rate}"


# --- Discounts ----------------------------------------------------------------------------

PERCENT_VALIDATORS = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]
# The default percentages of the tiers (migration 0003 creates them; staff may change them).
DEFAULT_TIER_DISCOUNTS = {"bronze": Decimal("0"), "silver": Decimal("5"), "gold": Decimal("10")}


class MembershipTier(TimeStampedModel):
    """What a membership (User.Membership: bronze, silver, gold) takes off every catalog
    price for its members: `discount_percentage` (0 to 100) of each unit's list price.
    One row per membership, created by migration 0003; staff change the name and the
    percentage, never the set of tiers (the memberships are the accounts' own choices)."""

    code = models.CharField(max_length=10, choices=User.Membership.choices, unique=True)
    name = models.CharField(max_length=64)
    discount_percentage = models.DecimalField(
        max_digits=5, decimal_places=2, default=0, validators=PERCENT_VALIDATORS
    )

    class Meta:
        ordering = ["discount_percentage", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(discount_percentage__gte=0, discount_percentage__lte=100),
                name="pricing_tier_percentage_0_to_100",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.discount_percentage} %)"


def tiers_field() -> ArrayField:
    """Which memberships a promotion or voucher is for: empty for everyone (guests too)."""
    return ArrayField(
        models.CharField(max_length=10, choices=User.Membership.choices),
        default=list,
        blank=True,
        help_text="Memberships it applies to; empty: everyone, guests included.",
    )


class Promotion(TimeStampedModel):
    """An automatic discount: `value` (a percentage, 0 to 100, or an amount in the store
    currency) off each unit of the products it selects, while active and within its date
    window, for the memberships of `tiers` (empty: everyone).

    It selects the products of `categories` (with their descendants), of `collections`,
    with one of `tags`, and `products` themselves; with none of the four, every product.
    A line gets one promotion at most: the highest `priority`, then the largest discount,
    then the lowest id (quotes.py).
    """

    class Kind(models.TextChoices):
        PERCENTAGE = "percentage", "Percentage"
        FIXED = "fixed", "Fixed amount"

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=128)
    description = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    categories = models.ManyToManyField("catalog.Category", blank=True, related_name="promotions")
    collections = models.ManyToManyField(
        "catalog.Collection", blank=True, related_name="promotions"
    )
    tags = models.ManyToManyField("catalog.Tag", blank=True, related_name="promotions")
    products = models.ManyToManyField("catalog.Product", blank=True, related_name="promotions")
    tiers = tiers_field()
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    priority = models.SmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-priority", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(value__gte=0)
                & (~models.Q(kind="percentage") | models.Q(value__lte=100)),
                name="pricing_promotion_value_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(starts_at__isnull=True)
                | models.Q(ends_at__isnull=True)
                | models.Q(starts_at__lt=models.F("ends_at")),
                name="pricing_promotion_window_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Voucher(TimeStampedModel):
    """A code a customer enters at the quote and checkout (compared ignoring case: stored
    upper-cased): `value` (a percentage, 0 to 100, or an amount in the store currency) off
    the order's lines after promotions and member discounts, or free shipping.

    It applies from `starts_at` to `ends_at` (either may be open), to subtotals of at least
    `min_subtotal`, for the memberships of `tiers` (empty: everyone). `usage_limit` bounds
    the orders that use it, `per_customer_limit` those of one customer (a guest: one
    email); cancelled orders give their use back. `times_used` counts the orders that hold
    a use: checkout claims one in its transaction (storefront/pricing/vouchers.py), so the
    limit holds under concurrency, as the check constraint also says.
    """

    class Kind(models.TextChoices):
        PERCENTAGE = "percentage", "Percentage"
        FIXED = "fixed", "Fixed amount"
        FREE_SHIPPING = "free_shipping", "Free shipping"

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=128, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.DecimalField(
        max_digits=12, decimal_places=2, default=0, validators=[MinValueValidator(Decimal("0"))]
    )
    min_subtotal = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    usage_limit = models.PositiveIntegerField(null=True, blank=True)
    per_customer_limit = models.PositiveIntegerField(null=True, blank=True)
    tiers = tiers_field()
    times_used = models.PositiveIntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(value__gte=0)
                & (~models.Q(kind="percentage") | models.Q(value__lte=100)),
                name="pricing_voucher_value_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(starts_at__isnull=True)
                | models.Q(ends_at__isnull=True)
                | models.Q(starts_at__lt=models.F("ends_at")),
                name="pricing_voucher_window_in_order",
            ),
            models.CheckConstraint(
                condition=models.Q(usage_limit__isnull=True)
                | models.Q(times_used__lte=models.F("usage_limit")),
                name="pricing_voucher_within_usage_limit",
            ),
            models.CheckConstraint(
                condition=models.Q(code=Upper("code")), name="pricing_voucher_code_upper"
            ),
        ]

    def __str__(self) -> str:
        return self.code
