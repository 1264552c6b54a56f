"""The worked examples of docs/pricing.md, to the cent."""

from decimal import Decimal

import pytest

from storefront.accounts import addresses
from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import CartItem
from storefront.catalog.tests.factories import VariantFactory
from storefront.pricing import quotes
from storefront.pricing.exceptions import ShippingMethodUnavailable
from storefront.pricing.tests.factories import domestic_zone, rest_of_world_zone

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def us_shop():
    domestic_zone("US", "CA")
    rest_of_world_zone()


def cart_of(socks: int) -> list[CartItem]:
    """A tee at 19.99 x 2 and socks at 5.00 x `socks`."""
    cart = UserFactory().cart
    CartItem.objects.create(cart=cart, variant=VariantFactory(price=Decimal("19.99")), quantity=2)
    CartItem.objects.create(
        cart=cart, variant=VariantFactory(price=Decimal("5.00")), quantity=socks
    )
    return list(cart.items.select_related("variant").order_by("id"))


def total(lines, country: str, method: str | None = None) -> Decimal:
    rates = quotes.quote_context(country=country)
    return quotes.build_quote(lines=lines, context=rates, shipping_method=method).total


def test_a_two_lines_standard_shipping_to_the_us():
    quote = quotes.build_quote(lines=cart_of(1), context=quotes.quote_context(country="US"))
    assert [line.line_total for line in quote.lines] == [Decimal("39.98"), Decimal("5.00")]
    assert quote.subtotal == Decimal("44.98")
    assert quote.shipping.code == "standard" and quote.shipping.price == Decimal("4.99")
    assert quote.total == Decimal("49.97")


def test_b_the_free_shipping_threshold():
    assert total(cart_of(2), "US") == Decimal("54.97")
    assert total(cart_of(3), "US") == Decimal("54.98")
    assert total(cart_of(3), "US", "express") == Decimal("69.97")


def test_c_abroad():
    assert total(cart_of(1), "JP") == Decimal("69.97")
    with pytest.raises(ShippingMethodUnavailable):
        total(cart_of(1), "JP", "express")


def test_d_a_text_address_is_in_the_store_country():
    _, address = addresses.snapshot("1 Main St\nSpringfield")
    assert total(cart_of(1), address["country"]) == Decimal("49.97")
