"""Orders built directly as rows, for reports and notifications (no checkout involved).

`order_with_items(...)` builds an order whose total is the sum of its lines, as checkout does.
"""

import datetime as dt
from decimal import Decimal

import factory
from django.conf import settings
from django.utils import timezone

from storefront.accounts.tests.factories import UserFactory
from storefront.catalog.models import ProductVariant
from storefront.catalog.tests.factories import VariantFactory
from storefront.orders.models import Order, OrderItem
from storefront.payments.models import Payment


class OrderFactory(factory.django.DjangoModelFactory):
    """A pending order in the store currency, placed now, with no lines."""

    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"SF-TEST-{n:06d}")
    customer = factory.SubFactory(UserFactory)
    shipping_address = "1 Main St\n12345 Springfield"
    billing_address = "1 Main St\n12345 Springfield"
    phone_number = "+1 555 0100"
    currency = factory.LazyFunction(lambda: settings.STORE_CURRENCY)
    total = Decimal("0.00")
    placed_at = factory.LazyFunction(timezone.now)


class OrderItemFactory(factory.django.DjangoModelFactory):
    """One line: `quantity` units of a variant at its current price."""

    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    variant = factory.SubFactory(VariantFactory)
    product = factory.SelfAttribute("variant.product")
    product_name = factory.SelfAttribute("variant.product.name")
    variant_name = factory.SelfAttribute("variant.name")
    sku = factory.SelfAttribute("variant.sku")
    unit_price = factory.SelfAttribute("variant.price")
    quantity = 1
    line_total = factory.LazyAttribute(lambda item: item.unit_price * item.quantity)


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    order = factory.SubFactory(OrderFactory)
    amount = factory.SelfAttribute("order.total")
    currency = factory.SelfAttribute("order.currency")


def order_with_items(
    lines: list[tuple[ProductVariant, int]],
    *,
    placed_at: dt.datetime | None = None,
    **order_fields,
) -> Order:
    """An order with one line per (variant, quantity) at the variant's price; total = lines."""
    order = OrderFactory(placed_at=placed_at or timezone.now(), **order_fields)
    total = Decimal("0.00")
    for variant, quantity in lines:
        item = OrderItemFactory(order=order, variant=variant, quantity=quantity)
        total += item.line_total
    order.total = total
    order.save(update_fields=["total"])
    return order
