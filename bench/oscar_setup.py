"""Oscar-side set-up of the benchmark, run inside bench/.venv-oscar with bench.oscar_site.settings.

    python -m bench.oscar_setup     create the checkout's voucher BENCH10 (idempotent)

Oscar's voucher is data in four tables: a range (every product), a condition (at least one
item of the range), a benefit (10 % off the range's items) and a voucher offer holding them,
and the voucher itself (code BENCH10, usable by anyone any number of times) linked to the
offer. ensure_voucher creates them, or sets them back to that, once the catalog is loaded
and before the servers start. The bench's customers add it to each basket
(POST /api/basket/add-voucher/, bench/checkout.py). Oscar's shipping method and tax are
classes, not data: bench/oscar_site/shop.py.
"""

import json
from datetime import UTC, datetime
from decimal import Decimal

import django

from bench.rows import set_fields

VOUCHER_CODE = "BENCH10"
RANGE_NAME = "Bench: every product"
OFFER_NAME = "Bench voucher: 10 % off"
# Oscar's vouchers must have both dates.
VALID_FROM = datetime(2000, 1, 1, tzinfo=UTC)
VALID_UNTIL = datetime(2100, 1, 1, tzinfo=UTC)


def ensure_voucher() -> dict[str, str]:
    """Create, or set back to what the bench needs, the voucher BENCH10 and its offer;
    return {"range" | "condition" | "benefit" | "offer" | "voucher": "created" | "updated"
    | "unchanged"}. Its counts of uses are left as they are."""
    from django.db import transaction
    from oscar.core.loading import get_model

    product_range = get_model("offer", "Range")
    condition_model = get_model("offer", "Condition")
    benefit_model = get_model("offer", "Benefit")
    offer_model = get_model("offer", "ConditionalOffer")
    voucher_model = get_model("voucher", "Voucher")

    done: dict[str, str] = {}
    with transaction.atomic():
        every, created = product_range.objects.get_or_create(
            name=RANGE_NAME, defaults={"includes_all_products": True, "is_public": False}
        )
        done["range"] = "created" if created else set_fields(every, {"includes_all_products": True})
        rules = {
            "condition": {"range": every, "type": condition_model.COUNT, "value": Decimal(1)},
            "benefit": {
                "range": every,
                "type": benefit_model.PERCENTAGE,
                "value": Decimal(10),
                "max_affected_items": None,
            },
        }
        offer = offer_model.objects.filter(name=OFFER_NAME).first()
        if offer is None:
            condition = condition_model.objects.create(**rules["condition"])
            benefit = benefit_model.objects.create(**rules["benefit"])
            offer = offer_model.objects.create(
                name=OFFER_NAME,
                offer_type=offer_model.VOUCHER,
                condition=condition,
                benefit=benefit,
            )
            done.update(condition="created", benefit="created", offer="created")
        else:
            done["condition"] = set_fields(offer.condition, rules["condition"])
            done["benefit"] = set_fields(offer.benefit, rules["benefit"])
            done["offer"] = set_fields(
                offer,
                {
                    "offer_type": offer_model.VOUCHER,
                    "status": offer_model.OPEN,
                    "start_datetime": None,
                    "end_datetime": None,
                    "max_global_applications": None,
                    "max_user_applications": None,
                    "max_basket_applications": None,
                    "max_discount": None,
                },
            )
        voucher = voucher_model.objects.filter(code=VOUCHER_CODE).first()
        values = {
            "name": "Bench 10 % off",
            "usage": voucher_model.MULTI_USE,
            "start_datetime": VALID_FROM,
            "end_datetime": VALID_UNTIL,
        }
        if voucher is None:
            voucher = voucher_model.objects.create(code=VOUCHER_CODE, **values)
            done["voucher"] = "created"
        else:
            done["voucher"] = set_fields(voucher, values)
        if list(voucher.offers.all()) != [offer]:
            voucher.offers.set([offer])
            if done["voucher"] == "unchanged":
                done["voucher"] = "updated"
    return done


if __name__ == "__main__":
    django.setup()
    print(json.dumps(ensure_voucher()))
