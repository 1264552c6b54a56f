"""Tax rates for staff: /api/tax-rates/, the rate of each tax class in a country or region.

Staff only: anonymous callers get 401, customers 403. A rate is the fraction (0.2000 is
20 %) of one tax class (standard, reduced, zero) in a country, or in one region of it, which
replaces the country's rate of that class; a refused write (400 `invalid`, `fields` naming
what was refused) changes nothing. A (country, region, tax class) has one rate at most:
checked before writing (regions compared ignoring case, as quotes compare them) and held by
the database's unique constraint (storefront/pricing/models.py); a concurrent write that
slips between the two gets the same 400. Errors: the one shape of docs/api.md; the endpoint
and its errors are described in docs/taxes.md, how quotes apply the rates in
docs/pricing.md.

The write lives here rather than in a pricing services.py, as the shipping zones' does
(zones.py): it is the whole workflow of this one endpoint, and the admin writes through its
form.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import django_filters
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django_countries import countries
from django_filters.fields import ChoiceField
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, viewsets

from storefront.accounts.api.serializers import CountryCodeField
from storefront.core.api.filters import KnownQueryParameters
from storefront.pricing.api.staff import StaffWritesMixin, locked, save_changed
from storefront.pricing.api.zones import COUNTRY_ENUM
from storefront.pricing.models import TaxClass, TaxRate

# The fields of a rate that say where and for what it applies: one rate per such place.
PLACE_FIELDS = ("country", "region", "tax_class")
WRITE_FIELDS = (*PLACE_FIELDS, "rate", "name")
CONCURRENT_CHANGE = "Clashes with a concurrent change; nothing was saved. Read the rates again."


def tax_rates() -> QuerySet[TaxRate]:
    """Every rate, by country, region (the whole country's first) and tax class: one query
    for a page (what TaxRateSerializer reads is the row itself)."""
    return TaxRate.objects.order_by("country", "region", "tax_class", "id")


# --- Serializer ----------------------------------------------------------------------------


@extend_schema_field(COUNTRY_ENUM)
class TaxRateCountryField(CountryCodeField):
    """The rate's country: an ISO 3166-1 alpha-2 code (written in any case, stored upper),
    in the schema the addresses' CountryEnum (one name for the choice set)."""


class TaxRateSerializer(serializers.Serializer):
    """A tax rate as staff read and write it:

        {"id", "country": "FR", "region": "", "tax_class": "standard", "rate": "0.2000",
         "name": "VAT"}

    `rate` is a fraction from 0 to 1 with at most four places (0.2000 is 20 %). One rate per
    (country, region, tax_class), regions compared ignoring case: checked here against the
    database, the other rates than the one updated; a PATCH is checked with the stored
    values of the fields it leaves out.
    """

    id = serializers.IntegerField(read_only=True)
    country = TaxRateCountryField(help_text='ISO 3166-1 alpha-2 code, e.g. "FR".')
    region = serializers.CharField(
        max_length=128,
        allow_blank=True,
        default="",
        help_text="A region of the country (state, province...) as addresses write it, e.g. "
        '"CA"; its rate replaces the country\'s for the same class. "": the whole country.',
    )
    tax_class = serializers.ChoiceField(
        choices=TaxClass.choices,
        default=TaxClass.STANDARD,
        help_text="Which products (their `tax_class`) and, for the class set as "
        "SHIPPING_TAX_CLASS, shipping the rate applies to.",
    )
    rate = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        min_value=Decimal("0"),
        max_value=Decimal("1"),
        help_text='A fraction from 0 to 1: "0.2000" is 20 %.',
    )
    name = serializers.CharField(
        max_length=128,
        allow_blank=True,
        default="",
        help_text='What the tax is called, e.g. "VAT" or "Sales tax".',
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = held_elsewhere(tax_rate=self.instance, **_place(self.instance, attrs))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


def _place(tax_rate: TaxRate | None, data: Mapping[str, Any]) -> dict[str, str]:
    """The country, region and tax class the rate is to have: those of `data`, else the
    stored ones of `tax_rate` (None: a new rate, the fields' defaults)."""
    defaults = {"region": "", "tax_class": TaxClass.STANDARD}
    place = {}
    for name in PLACE_FIELDS:
        if name in data:
            place[name] = data[name]
        elif tax_rate is not None:
            place[name] = getattr(tax_rate, name)
        else:
            place[name] = defaults.get(name)
    country = place["country"]
    place["country"] = getattr(country, "code", country)
    return place


def held_elsewhere(
    *, tax_rate: TaxRate | None, country: str | None, region: str, tax_class: str
) -> dict[str, list[str]]:
    """What another rate than `tax_rate` (None: a new rate) holds of the place it is to
    have: {"tax_class": [message naming that rate]} if a rate of `tax_class` exists for
    `country` and `region` (compared ignoring case), {} when free. One query (none without
    a country, which the serializer then refuses)."""
    if country is None:
        return {}
    others = TaxRate.objects.filter(country=country, region__iexact=region, tax_class=tax_class)
    if tax_rate is not None:
        others = others.exclude(pk=tax_rate.pk)
    held = others.values_list("pk", "region", "rate").first()
    if held is None:
        return {}
    pk, held_region, rate = held
    where = f"{country}, region {held_region!r}," if held_region else f"{country}"
    return {
        "tax_class": [f"{where} already has a {tax_class} rate ({rate}, id {pk}): change that one."]
    }


# --- The write -----------------------------------------------------------------------------


def save_tax_rate(*, tax_rate: TaxRate | None, data: Mapping[str, Any]) -> TaxRate:
    """Create a rate (`tax_rate` None) or change `tax_rate`, from `data` as
    TaxRateSerializer validated it (any of country, region, tax_class, rate, name; a
    `rate` is a Decimal fraction from 0 to 1).

    Raises NotFound if the rate was deleted meanwhile; serializers.ValidationError (400 on
    `tax_class`, as the serializer's check) if a concurrent write gave the same (country,
    region, tax class) a rate since the serializer checked. Nothing is saved on error.
    """
    try:
        with transaction.atomic():
            return _write_tax_rate(tax_rate=tax_rate, data=data)
    except IntegrityError as exc:
        # The other write has committed (PostgreSQL makes a unique check wait for it), so
        # the serializer's check, run again, now names the rate it created.
        errors = held_elsewhere(tax_rate=tax_rate, **_place(tax_rate, data))
        raise serializers.ValidationError(errors or {"tax_class": [CONCURRENT_CHANGE]}) from exc


def _write_tax_rate(*, tax_rate: TaxRate | None, data: Mapping[str, Any]) -> TaxRate:
    values = {name: data[name] for name in WRITE_FIELDS if name in data}
    if tax_rate is None:
        return TaxRate.objects.create(**values)
    tax_rate = locked(tax_rate, missing="No such tax rate.")
    save_changed(tax_rate, values)
    return tax_rate


# --- The list's filters --------------------------------------------------------------------


class CountryCodeChoiceField(ChoiceField):
    """A country code in any case, read upper (as CountryCodeField reads a body's)."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.strip().upper() if isinstance(value, str) else value


class CountryCodeFilter(django_filters.ChoiceFilter):
    field_class = CountryCodeChoiceField


class TaxRateFilter(django_filters.FilterSet):
    """?country=FR (an ISO 3166-1 alpha-2 code, any case) and ?tax_class=standard; any
    other value of either is a 400 naming it."""

    country = CountryCodeFilter(choices=list(countries), help_text="ISO 3166-1 alpha-2 code.")
    tax_class = django_filters.ChoiceFilter(choices=TaxClass.choices)

    class Meta:
        model = TaxRate
        fields = ["country", "tax_class"]


# --- The view ------------------------------------------------------------------------------

NO_CONTENT = OpenApiResponse(description="Deleted.")
WRITE_DESCRIPTION = (
    "A rate (a fraction from 0 to 1 with at most four places: `0.2000` is 20 %) of one tax "
    "class in a country, or in one region of it, whose rate replaces the country's for the "
    "same class. {omitted} Refused with 400 `invalid` (`fields` says where; nothing "
    "changes): an unknown country or tax class, a rate below 0, above 1, with more than "
    "four places or not a number, a region over 128 characters, a (country, region, tax "
    "class) that already has a rate (on `tax_class`; regions compared ignoring case)."
)


@extend_schema_view(
    list=extend_schema(
        summary="List tax rates (staff)",
        description="By country, region (the whole country's first) and tax class. "
        "Paginated (`page`, `page_size`: 24 by default, at most 100).",
    ),
    retrieve=extend_schema(summary="Get a tax rate (staff)"),
    create=extend_schema(
        summary="Create a tax rate (staff)",
        description=WRITE_DESCRIPTION.format(
            omitted="`region` left out: the whole country; `tax_class`: standard."
        ),
    ),
    update=extend_schema(
        summary="Replace a tax rate (staff)",
        description=WRITE_DESCRIPTION.format(
            omitted='Fields left out take their defaults (`region` "", `tax_class` '
            'standard, `name` "").'
        ),
    ),
    partial_update=extend_schema(
        summary="Update a tax rate (staff)",
        description=WRITE_DESCRIPTION.format(
            omitted="Fields left out stay as stored, and the place is checked with them."
        ),
    ),
    destroy=extend_schema(
        summary="Delete a tax rate (staff)",
        description="Quotes then tax that class there at the country's rate (a region's "
        "rate deleted), or not at all. Orders keep the tax they were placed with.",
        responses={204: NO_CONTENT},
    ),
)
class TaxRateViewSet(StaffWritesMixin, viewsets.ModelViewSet):
    """Tax rates for staff (docs/taxes.md); rates are decimal strings with four places.

    The list takes two queries (count, rates) whatever the page holds.
    """

    serializer_class = TaxRateSerializer
    queryset = tax_rates()
    filter_backends = [KnownQueryParameters, DjangoFilterBackend]
    filterset_class = TaxRateFilter

    def write(self, instance: TaxRate | None, data: dict[str, Any]) -> TaxRate:
        return save_tax_rate(tax_rate=instance, data=data)
