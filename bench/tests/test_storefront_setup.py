"""The bench's Storefront set-up: the invalidation of the response cache after the COPY load,
and the shipping method, tax rate and voucher every bench checkout is placed with."""

from decimal import Decimal

import pytest
from django.core.cache import cache

from bench import checkout
from bench.storefront_setup import ensure_pricing, invalidate_catalog_cache
from storefront.catalog import cache as catalog_cache

# invalidate_catalog() bumps when the transaction commits; the bench calls it in autocommit
# mode, as these tests do (transaction=True), where it bumps at once.
pytestmark = pytest.mark.django_db(transaction=True)


def test_invalidation_replaces_the_catalog_version():
    cache.set(catalog_cache.VERSION_KEY, "loaded-before", timeout=None)

    version = invalidate_catalog_cache()

    assert version != "loaded-before"
    assert cache.get(catalog_cache.VERSION_KEY) == version


def test_invalidation_that_did_not_happen_stops_the_bench(monkeypatch):
    monkeypatch.setattr(catalog_cache, "invalidate_catalog", lambda: None)
    cache.set(catalog_cache.VERSION_KEY, "loaded-before", timeout=None)

    with pytest.raises(RuntimeError, match="not invalidated"):
        invalidate_catalog_cache()


# --- The checkout's shipping method, tax rate and voucher (ensure_pricing) -----------------


def _pricing_rows() -> dict:
    from storefront.pricing.models import ShippingMethod, ShippingZoneCountry, TaxRate, Voucher

    method = ShippingMethod.objects.select_related("zone").get(code="bench-standard")
    return {
        "zone": method.zone.name,
        "country_zone": ShippingZoneCountry.objects.get(country="US").zone.name,
        "method": (method.price, method.free_shipping_threshold, method.is_active),
        "rate": list(TaxRate.objects.values_list("country", "region", "tax_class", "rate", "name")),
        "voucher": list(
            Voucher.objects.values_list("code", "kind", "value", "usage_limit", "is_active")
        ),
    }


def test_pricing_setup_creates_the_zone_method_tax_rate_and_voucher():
    done = ensure_pricing()

    assert done == dict.fromkeys(["zone", "country", "method", "tax_rate", "voucher"], "created")
    assert _pricing_rows() == {
        "zone": "Bench domestic",
        "country_zone": "Bench domestic",
        "method": (Decimal("4.99"), None, True),
        "rate": [("US", "", "standard", Decimal("0.0725"), "Sales tax")],
        "voucher": [("BENCH10", "percentage", Decimal("10.00"), None, True)],
    }


def test_pricing_setup_is_idempotent():
    from storefront.pricing.models import ShippingMethod, ShippingZone, TaxRate, Voucher

    ensure_pricing()
    before = _pricing_rows()

    done = ensure_pricing()

    assert set(done.values()) == {"unchanged"}
    assert _pricing_rows() == before
    counts = [m.objects.count() for m in (ShippingZone, ShippingMethod, TaxRate, Voucher)]
    assert counts == [1, 1, 1, 1]


def test_pricing_setup_puts_back_what_the_bench_needs_and_takes_the_us_from_another_zone():
    from storefront.pricing.models import ShippingMethod, TaxRate, Voucher
    from storefront.pricing.tests.factories import domestic_zone

    domestic_zone("US")  # the demo shop's zone holds the US
    TaxRate.objects.create(country="US", rate=Decimal("0.1000"), name="Other")
    Voucher.objects.create(
        code="BENCH10", kind="fixed", value=Decimal("5"), usage_limit=3, is_active=False
    )
    ensure_pricing()
    ShippingMethod.objects.filter(code="bench-standard").update(
        price=Decimal("0.00"), free_shipping_threshold=Decimal("10.00")
    )
    Voucher.objects.filter(code="BENCH10").update(times_used=3)

    done = ensure_pricing()

    assert done == {
        "zone": "unchanged", "country": "unchanged", "method": "updated",
        "tax_rate": "unchanged", "voucher": "unchanged",
    }  # fmt: skip
    rows = _pricing_rows()
    assert rows["country_zone"] == "Bench domestic"
    assert rows["method"] == (Decimal("4.99"), None, True)
    assert rows["rate"] == [("US", "", "standard", Decimal("0.0725"), "Sales tax")]
    assert rows["voucher"] == [("BENCH10", "percentage", Decimal("10.00"), None, True)]
    assert Voucher.objects.get(code="BENCH10").times_used == 3  # uses are left as they are


def test_the_first_setup_reports_what_it_changed_in_rows_already_there():
    from storefront.pricing.models import TaxRate, Voucher
    from storefront.pricing.tests.factories import domestic_zone

    domestic_zone("US")
    TaxRate.objects.create(country="US", rate=Decimal("0.1000"), name="Other")
    Voucher.objects.create(code="BENCH10", kind="fixed", value=Decimal("5"), usage_limit=3)

    done = ensure_pricing()

    assert done == {
        "zone": "created", "country": "updated", "method": "created", "tax_rate": "updated",
        "voucher": "updated",
    }  # fmt: skip


# --- The bench's checkout body, placed for real, and the check of its orders ---------------


def _dsn() -> str:
    from django.db import connection

    from storefront.core.servers import database_url_of

    return database_url_of(connection.settings_dict)


def _shop() -> checkout.StorefrontShop:
    return checkout.StorefrontShop(host="127.0.0.1", port=1, dsn=_dsn(), emails=[], password="")


def _buy(client, variant, body: dict) -> dict:
    response = client.post(
        "/api/cart/items/", {"variant_id": variant.id, "quantity": 2}, format="json"
    )
    assert response.status_code == 201, response.content
    response = client.post("/api/orders/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_the_bench_checkout_body_places_an_order_with_shipping_tax_and_the_voucher(
    customer_client,
):
    from storefront.catalog.tests.factories import VariantFactory
    from storefront.orders.models import Order

    ensure_pricing()
    variant = VariantFactory(price=Decimal("19.99"), stock_quantity=10)
    before = _shop().last_order_id()

    _buy(customer_client, variant, checkout.storefront_order_body())

    # docs/pricing.md, example M, with the tax rate of the whole US: 39.98 - 4.00 voucher
    # + 4.99 shipping + 2.61 + 0.36 tax.
    order = Order.objects.get()
    assert (order.subtotal, order.discount_total) == (Decimal("39.98"), Decimal("4.00"))
    assert (order.shipping_total, order.tax_total) == (Decimal("4.99"), Decimal("2.97"))
    assert order.total == Decimal("43.94")
    assert (order.shipping_method_code, order.voucher_code) == ("bench-standard", "BENCH10")
    assert order.shipping_address_details["country"] == "US"
    extras = _shop().extras_since(before)
    assert extras == {"orders": 1, "shipping": 1, "tax": 1, "voucher": 1}
    assert checkout.extras_complete(extras)


def test_orders_without_the_voucher_or_tax_are_counted_as_such(customer_client):
    from storefront.catalog.tests.factories import VariantFactory
    from storefront.pricing.models import TaxRate

    ensure_pricing()
    variant = VariantFactory(price=Decimal("19.99"), stock_quantity=10)
    body = checkout.storefront_order_body()
    _buy(customer_client, variant, body)
    _buy(customer_client, variant, {k: v for k, v in body.items() if k != "voucher_code"})
    TaxRate.objects.all().delete()
    _buy(customer_client, variant, body)

    extras = _shop().extras_since(0)

    assert extras == {"orders": 3, "shipping": 3, "tax": 2, "voucher": 2}
    assert not checkout.extras_complete(extras)
