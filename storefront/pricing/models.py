"""What a quote charges besides the lines: shipping zones and their methods, tax rates.

A shipping zone is a set of countries (each country in at most one zone), or the rest of
the world (at most one such zone: the countries no other zone lists). Its methods are what
an address in the zone may be shipped with. A store without zones charges no shipping.
Amounts are in the store currency (settings.STORE_CURRENCY).

A tax rate is the rate of one tax class (standard, reduced, zero) in a country, or in one
region of it (a state, province...; a region's rate replaces the country's). Rates are
fractions: 0.2000 is 20 %.
"""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F
from django.db.models.functions import Upper
from django_countries.fields import CountryField

from storefront.core.models import TimeStampedModel

MAX_DAYS = 365
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
)


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
