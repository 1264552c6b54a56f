"""Vouchers for staff: /api/vouchers/, codes customers enter for a discount on the order.

Staff only: anonymous callers get 401, customers 403. A voucher takes a percentage or a
fixed amount off the order's lines (after promotions and member prices), or waives the
shipping, for an order whose subtotal reaches `min_subtotal`, within its dates, for the
memberships of its `tiers` (none: everyone), up to `usage_limit` orders in all and
`per_customer_limit` per customer. Its `code` is compared ignoring case: stored upper-cased
(the model's check constraint says so), unique. `times_used` counts the orders holding a use
(checkout claims one: storefront/pricing/vouchers.py) and is never written here. A refused
write (400 `invalid`, `fields` naming what was refused) changes nothing.

The rules (a value that fits the kind, dates in order, limits from 1, a code of letters,
digits, - and _ not taken) are checked before writing. An update locks the voucher's row
and checks the value, dates and `usage_limit` again against it: a limit below the uses
already counted is refused, and a checkout claiming a use waits for the lock, so the
model's check constraint `times_used <= usage_limit` cannot fail (a 500). The code is held
by the database's unique constraint; a concurrent write that takes it between the check
and the insert gets the same 400. Errors: the one shape of docs/api.md; the endpoint and its
errors are described in docs/promotions.md, how vouchers combine with the other discounts
in docs/pricing.md.

The write lives here rather than in a pricing services.py, as the tax rates' does
(taxes.py): it is the whole workflow of this one endpoint, and the admin calls it too.
"""

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import django_filters
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, viewsets

from storefront.core.api.filters import KnownQueryParameters, StrictBooleanFilter
from storefront.pricing.api.promotions import (
    MomentField,
    TiersField,
    blame_sent,
    merged,
    value_errors,
    window_errors,
)
from storefront.pricing.api.staff import StaffWritesMixin, locked, save_changed
from storefront.pricing.models import Voucher

# The schema's pattern (OpenAPI regexes have no \Z); normalize_code matches it whole.
CODE_PATTERN = r"^[A-Za-z0-9_-]+$"
CODE_CHARACTERS = re.compile(r"[A-Za-z0-9_-]+")
CODE_MAX_LENGTH = 64
CODE_FORMAT = "1 to 64 letters, digits, - and _."
MAX_LIMIT = 2**31 - 1  # PositiveIntegerField
WRITE_FIELDS = (
    "code",
    "name",
    "kind",
    "value",
    "min_subtotal",
    "starts_at",
    "ends_at",
    "usage_limit",
    "per_customer_limit",
    "tiers",
    "is_active",
)
# The fields of the rules on several fields (voucher_errors), with a new voucher's values.
RULE_FIELDS = {
    "kind": None,
    "value": Decimal("0"),
    "starts_at": None,
    "ends_at": None,
    "usage_limit": None,
}

CODE_TAKEN = "A voucher with this code already exists (codes are compared ignoring case)."
CONCURRENT_CHANGE = "Clashes with a concurrent change; nothing was saved. Read the voucher again."


def vouchers() -> QuerySet[Voucher]:
    """Every voucher, by code: one query for a page (what VoucherSerializer reads is the
    row itself)."""
    return Voucher.objects.order_by("code", "id")


# --- Rules (the admin's form checks them too) ----------------------------------------------


def normalize_code(code: str) -> str:
    """The code as stored and compared: `code` stripped and upper-cased. Raises ValueError
    with CODE_FORMAT unless it is 1 to 64 letters, digits, - and _ (ASCII only, so its upper
    case is PostgreSQL's too)."""
    code = code.strip()
    if len(code) > CODE_MAX_LENGTH or not CODE_CHARACTERS.fullmatch(code):
        raise ValueError(CODE_FORMAT)
    return code.upper()


def voucher_errors(
    *,
    kind: str | None,
    value: Decimal | None,
    starts_at,
    ends_at,
    usage_limit: int | None,
    times_used: int,
) -> dict[str, list[str]]:
    """What a voucher of these values breaks: {field: [messages]}, {} when none. A
    percentage above 0 and at most 100, a fixed amount above 0 (store currency), free
    shipping 0 (value_errors); `ends_at` after `starts_at` (window_errors); `usage_limit`
    (None: no limit) at least `times_used`, the uses already counted."""
    errors = {**value_errors(kind=kind, value=value)}
    errors.update(window_errors(starts_at=starts_at, ends_at=ends_at))
    if usage_limit is not None and usage_limit < times_used:
        errors["usage_limit"] = [
            f"Already used {times_used} times: the limit may not be below that."
        ]
    return errors


def code_taken(*, voucher: Voucher | None, code: str | None) -> dict[str, list[str]]:
    """{"code": [message]} if a voucher other than `voucher` (None: a new one) has `code`
    (as normalize_code leaves it), {} when it is free (or None). One query (none for None)."""
    if code is None:
        return {}
    others = Voucher.objects.filter(code=code.upper())
    if voucher is not None:
        others = others.exclude(pk=voucher.pk)
    return {"code": [CODE_TAKEN]} if others.exists() else {}


# --- Serializer ----------------------------------------------------------------------------


# Stated here: the schema's rule for stripped text (at least one non-space character,
# storefront/core/api/schema.py) would otherwise take the place of the pattern.
@extend_schema_field({"type": "string", "pattern": CODE_PATTERN})
class VoucherCodeField(serializers.RegexField):
    """A voucher code: 1 to 64 letters, digits, - and _, in any case; read upper-cased."""

    def __init__(self, **kwargs):
        super().__init__(CODE_PATTERN, max_length=CODE_MAX_LENGTH, **kwargs)

    def to_internal_value(self, data) -> str:
        # Checked before upper-casing: "ß".upper() is "SS", which the pattern would take.
        try:
            return normalize_code(super().to_internal_value(data))
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


LIMIT_HELP = "At least 1; null: no limit."


class VoucherSerializer(serializers.Serializer):
    """A voucher as staff read and write it:

        {"id", "code": "SUMMER10", "name": "Summer", "kind": "percentage", "value": "10.00",
         "min_subtotal": "50.00", "starts_at": null, "ends_at": null, "usage_limit": 100,
         "per_customer_limit": 1, "tiers": [], "times_used": 0, "is_active": true}

    Amounts are decimal strings with two places in the store currency; `value` a percentage
    (above 0, at most 100), an amount (above 0) or, for free shipping, 0 (the default).
    `times_used` is read only. The code is checked against the other vouchers ignoring
    case; a PATCH is checked with the stored values of the fields it leaves out.
    """

    id = serializers.IntegerField(read_only=True)
    code = VoucherCodeField(
        help_text="What customers enter: 1 to 64 letters, digits, - and _, in any case "
        "(stored upper-cased); unique ignoring case."
    )
    name = serializers.CharField(max_length=128, allow_blank=True, default="")
    kind = serializers.ChoiceField(
        choices=Voucher.Kind.choices,
        help_text="percentage: `value` % off the lines; fixed: `value` off the lines (store "
        "currency); free_shipping: no shipping charged.",
    )
    value = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        default=Decimal("0"),
        help_text="Above 0: a percentage at most 100, or an amount in the store currency; "
        "free_shipping: 0.",
    )
    min_subtotal = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        allow_null=True,
        default=None,
        help_text="The subtotal an order must reach (store currency); null: any.",
    )
    starts_at = MomentField(help_text="From when (ISO 8601); null: already.")
    ends_at = MomentField(help_text="Until when (ISO 8601), after starts_at; null: no end.")
    usage_limit = serializers.IntegerField(
        min_value=1,
        max_value=MAX_LIMIT,
        allow_null=True,
        default=None,
        help_text=f"Orders that may use it in all, not below `times_used`. {LIMIT_HELP}",
    )
    per_customer_limit = serializers.IntegerField(
        min_value=1,
        max_value=MAX_LIMIT,
        allow_null=True,
        default=None,
        help_text=f"Orders of one customer (a guest: one email). {LIMIT_HELP}",
    )
    tiers = TiersField()
    times_used = serializers.IntegerField(
        read_only=True, help_text="Orders holding a use (cancelled orders give theirs back)."
    )
    is_active = serializers.BooleanField(default=True, help_text="Inactive: refused.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        voucher: Voucher | None = self.instance
        values = merged(voucher, attrs, RULE_FIELDS)
        times_used = voucher.times_used if voucher is not None else 0
        errors = blame_sent(voucher_errors(**values, times_used=times_used), attrs)
        errors.update(code_taken(voucher=voucher, code=attrs.get("code")))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


# --- The write -----------------------------------------------------------------------------


def save_voucher(*, voucher: Voucher | None, data: Mapping[str, Any]) -> Voucher:
    """Create a voucher (`voucher` None) or change `voucher`, from `data` as
    VoucherSerializer validated it (any of its writable fields; `code` upper-cased).

    An update locks the voucher's row before checking it again (voucher_errors), so that no
    checkout claims a use between the check and the write. Raises NotFound if the voucher
    was deleted meanwhile; serializers.ValidationError (400, keyed as the serializer's) if a
    concurrent write took the code, or a checkout counted uses above the new `usage_limit`
    (or another write changed the fields a PATCH leaves out so that the rest no longer
    fits), since the serializer checked. Nothing is saved on error.
    """
    try:
        with transaction.atomic():
            return _write_voucher(voucher=voucher, data=data)
    except IntegrityError as exc:
        # The other write has committed (PostgreSQL makes a unique check wait for it), so
        # the check, run again, finds the code it took.
        errors = code_taken(voucher=voucher, code=data.get("code"))
        raise serializers.ValidationError(errors or _constraint_error(exc)) from exc


# Where a constraint a concurrent write broke is reported when the code check run again finds
# nothing (the row lock leaves none of these to break; kept so a gap is a 400, not a 500).
FIELD_OF_CONSTRAINT = {
    "pricing_voucher_value_in_range": "value",
    "pricing_voucher_window_in_order": "ends_at",
    "pricing_voucher_within_usage_limit": "usage_limit",
    "pricing_voucher_code_upper": "code",
}


def _constraint_error(exc: IntegrityError) -> dict[str, list[str]]:
    diag = getattr(exc.__cause__, "diag", None)
    field = FIELD_OF_CONSTRAINT.get(getattr(diag, "constraint_name", None), "code")
    return {field: [CONCURRENT_CHANGE]}


def _write_voucher(*, voucher: Voucher | None, data: Mapping[str, Any]) -> Voucher:
    values = {name: data[name] for name in WRITE_FIELDS if name in data}
    if voucher is None:
        return Voucher.objects.create(**values)
    voucher = locked(voucher, missing="No such voucher.")
    errors = voucher_errors(**merged(voucher, values, RULE_FIELDS), times_used=voucher.times_used)
    errors = blame_sent(errors, values)
    if errors:
        raise serializers.ValidationError(errors)
    # Only the fields changed: times_used is the checkouts' to write.
    save_changed(voucher, values)
    return voucher


# --- The list's filters --------------------------------------------------------------------


class VoucherFilter(django_filters.FilterSet):
    """?is_active=true|false, ?kind=percentage|fixed|free_shipping and ?code= (exact,
    ignoring case); a bad value of is_active or kind is a 400 naming it."""

    is_active = StrictBooleanFilter(help_text="true: active vouchers; false: inactive ones.")
    kind = django_filters.ChoiceFilter(choices=Voucher.Kind.choices)
    code = django_filters.CharFilter(
        method="filter_code", help_text="A code, exactly but in any case: `summer10`."
    )

    class Meta:
        model = Voucher
        fields = ["is_active", "kind", "code"]

    def filter_code(self, queryset: QuerySet[Voucher], name: str, value: str):
        # Codes are stored upper-cased: an equality on the unique index, not UPPER(code).
        return queryset.filter(code=value.strip().upper())


# --- The view ------------------------------------------------------------------------------

NO_CONTENT = OpenApiResponse(description="Deleted.")
WRITE_DESCRIPTION = (
    "A code customers enter for a percentage (`kind` percentage, `value` above 0 and at most "
    "100) or fixed amount (`kind` fixed, `value` above 0 in the store currency) off the "
    "order's lines, or free shipping (`kind` free_shipping, `value` 0), for orders whose "
    "subtotal reaches `min_subtotal`, from `starts_at` to `ends_at` (null: open), for the "
    "memberships of `tiers` (empty: everyone), up to `usage_limit` orders in all and "
    "`per_customer_limit` per customer (null: no limit). {omitted} `times_used` is read only. "
    "Refused with 400 `invalid` (`fields` says where; nothing changes): a code not of 1 to 64 "
    "letters, digits, - and _, or taken (ignoring case); a value that does not fit the kind; "
    "an amount below 0, with more than two places or of 10^10 or more; `ends_at` not after "
    "`starts_at`; a limit below 1; a tier unknown or listed twice{usage}."
)


@extend_schema_view(
    list=extend_schema(
        summary="List vouchers (staff)",
        description="By code. Filters: `is_active`, `kind`, `code` (exact, any case). "
        "Paginated (`page`, `page_size`: 24 by default, at most 100).",
    ),
    retrieve=extend_schema(summary="Get a voucher (staff)"),
    create=extend_schema(
        summary="Create a voucher (staff)",
        description=WRITE_DESCRIPTION.format(
            omitted="Required: code and kind; `value` left out is 0.", usage=""
        ),
    ),
    update=extend_schema(
        summary="Replace a voucher (staff)",
        description=WRITE_DESCRIPTION.format(
            omitted="Fields left out take their defaults (`value` 0, the limits and dates "
            "null, `tiers` empty, `is_active` true).",
            usage="; a `usage_limit` below `times_used`",
        ),
    ),
    partial_update=extend_schema(
        summary="Update a voucher (staff)",
        description=WRITE_DESCRIPTION.format(
            omitted="Fields left out stay as stored, and the rules are checked with them.",
            usage="; a `usage_limit` below `times_used`",
        ),
    ),
    destroy=extend_schema(
        summary="Delete a voucher (staff)",
        description="Also one orders used: they keep its code (`voucher_code`) and the "
        "discount it gave.",
        responses={204: NO_CONTENT},
    ),
)
class VoucherViewSet(StaffWritesMixin, viewsets.ModelViewSet):
    """Vouchers for staff (docs/promotions.md); amounts are decimal strings with two places.

    The list takes two queries (count, vouchers) whatever the page holds.
    """

    serializer_class = VoucherSerializer
    queryset = vouchers()
    filter_backends = [KnownQueryParameters, DjangoFilterBackend]
    filterset_class = VoucherFilter

    def write(self, instance: Voucher | None, data: dict[str, Any]) -> Voucher:
        return save_voucher(voucher=instance, data=data)
