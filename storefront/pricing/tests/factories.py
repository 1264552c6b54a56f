"""Pricing setups for tests: the US shop of docs/pricing.md's worked examples, and the
discounts (tiers, promotions, vouchers)."""

from decimal import Decimal

import factory

from storefront.pricing.models import (
    DEFAULT_TIER_DISCOUNTS,
    MembershipTier,
    Promotion,
    ShippingMethod,
    ShippingZone,
    ShippingZoneCountry,
    Voucher,
)


def domestic_zone(*countries: str) -> ShippingZone:
    """Zone "Domestic" with `countries` (default US): `standard` 4.99, free from 50.00, 3 to
    5 days; `express` 14.99, 1 to 2 days."""
    zone = ShippingZone.objects.create(name="Domestic")
    for country in countries or ("US",):
        ShippingZoneCountry.objects.create(zone=zone, country=country)
    ShippingMethod.objects.create(
        zone=zone,
        code="standard",
        name="Standard",
        price=Decimal("4.99"),
        free_shipping_threshold=Decimal("50.00"),
        min_days=3,
        max_days=5,
    )
    ShippingMethod.objects.create(
        zone=zone, code="express", name="Express", price=Decimal("14.99"), min_days=1, max_days=2
    )
    return zone


def rest_of_world_zone() -> ShippingZone:
    """Zone "International" for the rest of the world: `international` 24.99, 7 to 14 days."""
    zone = ShippingZone.objects.create(name="International", rest_of_world=True)
    ShippingMethod.objects.create(
        zone=zone,
        code="international",
        name="International",
        price=Decimal("24.99"),
        min_days=7,
        max_days=14,
    )
    return zone


def membership_tiers() -> dict[str, MembershipTier]:
    """The three tiers as migration 0003 creates them (bronze 0 %, silver 5 %, gold 10 %),
    by code: created again if a transactional test's flush removed them, reset if a test
    changed them."""
    tiers = {}
    for code, percentage in DEFAULT_TIER_DISCOUNTS.items():
        tiers[code], _ = MembershipTier.objects.update_or_create(
            code=code, defaults={"name": code.title(), "discount_percentage": percentage}
        )
    return tiers


class PromotionFactory(factory.django.DjangoModelFactory):
    """An active promotion of 10 % off every product, for everyone."""

    class Meta:
        model = Promotion

    code = factory.Sequence(lambda n: f"promotion-{n}")
    name = factory.Sequence(lambda n: f"Promotion {n}")
    kind = Promotion.Kind.PERCENTAGE
    value = Decimal("10.00")


class VoucherFactory(factory.django.DjangoModelFactory):
    """An active voucher of 10 % off, without limits, for everyone."""

    class Meta:
        model = Voucher

    code = factory.Sequence(lambda n: f"VOUCHER{n}")
    name = factory.Sequence(lambda n: f"Voucher {n}")
    kind = Voucher.Kind.PERCENTAGE
    value = Decimal("10.00")
