"""Shipping setups for tests: the US shop of docs/pricing.md's worked examples."""

from decimal import Decimal

from storefront.pricing.models import ShippingMethod, ShippingZone, ShippingZoneCountry


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
