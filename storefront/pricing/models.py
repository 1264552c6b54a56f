"""What a quote charges besides the lines: shipping zones and their methods.

A shipping zone is a set of countries (each country in at most one zone), or the rest of
the world (at most one such zone: the countries no other zone lists). Its methods are what
an address in the zone may be shipped with. A store without zones charges no shipping.
Amounts are in the store currency (settings.STORE_CURRENCY).
"""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
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
