from decimal import Decimal

import pytest

from storefront.pricing.models import MembershipTier

TIERS = {"bronze": Decimal("0"), "silver": Decimal("5"), "gold": Decimal("10")}


@pytest.fixture(autouse=True)
def tiers(db):
    """The tiers of migration pricing 0003, whatever a test that flushed the tables left."""
    for code, percentage in TIERS.items():
        MembershipTier.objects.update_or_create(
            code=code, defaults={"name": code.title(), "discount_percentage": percentage}
        )
