"""Membership tiers for staff: /api/membership-tiers/, what each membership takes off prices.

Staff only: anonymous callers get 401, customers 403. There is one tier per membership of
the accounts (bronze, silver, gold: User.Membership), created by migration 0003; staff read
them and change their name and `discount_percentage` (0 to 100: 10.00 is 10 % off every
list price for the tier's members), never the set of tiers, so POST and DELETE answer 405
`method_not_allowed`. A refused write (400 `invalid`, `fields` naming what was refused)
changes nothing. Catalog prices depend on the tiers, so a write that changes a tier
invalidates the catalog's response cache when it commits (storefront/catalog/cache.py).
Errors: the one shape of docs/api.md; the endpoint is described in docs/promotions.md, how
the member discount combines with the others in docs/pricing.md.

The write lives here rather than in a pricing services.py, as the tax rates' does
(taxes.py): it is the whole workflow of this one endpoint, and the admin calls it too.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from storefront.accounts.models import User
from storefront.catalog.cache import invalidate_catalog
from storefront.core.api.filters import KnownQueryParameters
from storefront.pricing.api.promotions import MEMBERSHIP_ENUM
from storefront.pricing.api.staff import StaffUpdatesMixin, locked, save_changed
from storefront.pricing.models import MembershipTier

WRITE_FIELDS = ("name", "discount_percentage")
PERCENTAGE_RANGE = "A percentage is from 0 to 100 (10.00 is 10 % off)."


def membership_tiers() -> QuerySet[MembershipTier]:
    """Every tier, smallest discount first (then by code): one query for a page (what
    MembershipTierSerializer reads is the row itself)."""
    return MembershipTier.objects.order_by("discount_percentage", "code", "id")


def percentage_errors(percentage: Decimal | None) -> list[str]:
    """Why `percentage` cannot be a tier's discount (a list of messages, empty when it can):
    it is from 0 to 100. None (not given) is left to the caller's required check."""
    if percentage is not None and not Decimal("0") <= percentage <= Decimal("100"):
        return [PERCENTAGE_RANGE]
    return []


# --- Serializer ----------------------------------------------------------------------------


@extend_schema_field(MEMBERSHIP_ENUM)
class TierCodeField(serializers.ChoiceField):
    """The membership a tier is for (bronze, silver, gold), in the schema the accounts'
    MembershipEnum (one name for the choice set)."""


class MembershipTierSerializer(serializers.Serializer):
    """A tier as staff read and write it:

        {"id", "code": "silver", "name": "Silver", "discount_percentage": "5.00"}

    `code` is the membership (read only); `discount_percentage` a decimal string from 0 to
    100 with at most two places, shown with two ("5.00" is 5 % off each list price).
    """

    id = serializers.IntegerField(read_only=True)
    code = TierCodeField(
        choices=User.Membership.choices,
        read_only=True,
        help_text="The membership (User.membership) whose members get the discount.",
    )
    name = serializers.CharField(max_length=64, help_text='What the tier is called, e.g. "Gold".')
    discount_percentage = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        # The validators interpolate their messages: "%" written twice.
        error_messages=dict.fromkeys(
            ["min_value", "max_value"], PERCENTAGE_RANGE.replace("%", "%%")
        ),
        help_text='Percentage off every list price for the members, 0 to 100: "10.00" is 10 %.',
    )


# --- The write -----------------------------------------------------------------------------


def save_tier(*, tier: MembershipTier, data: Mapping[str, Any]) -> MembershipTier:
    """Change `tier` from `data` as MembershipTierSerializer validated it (any of name and
    discount_percentage, a Decimal from 0 to 100), and when anything changed invalidate the
    catalog's cached responses once the transaction commits (catalog prices show it).

    Raises NotFound if the tier was deleted meanwhile. Nothing is saved on error.
    """
    with transaction.atomic():
        # Two edits of one tier apply one after the other.
        tier = locked(tier, missing="No such membership tier.")
        if save_changed(tier, {name: data[name] for name in WRITE_FIELDS if name in data}):
            invalidate_catalog()
    return tier


# --- The view ------------------------------------------------------------------------------

WRITE_DESCRIPTION = (
    "The tier's `name` and `discount_percentage` (0 to 100 with at most two places: `10.00` "
    "is 10 % off every list price for its members). {omitted} Catalog prices follow once the "
    "write commits (the catalog's cached responses are invalidated). Refused with 400 "
    "`invalid` (`fields` says where; nothing changes): a percentage below 0, above 100, with "
    "more than two places or not a number, a name blank or over 64 characters. The tiers are "
    "the accounts' memberships: POST and DELETE answer 405 `method_not_allowed`."
)


@extend_schema_view(
    list=extend_schema(
        summary="List membership tiers (staff)",
        description="The three tiers (bronze, silver, gold), smallest discount first. "
        "Paginated (`page`, `page_size`: 24 by default, at most 100).",
    ),
    retrieve=extend_schema(summary="Get a membership tier (staff)"),
    update=extend_schema(
        summary="Replace a membership tier (staff)",
        description=WRITE_DESCRIPTION.format(omitted="Both are required."),
    ),
    partial_update=extend_schema(
        summary="Update a membership tier (staff)",
        description=WRITE_DESCRIPTION.format(omitted="Fields left out stay as stored."),
    ),
)
class MembershipTierViewSet(
    StaffUpdatesMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Membership tiers for staff (docs/promotions.md): read, PUT and PATCH only.

    Percentages are decimal strings with two places. The list takes two queries (count,
    tiers).
    """

    serializer_class = MembershipTierSerializer
    queryset = membership_tiers()
    filter_backends = [KnownQueryParameters]

    def write(self, instance: MembershipTier, data: dict[str, Any]) -> MembershipTier:
        return save_tier(tier=instance, data=data)
