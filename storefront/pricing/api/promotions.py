"""Promotions for staff: /api/promotions/, automatic discounts on the products they select.

Staff only: anonymous callers get 401, customers 403. A promotion takes a percentage or a
fixed amount off each unit of the products it selects (its categories with their
descendants, its collections, its tags, its products; none of the four: every product),
for the memberships of its `tiers` (none: everyone), while active and within its dates. A
refused write (400 `invalid`, `fields` naming what was refused) changes nothing. The rules
(a value above 0, a percentage at most 100, dates in order, ids that exist, tiers listed
once, a code not taken) are checked before writing; the value and dates are checked again
against the row as locked, and the code is held by the database's unique constraint
(storefront/pricing/models.py), so a concurrent write that slips between the two gets the
same 400. Errors: the one shape of docs/api.md; the endpoint and its errors are described
in docs/promotions.md, how promotions combine with the other discounts in docs/pricing.md.

The rules every discount shares (value_errors, window_errors, TiersField) live here and
vouchers.py and the admin use them. The write lives here rather than in a pricing
services.py, as the tax rates' does (taxes.py): it is the whole workflow of this one
endpoint.
"""

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import django_filters
from django.db import IntegrityError, models, transaction
from django.db.models import Prefetch, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, viewsets

from storefront.accounts.models import User
from storefront.catalog.models import Category, Collection, Product, Tag
from storefront.core.api.filters import KnownQueryParameters, StrictBooleanFilter
from storefront.pricing.api.staff import StaffWritesMixin, locked, save_changed
from storefront.pricing.models import Promotion

# What a promotion selects products by: field name -> the model its ids are of.
SELECTION_MODELS: dict[str, type[models.Model]] = {
    "categories": Category,
    "collections": Collection,
    "tags": Tag,
    "products": Product,
}
SCALAR_FIELDS = (
    "code",
    "name",
    "description",
    "kind",
    "value",
    "tiers",
    "starts_at",
    "ends_at",
    "priority",
    "is_active",
)
# A promotion selects at most this many rows of each kind (more: a collection or a tag). Four
# lists of them, with the other fields, keep a form-encoded body under Django's
# DATA_UPLOAD_MAX_NUMBER_FIELDS (1000), which refuses more with an error logged.
MAX_IDS = 200
MAX_ID = 2**63 - 1  # bigint
PRIORITY_RANGE = (-32768, 32767)  # SmallIntegerField
# The fields of the rules on two fields (value_errors, window_errors), with their defaults.
RULE_FIELDS = {"kind": None, "value": None, "starts_at": None, "ends_at": None}
# Where a rule on two fields is reported when a PATCH sends only the other one.
OTHER_FIELD = {"value": "kind", "ends_at": "starts_at"}

MUST_BE_POSITIVE = "Must be greater than 0."
PERCENTAGE_AT_MOST_100 = "A percentage is at most 100 (10.00 is 10 % off)."
FREE_SHIPPING_VALUE = "A free-shipping voucher has no value: send 0 or leave it out."
CODE_TAKEN = "A promotion with this code already exists."
CONCURRENT_CHANGE = "Clashes with a concurrent change; nothing was saved. Read the promotion again."


def promotions() -> QuerySet[Promotion]:
    """Every promotion, highest priority first (then by code), with the ids it selects
    prefetched: six queries for a page of any size with its count (what
    PromotionSerializer reads)."""
    return Promotion.objects.prefetch_related(
        *(
            Prefetch(name, queryset=model.objects.only("pk").order_by("pk"))
            for name, model in SELECTION_MODELS.items()
        )
    ).order_by("-priority", "code", "id")


# --- Rules shared by promotions and vouchers (and their admin forms) -----------------------


def value_errors(*, kind: str | None, value: Decimal | None) -> dict[str, list[str]]:
    """{"value": [message]} if `value` is not one a discount of `kind` may take, {} if it is
    (or either is unknown, None): a percentage above 0 and at most 100, a fixed amount
    above 0 (store currency; its places and digits are the field's), free shipping 0."""
    if kind is None or value is None:
        return {}
    if kind == "free_shipping":
        return {} if value == 0 else {"value": [FREE_SHIPPING_VALUE]}
    if value <= 0:
        return {"value": [MUST_BE_POSITIVE]}
    if kind == "percentage" and value > 100:
        return {"value": [PERCENTAGE_AT_MOST_100]}
    return {}


def window_errors(
    *, starts_at: dt.datetime | None, ends_at: dt.datetime | None
) -> dict[str, list[str]]:
    """{"ends_at": [message]} unless `starts_at` is before `ends_at` (either may be None,
    open), {} when they are in order."""
    if starts_at is not None and ends_at is not None and not starts_at < ends_at:
        return {"ends_at": [f"Must be after starts_at ({starts_at.isoformat()})."]}
    return {}


def listed_twice(values: Iterable[Any]) -> list[str]:
    """[message] naming the values listed more than once, or [] when none is."""
    repeated = [str(value) for value, n in Counter(values).items() if n > 1]
    return [f"Listed twice: {', '.join(sorted(repeated))}."] if repeated else []


def blame_sent(errors: dict[str, list[str]], sent: Iterable[str]) -> dict[str, list[str]]:
    """`errors` of a rule on two fields with each moved to the other field of its pair
    (OTHER_FIELD) when only that one was sent: a PATCH of `kind` that the stored value does
    not fit is refused on `kind`."""
    sent = set(sent)
    moved: dict[str, list[str]] = {}
    for field, messages in errors.items():
        other = OTHER_FIELD.get(field)
        target = other if field not in sent and other in sent else field
        moved.setdefault(target, []).extend(messages)
    return moved


# The choice set of User.membership, whose component the accounts' `membership` names: a
# `tiers` enum of its own would give the same three memberships a second name.
MEMBERSHIP_ENUM = {"$ref": "#/components/schemas/MembershipEnum"}


@extend_schema_field({"type": "array", "items": MEMBERSHIP_ENUM})
class TiersField(serializers.ListField):
    """The memberships a discount is for (bronze, silver, gold), each at most once; empty:
    everyone, guests included."""

    child = serializers.ChoiceField(choices=User.Membership.choices)

    def __init__(self, **kwargs):
        kwargs.setdefault("default", list)
        kwargs.setdefault(
            "help_text",
            'Memberships it is for, e.g. ["silver", "gold"], each once; []: everyone, '
            "guests included.",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> list[str]:
        tiers = super().to_internal_value(data)
        repeated = listed_twice(tiers)
        if repeated:
            raise serializers.ValidationError(repeated)
        return tiers


def merged(
    instance: models.Model | None, attrs: Mapping[str, Any], defaults: Mapping[str, Any]
) -> dict[str, Any]:
    """The values `instance` (None: a new row) is to have of the fields in `defaults`:
    those of `attrs`, else its stored ones, else (a new row) the defaults."""
    values = {}
    for name, default in defaults.items():
        if name in attrs:
            values[name] = attrs[name]
        elif instance is not None:
            values[name] = getattr(instance, name)
        else:
            values[name] = default
    return values


class MomentField(serializers.DateTimeField):
    """An ISO 8601 date and time (without an offset: in the store's TIME_ZONE), or null. One
    less than a day from the ends of the calendar (year 1, year 9999) is refused: shown in
    another time zone it would leave it, and fail."""

    EARLIEST = dt.datetime(1, 1, 2, tzinfo=dt.UTC)
    LATEST = dt.datetime(9999, 12, 30, tzinfo=dt.UTC)

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("default", None)
        super().__init__(**kwargs)

    def to_internal_value(self, value) -> dt.datetime:
        moment = super().to_internal_value(value)
        if not self.EARLIEST <= moment <= self.LATEST:
            self.fail("overflow")
        return moment


# --- Promotion rules -----------------------------------------------------------------------


def promotion_errors(
    *, kind: str | None, value: Decimal | None, starts_at, ends_at
) -> dict[str, list[str]]:
    """What a promotion of these values breaks: {field: [messages]}, {} when none (see
    value_errors and window_errors)."""
    return {
        **value_errors(kind=kind, value=value),
        **window_errors(starts_at=starts_at, ends_at=ends_at),
    }


def unknown_ids(selection: Mapping[str, Iterable[int]]) -> dict[str, list[str]]:
    """{field: [message naming the ids]} for the ids of each field of `selection`
    (categories, collections, tags, products) that no row has; {} when all exist. One
    query per field given."""
    errors = {}
    for name, ids in selection.items():
        wanted = set(ids)
        if not wanted:
            continue
        model = SELECTION_MODELS[name]
        found = set(model.objects.filter(pk__in=wanted).values_list("pk", flat=True))
        missing = sorted(wanted - found)
        if missing:
            noun = model._meta.verbose_name_plural if len(missing) > 1 else model._meta.verbose_name
            errors[name] = [f"No such {noun}: {', '.join(map(str, missing))}."]
    return errors


def code_taken(*, promotion: Promotion | None, code: str | None) -> dict[str, list[str]]:
    """{"code": [message]} if a promotion other than `promotion` (None: a new one) has
    `code`, {} when it is free (or None). One query (none for None)."""
    if code is None:
        return {}
    others = Promotion.objects.filter(code=code)
    if promotion is not None:
        others = others.exclude(pk=promotion.pk)
    return {"code": [CODE_TAKEN]} if others.exists() else {}


# --- Serializer ----------------------------------------------------------------------------


# Stated here: the schema's rule for stripped text (at least one non-space character,
# storefront/core/api/schema.py) would otherwise take the place of the slug pattern.
@extend_schema_field({"type": "string", "pattern": r"^[-a-zA-Z0-9_]+$"})
class PromotionCodeField(serializers.SlugField):
    """A promotion code: a slug (letters, digits, - and _) of 1 to 64 characters."""


class IdsField(serializers.ListField):
    """Ids of rows a promotion selects (each at most once), read from its prefetched
    relation, sorted."""

    child = serializers.IntegerField(min_value=1, max_value=MAX_ID)

    def __init__(self, **kwargs):
        kwargs.setdefault("default", list)
        kwargs.setdefault("max_length", MAX_IDS)
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> list[int]:
        ids = super().to_internal_value(data)
        repeated = listed_twice(ids)
        if repeated:
            raise serializers.ValidationError(repeated)
        return ids

    def to_representation(self, data) -> list[int]:
        return [row.pk for row in data.all()]


class PromotionSerializer(serializers.Serializer):
    """A promotion as staff read and write it:

        {"id", "code": "summer-mugs", "name": "Summer mugs", "description": "",
         "kind": "percentage", "value": "15.00", "categories": [3], "collections": [],
         "tags": [], "products": [], "tiers": [], "starts_at": "2026-06-01T00:00:00Z",
         "ends_at": null, "priority": 0, "is_active": true}

    `value` is a percentage (above 0, at most 100: "15.00" is 15 % off) or a fixed amount
    off each unit (above 0, store currency), decimal strings with two places. The four id
    lists select products (empty, all four: every product); ids must exist. Checks that
    need the database (ids, a code taken) are made here; a PATCH is checked with the stored
    values of the fields it leaves out.
    """

    id = serializers.IntegerField(read_only=True)
    code = PromotionCodeField(
        max_length=64, help_text="Letters, digits, - and _; unique. Orders keep it."
    )
    name = serializers.CharField(max_length=128, help_text="Shown to customers in quotes.")
    description = serializers.CharField(max_length=255, allow_blank=True, default="")
    kind = serializers.ChoiceField(
        choices=Promotion.Kind.choices,
        help_text="percentage: `value` % off each unit; fixed: `value` off each unit (store "
        "currency).",
    )
    value = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        help_text="Above 0: a percentage at most 100 (kind percentage) or an amount in the "
        "store currency (kind fixed).",
    )
    categories = IdsField(help_text="Category ids: their products and their descendants'.")
    collections = IdsField(help_text="Collection ids: their products.")
    tags = IdsField(help_text="Tag ids: the products with one of them.")
    products = IdsField(
        help_text="Product ids. With all four lists empty, the promotion is for every product."
    )
    tiers = TiersField()
    starts_at = MomentField(help_text="From when (ISO 8601); null: already.")
    ends_at = MomentField(help_text="Until when (ISO 8601), after starts_at; null: no end.")
    priority = serializers.IntegerField(
        min_value=PRIORITY_RANGE[0],
        max_value=PRIORITY_RANGE[1],
        default=0,
        help_text="A line gets one promotion: the highest priority, then the largest discount.",
    )
    is_active = serializers.BooleanField(default=True, help_text="Inactive: never applies.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        promotion: Promotion | None = self.instance
        errors = blame_sent(promotion_errors(**merged(promotion, attrs, RULE_FIELDS)), attrs)
        errors.update(
            unknown_ids({name: attrs[name] for name in SELECTION_MODELS if name in attrs})
        )
        errors.update(code_taken(promotion=promotion, code=attrs.get("code")))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


# --- The write -----------------------------------------------------------------------------


def save_promotion(*, promotion: Promotion | None, data: Mapping[str, Any]) -> Promotion:
    """Create a promotion (`promotion` None) or change `promotion`, in one transaction, from
    `data` as PromotionSerializer validated it (any of its writable fields; the four id
    lists, when given, replace the promotion's).

    Raises NotFound if the promotion was deleted meanwhile; serializers.ValidationError (400,
    keyed as the serializer's) if a concurrent write took the code, deleted a row it selects,
    or changed the fields a PATCH leaves out so that the value or dates no longer fit,
    since the serializer checked. Nothing is saved on error.
    """
    try:
        with transaction.atomic():
            return _write_promotion(promotion=promotion, data=data)
    except IntegrityError as exc:
        # The other write has committed (PostgreSQL makes a unique check wait for it, and
        # checks the deferred foreign keys at this commit), so the checks, run again, name
        # what it took.
        errors = code_taken(promotion=promotion, code=data.get("code"))
        errors.update(unknown_ids({name: data[name] for name in SELECTION_MODELS if name in data}))
        raise serializers.ValidationError(
            errors or {"non_field_errors": [CONCURRENT_CHANGE]}
        ) from exc


def _write_promotion(*, promotion: Promotion | None, data: Mapping[str, Any]) -> Promotion:
    values = {name: data[name] for name in SCALAR_FIELDS if name in data}
    if promotion is None:
        promotion = Promotion.objects.create(**values)
    else:
        promotion = locked(promotion, missing="No such promotion.")
        # Checked again with the locked row: a concurrent PATCH of the other field of a rule
        # would otherwise break the model's check constraint (a 500).
        errors = blame_sent(promotion_errors(**merged(promotion, values, RULE_FIELDS)), values)
        if errors:
            raise serializers.ValidationError(errors)
        save_changed(promotion, values)
    for name in SELECTION_MODELS:
        if name in data:
            getattr(promotion, name).set(data[name])
    return promotion


# --- The list's filters --------------------------------------------------------------------


class PromotionFilter(django_filters.FilterSet):
    """?is_active=true|false and ?kind=percentage|fixed; any other value of either is a 400
    naming it."""

    is_active = StrictBooleanFilter(help_text="true: active promotions; false: inactive ones.")
    kind = django_filters.ChoiceFilter(choices=Promotion.Kind.choices)

    class Meta:
        model = Promotion
        fields = ["is_active", "kind"]


# --- The view ------------------------------------------------------------------------------

NO_CONTENT = OpenApiResponse(description="Deleted.")
WRITE_DESCRIPTION = (
    "A percentage (`kind` percentage, `value` above 0 and at most 100) or fixed amount "
    "(`kind` fixed, `value` above 0 in the store currency) off each unit of the products it "
    "selects: those of its `categories` (with their descendants), `collections`, `tags` and "
    "`products` (all four empty: every product), for the memberships of `tiers` (empty: "
    "everyone), from `starts_at` to `ends_at` (null: open). {omitted} Refused with 400 "
    "`invalid` (`fields` says where; nothing changes): a value of 0 or below, a percentage "
    "above 100, an amount with more than two places or of 10^10 or more, `ends_at` not after "
    "`starts_at`, an id no category, collection, tag or product has, an id or tier listed "
    "twice, more than 200 ids in a list, an unknown tier, a priority outside -32768 to "
    "32767, a code taken."
)


@extend_schema_view(
    list=extend_schema(
        summary="List promotions (staff)",
        description="Highest priority first, then by code. Filters: `is_active`, `kind`. "
        "Paginated (`page`, `page_size`: 24 by default, at most 100).",
    ),
    retrieve=extend_schema(summary="Get a promotion (staff)"),
    create=extend_schema(
        summary="Create a promotion (staff)",
        description=WRITE_DESCRIPTION.format(
            omitted="Required: code, name, kind, value; the lists left out are empty."
        ),
    ),
    update=extend_schema(
        summary="Replace a promotion (staff)",
        description=WRITE_DESCRIPTION.format(
            omitted="Fields left out take their defaults (the lists empty, the dates null, "
            "`priority` 0, `is_active` true)."
        ),
    ),
    partial_update=extend_schema(
        summary="Update a promotion (staff)",
        description=WRITE_DESCRIPTION.format(
            omitted="Fields left out stay as stored, and the rules are checked with them; a "
            "list sent replaces the promotion's."
        ),
    ),
    destroy=extend_schema(
        summary="Delete a promotion (staff)",
        description="Orders keep the discounts they were placed with (code, name, amount).",
        responses={204: NO_CONTENT},
    ),
)
class PromotionViewSet(StaffWritesMixin, viewsets.ModelViewSet):
    """Promotions for staff (docs/promotions.md); values are decimal strings with two places.

    The list takes six queries (count, promotions, and the ids of their categories,
    collections, tags and products) whatever the page holds.
    """

    serializer_class = PromotionSerializer
    queryset = promotions()
    filter_backends = [KnownQueryParameters, DjangoFilterBackend]
    filterset_class = PromotionFilter

    def write(self, instance: Promotion | None, data: dict[str, Any]) -> Promotion:
        return save_promotion(promotion=instance, data=data)

    def shown(self, instance: Promotion) -> dict[str, Any]:
        # Re-read: the answer shows what is now stored, with the ids prefetched.
        return PromotionSerializer(promotions().get(pk=instance.pk)).data
