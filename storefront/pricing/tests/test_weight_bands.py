"""Shipping priced by weight: a method's weight bands (docs/shipping.md), in quotes, at
checkout, through /api/shipping-zones/ and in the model's validation (the admin's)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from storefront.carts.models import Cart, CartItem
from storefront.catalog.tests.factories import VariantFactory
from storefront.catalog.tests.helpers import assert_error
from storefront.pricing import quotes
from storefront.pricing.exceptions import ShippingMethodUnavailable
from storefront.pricing.models import ShippingMethod, validate_weight_bands
from storefront.pricing.tests.factories import domestic_zone

pytestmark = pytest.mark.django_db

D = Decimal
BANDS = [
    {"max_grams": 1000, "price": "4.00"},
    {"max_grams": 5000, "price": "9.00"},
    {"max_grams": 20000, "price": "25.00"},
]


@pytest.fixture(autouse=True)
def shop():
    zone = domestic_zone("US")
    ShippingMethod.objects.filter(code="standard").update(weight_bands=BANDS)
    return zone


def quote_of(*lines, method=None) -> quotes.Quote:
    cart = Cart.objects.create()
    for grams, quantity in lines:
        variant = VariantFactory(price=D("10.00"), weight_grams=grams)
        CartItem.objects.create(cart=cart, variant=variant, quantity=quantity)
    items = list(quotes.with_promotion_targets(CartItem.objects.filter(cart=cart)))
    context = quotes.quote_context(country="US")
    return quotes.build_quote(lines=items, context=context, shipping_method=method)


def standard_price(q: quotes.Quote) -> Decimal | None:
    return next((o.price for o in q.shipping_methods if o.code == "standard"), None)


@pytest.mark.parametrize(
    ("lines", "price"),
    [
        ([(500, 2)], "4.00"),  # exactly 1000 g: the first band
        ([(500, 2), (1, 1)], "9.00"),  # 1001 g
        ([(2500, 2)], "9.00"),
        ([(5000, 4)], "25.00"),  # 20000 g: the last band
        ([(None, 3)], "4.00"),  # unknown weights count as 0
    ],
)
def test_the_band_the_carts_weight_falls_in_prices_the_method(lines, price):
    assert standard_price(quote_of(*lines)) == D(price)


def test_a_cart_heavier_than_the_last_band_is_not_offered_the_method():
    heavy = quote_of((20001, 1))

    assert [o.code for o in heavy.shipping_methods] == ["express"]
    with pytest.raises(ShippingMethodUnavailable) as refused:
        quote_of((20001, 1), method="standard")
    assert refused.value.details["offered"] == ["express"]


def test_checkout_of_a_cart_too_heavy_for_every_method_says_so(customer_client, customer):
    ShippingMethod.objects.update(weight_bands=[{"max_grams": 1000, "price": "4.00"}])
    variant = VariantFactory(weight_grams=600)
    CartItem.objects.create(cart=customer.cart, variant=variant, quantity=2)

    response = customer_client.post(
        "/api/orders/", {"shipping_address": "1 Main St", "phone_number": "+1 555 0100"}
    )

    error = assert_error(response, 400, "shipping_method_unavailable")
    assert error["message"] == "No shipping method ships a cart this heavy to US."
    assert error["details"]["offered"] == []


def test_the_free_shipping_threshold_still_applies_to_a_banded_method():
    # 6 x 10.00 = 60.00, past standard's 50.00 threshold.
    assert standard_price(quote_of((3000, 6))) == D("0.00")


def test_staff_write_weight_bands_through_the_zone(staff_client, shop):
    method = shop.methods.get(code="express")
    bands = [{"max_grams": 2000, "price": "12"}, {"max_grams": 10000, "price": "30.50"}]

    response = staff_client.patch(
        f"/api/shipping-zones/{shop.pk}/",
        {"methods": [{"id": method.pk, "weight_bands": bands}]},
        format="json",
    )

    assert response.status_code == 200, response.content
    shown = {m["code"]: m["weight_bands"] for m in response.json()["methods"]}
    assert shown["express"] == [
        {"max_grams": 2000, "price": "12.00"},
        {"max_grams": 10000, "price": "30.50"},
    ]
    method.refresh_from_db()
    assert method.weight_bands == [
        {"max_grams": 2000, "price": "12.00"},
        {"max_grams": 10000, "price": "30.50"},
    ]


@pytest.mark.parametrize(
    "bands",
    [
        [{"max_grams": 1000, "price": "4"}, {"max_grams": 1000, "price": "5"}],
        [{"max_grams": 2000, "price": "4"}, {"max_grams": 1000, "price": "5"}],
        [{"max_grams": 0, "price": "4"}],
        [{"max_grams": 10_000_001, "price": "4"}],
        [{"max_grams": 1000, "price": "-1"}],
        [{"max_grams": 1000, "price": "1.001"}],
        [{"max_grams": 1000}],
        [{"max_grams": "a lot", "price": "4"}],
        [{"max_grams": 1000 + n, "price": "1"} for n in range(21)],
        "heavy",
    ],
)
def test_bad_weight_bands_are_a_400_and_change_nothing(staff_client, shop, bands):
    method = shop.methods.get(code="express")

    response = staff_client.patch(
        f"/api/shipping-zones/{shop.pk}/",
        {"methods": [{"id": method.pk, "weight_bands": bands}]},
        format="json",
    )

    error = assert_error(response, 400, "invalid")
    assert "methods" in error["fields"]
    method.refresh_from_db()
    assert method.weight_bands == []


@pytest.mark.parametrize(
    "bands",
    [
        [{"max_grams": 1000, "price": 4.0}],
        [{"max_grams": 1000, "price": "4.00", "extra": 1}],
        [{"max_grams": 1000.0, "price": "4.00"}],
        [{"max_grams": True, "price": "4.00"}],
        [{"max_grams": 1000, "price": "NaN"}],
        [{"max_grams": 2000, "price": "1"}, {"max_grams": 2000, "price": "2"}],
        {"max_grams": 1000},
    ],
)
def test_the_models_validation_refuses_bands_the_quote_could_not_read(bands):
    with pytest.raises(ValidationError):
        validate_weight_bands(bands)


def test_the_models_validation_takes_well_formed_bands():
    validate_weight_bands(BANDS)
    validate_weight_bands([])
