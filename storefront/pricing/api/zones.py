"""Shipping zones for staff: /api/shipping-zones/, each zone with its countries and methods.

Staff only: anonymous callers get 401, customers 403. A zone is written whole, with its
countries and nested methods, in one transaction; a refused write (400 `invalid`, `fields`
naming what was refused) changes nothing. The rules (a country in one zone at most, one
rest-of-the-world zone, method codes unique across zones) are checked before writing and
held by the database's constraints (storefront/pricing/models.py); a concurrent write that
slips between the two gets the same 400. Errors: the one shape of docs/api.md; the endpoint
and its errors are described in docs/shipping.md.

The writes live here rather than in a pricing services.py: they are the whole workflow of
this one endpoint (and of nothing else), and the admin writes through its forms.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import Decimal
from itertools import pairwise
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response

from storefront.accounts.api.serializers import CountryCodeField
from storefront.catalog.api.views import NotFoundInErrorShapeMixin
from storefront.core.api.filters import KnownQueryParameters
from storefront.pricing.api.staff import locked, save_changed
from storefront.pricing.models import (
    MAX_DAYS,
    MAX_WEIGHT_BANDS,
    MAX_WEIGHT_GRAMS,
    METHOD_FIELDS,
    ShippingMethod,
    ShippingZone,
    ShippingZoneCountry,
)

# A new method sent in a PATCH skips missing fields: these have no default.
REQUIRED_METHOD_FIELDS = ("code", "name", "price")
MAX_METHODS = 100
MAX_POSITION = 32767  # PositiveSmallIntegerField

REST_OF_WORLD_LISTS_NONE = (
    "A rest-of-the-world zone lists no countries: it ships to those no other zone lists."
)
CONCURRENT_CHANGE = "Clashes with a concurrent change; nothing was saved. Read the zones again."


def _model_default(name: str) -> Any:
    return ShippingMethod._meta.get_field(name).default


def shipping_zones() -> QuerySet[ShippingZone]:
    """Every zone, by name, with its countries and methods prefetched: three queries for
    any number of zones (what ShippingZoneSerializer reads)."""
    return ShippingZone.objects.prefetch_related("countries", "methods").order_by("name", "id")


# --- Serializers ---------------------------------------------------------------------------


# The choice set of CountryCodeField, whose component the addresses' `country` names: a
# `countries` property of its own would give the same 249 codes a second enum name.
COUNTRY_ENUM = {"$ref": "#/components/schemas/CountryEnum"}


@extend_schema_field({"type": "array", "items": COUNTRY_ENUM})
class ZoneCountriesField(serializers.ListField):
    """The zone's countries: ISO 3166-1 alpha-2 codes, sorted (written in any case, stored
    upper), read from the zone's prefetched rows."""

    child = CountryCodeField()

    def to_representation(self, data) -> list[str]:
        return [row.country.code for row in data.all()]


class WeightBandSerializer(serializers.Serializer):
    """One weight band of a method: carts up to `max_grams` (the variants' weights times
    their quantities) pay `price` (store currency)."""

    max_grams = serializers.IntegerField(min_value=1, max_value=MAX_WEIGHT_GRAMS)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))

    def to_internal_value(self, data) -> dict[str, Any]:
        # Stored in the method's JSON column: the price as its decimal string.
        value = super().to_internal_value(data)
        # A PATCH makes every field optional; a band needs both.
        missing = {name: ["This field is required."] for name in self.fields if name not in value}
        if missing:
            raise serializers.ValidationError(missing)
        return {"max_grams": value["max_grams"], "price": f"{value['price']:.2f}"}


class WeightBandsField(serializers.ListField):
    """A method's weight bands, by increasing max_grams (at most MAX_WEIGHT_BANDS)."""

    child = WeightBandSerializer()

    def to_internal_value(self, data) -> list[dict[str, Any]]:
        bands = super().to_internal_value(data)
        grams = [band["max_grams"] for band in bands]
        if any(a >= b for a, b in pairwise(grams)):
            raise serializers.ValidationError("max_grams must increase from band to band.")
        return bands


class ShippingZoneMethodSerializer(serializers.Serializer):
    """A shipping method of a zone. Amounts are decimal strings in the store currency
    (STORE_CURRENCY); days are delivery days, from 0 to 365.

    `id`: only to update that method of the zone instead of adding one.
    """

    id = serializers.IntegerField(
        required=False, min_value=1, help_text="Write: a method of this zone, to update it."
    )
    code = serializers.SlugField(
        max_length=64, help_text="What checkout sends as `shipping_method`; unique across zones."
    )
    name = serializers.CharField(max_length=128)
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), help_text="Flat price."
    )
    free_shipping_threshold = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        allow_null=True,
        required=False,
        default=None,
        help_text="Free when the subtotal after discounts reaches it; null: never free.",
    )
    min_days = serializers.IntegerField(
        min_value=0, max_value=MAX_DAYS, default=_model_default("min_days")
    )
    max_days = serializers.IntegerField(
        min_value=0, max_value=MAX_DAYS, default=_model_default("max_days")
    )
    is_active = serializers.BooleanField(
        default=_model_default("is_active"), help_text="Inactive methods are not offered."
    )
    position = serializers.IntegerField(
        min_value=0,
        max_value=MAX_POSITION,
        default=_model_default("position"),
        help_text="Offered in this order, then by price and code.",
    )
    weight_bands = WeightBandsField(
        max_length=MAX_WEIGHT_BANDS,
        default=list,
        help_text="Optional: priced by the cart's weight. The price of the first band whose "
        "max_grams the cart's weight (grams) does not exceed replaces `price`; a heavier "
        "cart is not offered the method. Empty: the flat price for any weight.",
    )


class ShippingZoneSerializer(serializers.Serializer):
    """A zone as staff read and write it:

        {"id", "name", "rest_of_world", "countries": ["FR", "DE"],
         "methods": [{"id", "code", "name", "price", "free_shipping_threshold", "min_days",
                      "max_days", "is_active", "position"}]}

    On update, `countries` and `methods`, when sent, replace the zone's: a method with an
    `id` updates that method, one without is added, and the zone's methods not listed are
    deleted. Checks that need the database (names, countries, rest of the world and codes
    held by other zones; method ids) are made here, against the zone as prefetched.
    """

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=128)
    rest_of_world = serializers.BooleanField(
        default=False,
        help_text="The zone of every country no other zone lists; it lists none itself. "
        "At most one zone.",
    )
    countries = ZoneCountriesField(
        default=list, help_text='ISO 3166-1 alpha-2 codes, e.g. ["FR", "DE"].'
    )
    methods = ShippingZoneMethodSerializer(many=True, default=list, max_length=MAX_METHODS)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        zone: ShippingZone | None = self.instance
        errors: dict[str, Any] = {}
        rest_of_world = attrs.get("rest_of_world", zone.rest_of_world if zone else False)
        countries = attrs.get("countries")
        if countries is not None:
            repeated = sorted(code for code, n in Counter(countries).items() if n > 1)
            if repeated:
                errors["countries"] = [f"Listed twice: {', '.join(repeated)}."]
        listed = countries if countries is not None else _countries_of(zone)
        if rest_of_world and listed:
            errors.setdefault("countries" if countries is not None else "rest_of_world", []).append(
                REST_OF_WORLD_LISTS_NONE
            )
        methods = attrs.get("methods")
        if methods is not None:
            _merge(errors, _method_errors(zone, methods))
        _merge(
            errors,
            held_elsewhere(
                zone=zone,
                name=attrs.get("name"),
                rest_of_world=rest_of_world and "rest_of_world" in attrs,
                countries=countries,
                codes=_codes(zone, methods),
            ),
        )
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


def _countries_of(zone: ShippingZone | None) -> list[str]:
    return [] if zone is None else [row.country.code for row in zone.countries.all()]


def _codes(zone: ShippingZone | None, methods: Sequence[Mapping] | None) -> list[str] | None:
    """The code each listed method is to have (None where unknown), or None if unchanged."""
    if methods is None:
        return None
    existing = {} if zone is None else {m.pk: m for m in zone.methods.all()}
    codes = []
    for data in methods:
        base = existing.get(data.get("id"))
        codes.append(data.get("code", base.code if base else None))
    return codes


def _method_errors(zone: ShippingZone | None, methods: Sequence[Mapping]) -> dict[str, Any]:
    """{"methods": [per-method errors, by index]} for ids not of the zone or listed twice,
    required fields a new method left out (PATCH), codes listed twice and days out of
    order (against the stored values a PATCH leaves); {} when there are none."""
    existing = {} if zone is None else {m.pk: m for m in zone.methods.all()}
    errors: list[dict[str, list[str]]] = [{} for _ in methods]
    seen: set[int] = set()
    for index, data in enumerate(methods):
        base = existing.get(data.get("id"))
        if "id" in data:
            if base is None:
                errors[index]["id"] = ["Not a method of this shipping zone."]
            elif data["id"] in seen:
                errors[index]["id"] = ["This method is listed twice."]
            seen.add(data["id"])
        if "id" not in data:
            for name in REQUIRED_METHOD_FIELDS:
                if name not in data:
                    errors[index][name] = ["This field is required."]
        min_days = data.get("min_days", base.min_days if base else _model_default("min_days"))
        max_days = data.get("max_days", base.max_days if base else _model_default("max_days"))
        if min_days > max_days:
            errors[index]["min_days"] = [f"Must be at most max_days ({max_days})."]
    codes = Counter(code for code in _codes(zone, methods) if code is not None)
    for index, code in enumerate(_codes(zone, methods)):
        if code is not None and codes[code] > 1:
            errors[index].setdefault("code", []).append(f"The code {code!r} is listed twice.")
    return {"methods": errors} if any(errors) else {}


def held_elsewhere(
    *,
    zone: ShippingZone | None,
    name: str | None,
    rest_of_world: bool,
    countries: Sequence[str] | None,
    codes: Sequence[str | None] | None,
) -> dict[str, Any]:
    """What other zones than `zone` (None: a new zone) already hold of what it is to have:
    its `name`, the rest of the world (`rest_of_world`: True when it is to become it), its
    `countries`, its methods' `codes` (by index). Returns {field: errors}, {} when free.
    None (or False) skips a check. At most four queries."""
    others = (
        ShippingZone.objects.all() if zone is None else ShippingZone.objects.exclude(pk=zone.pk)
    )
    errors: dict[str, Any] = {}
    if name is not None and others.filter(name=name).exists():
        errors["name"] = ["A shipping zone with this name already exists."]
    if rest_of_world:
        holder = others.filter(rest_of_world=True).values_list("name", flat=True).first()
        if holder is not None:
            errors["rest_of_world"] = [f"The zone {holder!r} is already the rest of the world."]
    if countries:
        taken = (
            ShippingZoneCountry.objects.filter(country__in=countries, zone__in=others)
            .order_by("country")
            .values_list("country", "zone__name")
        )
        if taken:
            held = ", ".join(f"{code} ({zone_name})" for code, zone_name in taken)
            errors["countries"] = [f"Already in another shipping zone: {held}."]
    if codes:
        taken_codes = dict(
            ShippingMethod.objects.filter(
                code__in=[code for code in codes if code is not None], zone__in=others
            ).values_list("code", "zone__name")
        )
        if taken_codes:
            errors["methods"] = [
                {"code": [f"Already the code of a method of the zone {taken_codes[code]!r}."]}
                if code in taken_codes
                else {}
                for code in codes
            ]
    return errors


def _merge(errors: dict[str, Any], more: Mapping[str, Any]) -> None:
    """Add `more` to `errors` (both {field: [messages]}; "methods": [{field: [messages]}] by
    index)."""
    for field, found in more.items():
        if field != "methods" or field not in errors:
            errors.setdefault(field, []).extend(found)
            continue
        for mine, theirs in zip(errors[field], found, strict=True):
            for name, messages in theirs.items():
                mine.setdefault(name, []).extend(messages)


# --- The write -----------------------------------------------------------------------------


def save_zone(*, zone: ShippingZone | None, data: Mapping[str, Any]) -> ShippingZone:
    """Create a zone (`zone` None) or change `zone`, in one transaction, from `data` as
    ShippingZoneSerializer validated it (any of name, rest_of_world, countries, methods).

    `countries` and `methods`, when given, replace the zone's (see ShippingZoneSerializer).
    Raises NotFound if the zone was deleted meanwhile; serializers.ValidationError (400,
    keyed as the serializer's) if a concurrent write took the name, the rest of the world, a
    country or a code since the serializer checked, or deleted a method being updated.
    Nothing is saved on error.
    """
    try:
        with transaction.atomic():
            return _write_zone(zone=zone, data=data)
    except IntegrityError as exc:
        # The other write has committed (PostgreSQL makes a unique check wait for it), so
        # the serializer's check, run again, now names what it took.
        errors = held_elsewhere(
            zone=zone,
            name=data.get("name"),
            rest_of_world=data.get("rest_of_world", False),
            countries=data.get("countries"),
            codes=_codes(zone, data.get("methods")),
        )
        raise serializers.ValidationError(errors or _constraint_error(exc)) from exc


def _write_zone(*, zone: ShippingZone | None, data: Mapping[str, Any]) -> ShippingZone:
    if zone is None:
        zone = ShippingZone.objects.create(
            name=data["name"], rest_of_world=data.get("rest_of_world", False)
        )
    else:
        # Edits of one zone apply one after the other.
        zone = locked(zone, missing="No such shipping zone.")
        save_changed(zone, {f: data[f] for f in ("name", "rest_of_world") if f in data})
    if "countries" in data:
        wanted = data["countries"]
        zone.countries.exclude(country__in=wanted).delete()
        present = set(zone.countries.values_list("country", flat=True))
        ShippingZoneCountry.objects.bulk_create(
            ShippingZoneCountry(zone=zone, country=code) for code in wanted if code not in present
        )
    if "methods" in data:
        _write_methods(zone=zone, methods=data["methods"])
    return zone


def _write_methods(*, zone: ShippingZone, methods: Sequence[Mapping[str, Any]]) -> None:
    """Delete the zone's methods not listed (first, so a new method may take a code one of
    them gave up), then update and create the listed ones in the order given."""
    existing = {m.pk: m for m in zone.methods.select_for_update().order_by("pk")}
    gone = [
        {"id": ["Not a method of this shipping zone."]}
        if "id" in data and data["id"] not in existing
        else {}
        for data in methods
    ]
    if any(gone):
        raise serializers.ValidationError({"methods": gone})
    kept = {data["id"] for data in methods if "id" in data}
    zone.methods.exclude(pk__in=kept).delete()
    for data in methods:
        values = {f: data[f] for f in METHOD_FIELDS if f in data}
        if "id" not in data:
            ShippingMethod.objects.create(zone=zone, **values)
            continue
        save_changed(existing[data["id"]], values)


# Where a constraint a concurrent write broke is reported, when the check run again finds
# nothing (e.g. days put out of order by two PATCHes of one method at once).
FIELD_OF_TABLE = {
    "pricing_shippingzone": "name",
    "pricing_shippingzonecountry": "countries",
    "pricing_shippingmethod": "methods",
}
FIELD_OF_CONSTRAINT = {"pricing_one_rest_of_world_zone": "rest_of_world"}


def _constraint_error(exc: IntegrityError) -> dict[str, list[str]]:
    diag = getattr(exc.__cause__, "diag", None)
    constraint = getattr(diag, "constraint_name", None)
    table = getattr(diag, "table_name", None)
    field = FIELD_OF_CONSTRAINT.get(constraint) or FIELD_OF_TABLE.get(table, "non_field_errors")
    return {field: [CONCURRENT_CHANGE]}


# --- The view ------------------------------------------------------------------------------

NO_CONTENT = OpenApiResponse(description="Deleted, with its countries and methods.")
WRITE_DESCRIPTION = (
    "The zone with its `countries` and nested `methods`, written in one transaction. A method "
    "with an `id` updates that method of the zone, one without is added; {omitted} Refused "
    "with 400 `invalid` (`fields` says where; nothing changes): a name or method code "
    "already used (codes are unique across zones), a country already in another zone, a "
    "rest-of-the-world zone that lists countries or a second one, a method id of another "
    "zone, min_days above max_days."
)


@extend_schema_view(
    list=extend_schema(
        summary="List shipping zones (staff)",
        description="By name, with their countries and methods. Paginated (`page`, "
        "`page_size`: 24 by default, at most 100).",
    ),
    retrieve=extend_schema(summary="Get a shipping zone (staff)"),
    create=extend_schema(
        summary="Create a shipping zone (staff)",
        description=WRITE_DESCRIPTION.format(omitted=""),
    ),
    update=extend_schema(
        summary="Replace a shipping zone (staff)",
        description=WRITE_DESCRIPTION.format(
            omitted="the zone's methods not listed are deleted, and its countries are the "
            "ones listed (`countries` and `methods` left out: none)."
        ),
    ),
    partial_update=extend_schema(
        summary="Update a shipping zone (staff)",
        description=WRITE_DESCRIPTION.format(
            omitted="`countries` and `methods`, when sent, replace the zone's (methods not "
            "listed are deleted); left out, they stay. A new method needs code, name and "
            "price; a method with an `id` takes the fields sent."
        ),
    ),
    destroy=extend_schema(
        summary="Delete a shipping zone (staff)",
        description="Orders keep the shipping method code and name they were placed with.",
        responses={204: NO_CONTENT},
    ),
)
class ShippingZoneViewSet(NotFoundInErrorShapeMixin, viewsets.ModelViewSet):
    """Shipping zones with their countries and methods, for staff (docs/shipping.md).

    Amounts are decimal strings in the store currency (STORE_CURRENCY). The list takes
    four queries (count, zones, countries, methods) whatever the page holds.
    """

    permission_classes = [IsAdminUser]
    serializer_class = ShippingZoneSerializer
    queryset = shipping_zones()
    filter_backends = [KnownQueryParameters]
    lookup_value_converter = "int"

    def _respond(self, zone: ShippingZone, status_code: int = status.HTTP_200_OK) -> Response:
        # Re-read: the response shows what is now stored.
        stored = shipping_zones().get(pk=zone.pk)
        return Response(ShippingZoneSerializer(stored).data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = ShippingZoneSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        zone = save_zone(zone=None, data=serializer.validated_data)
        return self._respond(zone, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        zone = self.get_object()
        serializer = ShippingZoneSerializer(zone, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return self._respond(save_zone(zone=zone, data=serializer.validated_data))
