"""Storefront-side set-up of the benchmark, run inside Storefront's virtualenv with its settings.

    python -m bench.storefront_setup PASSWORD EMAIL...     create the customers (idempotent)
    python -m bench.storefront_setup --pricing             create the checkout's shipping
                                                           method, tax rate and voucher
    python -m bench.storefront_setup --invalidate-catalog  drop every cached catalog response

Users are saved one by one through the ORM (User.save, so whatever Storefront does on user
creation, such as creating the cart, runs), all with one precomputed password hash: hashing is
the slow part and is not what is measured.

The catalog is loaded with COPY, which bypasses the ORM and so the signals that invalidate
Storefront's response cache (storefront/catalog/cache.py): the bench invalidates it after the
load, before any server starts, and stops if the cache cannot be reached.

Every bench checkout is placed with a shipping method, tax and a voucher (bench/checkout.py):
`--pricing` creates them, or puts them back as the bench needs them (ensure_pricing), before
the servers start.
"""

import json
import sys
from decimal import Decimal

import django

from bench.rows import set_fields

# What ensure_pricing creates; bench/checkout.py sends the method's and the voucher's codes.
ZONE_NAME = "Bench domestic"
ZONE_COUNTRY = "US"
METHOD = {
    "code": "bench-standard",
    "name": "Bench standard",
    "price": Decimal("4.99"),
    "free_shipping_threshold": None,
    "min_days": 1,
    "max_days": 5,
    "is_active": True,
    "position": 0,
    "weight_bands": [],
}
TAX_RATE = {"rate": Decimal("0.0725"), "name": "Sales tax"}
VOUCHER = {
    "code": "BENCH10",
    "name": "Bench 10 % off",
    "kind": "percentage",
    "value": Decimal("10.00"),
    "min_subtotal": None,
    "starts_at": None,
    "ends_at": None,
    "usage_limit": None,
    "per_customer_limit": None,
    "tiers": [],
    "is_active": True,
}


def ensure_customers(password: str, emails: list[str]) -> int:
    """Create the customers that do not exist yet; return how many were created."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    user_model = get_user_model()
    existing = set(user_model.objects.filter(email__in=emails).values_list("email", flat=True))
    hashed = make_password(password)
    created = 0
    for email in emails:
        if email not in existing:
            user_model(email=email, password=hashed, first_name="Bench").save()
            created += 1
    return created


def ensure_pricing() -> dict[str, str]:
    """Create, or set back to what the bench needs, its shipping zone "Bench domestic"
    holding the US (taken from another zone if one holds it) with the method
    `bench-standard` (4.99, never free), the standard tax rate of the whole US (7.25 %,
    "Sales tax") and the voucher BENCH10 (10 % off, no usage limit). Idempotent; returns
    {"zone" | "country" | "method" | "tax_rate" | "voucher": "created" | "updated" |
    "unchanged"}. The voucher's count of uses is left as it is."""
    from django.db import transaction

    from storefront.pricing.models import (
        ShippingMethod,
        ShippingZone,
        ShippingZoneCountry,
        TaxClass,
        TaxRate,
        Voucher,
    )

    with transaction.atomic():
        zone, created = ShippingZone.objects.get_or_create(
            name=ZONE_NAME, defaults={"rest_of_world": False}
        )
        done = {"zone": "created" if created else set_fields(zone, {"rest_of_world": False})}
        place, created = ShippingZoneCountry.objects.get_or_create(
            country=ZONE_COUNTRY, defaults={"zone": zone}
        )
        done["country"] = "created" if created else set_fields(place, {"zone_id": zone.pk})
        values = {**METHOD, "zone_id": zone.pk}
        method = ShippingMethod.objects.filter(code=METHOD["code"]).first()
        if method is None:
            ShippingMethod.objects.create(**values)
            done["method"] = "created"
        else:
            done["method"] = set_fields(method, values)
        rate = TaxRate.objects.filter(
            country=ZONE_COUNTRY, region="", tax_class=TaxClass.STANDARD
        ).first()
        if rate is None:
            TaxRate.objects.create(
                country=ZONE_COUNTRY, region="", tax_class=TaxClass.STANDARD, **TAX_RATE
            )
            done["tax_rate"] = "created"
        else:
            done["tax_rate"] = set_fields(rate, TAX_RATE)
        voucher = Voucher.objects.filter(code=VOUCHER["code"]).first()
        if voucher is None:
            Voucher.objects.create(**VOUCHER)
            done["voucher"] = "created"
        else:
            done["voucher"] = set_fields(voucher, VOUCHER)
    return done


def invalidate_catalog_cache() -> str:
    """Invalidate every cached catalog response; return the new catalog version.

    invalidate_catalog() logs and carries on when the cache is unreachable; here that must stop
    the bench (its cached responses could belong to the catalog loaded before), so the version
    is read back: an unreachable cache raises, an unchanged version is an error.
    """
    from django.core.cache import cache

    from storefront.catalog import cache as catalog_cache

    before = cache.get(catalog_cache.VERSION_KEY)
    catalog_cache.invalidate_catalog()
    after = cache.get(catalog_cache.VERSION_KEY)
    if after is None or after == before:
        raise RuntimeError("Storefront's catalog cache was not invalidated (cache unreachable?)")
    return after


if __name__ == "__main__":
    django.setup()
    if sys.argv[1:] == ["--invalidate-catalog"]:
        print(invalidate_catalog_cache())
    elif sys.argv[1:] == ["--pricing"]:
        print(json.dumps(ensure_pricing()))
    else:
        print(ensure_customers(sys.argv[1], sys.argv[2:]))
