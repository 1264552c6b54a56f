"""Orders as checkout makes them. Prefer `placed_order()` (the real service) in tests of
workflows; OrderFactory builds rows directly, for reads (lists, filters, query counts)."""

from decimal import Decimal

import factory
from django.conf import settings

from storefront.accounts import addresses
from storefront.accounts.models import User
from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import CartItem
from storefront.catalog.models import ProductVariant
from storefront.catalog.tests.factories import VariantFactory
from storefront.orders.models import Order, OrderEvent, OrderItem
from storefront.orders.services import generate_order_number, place_order
from storefront.payments.models import Payment


def placed_order(
    *,
    customer: User | None = None,
    variants: list[ProductVariant] | None = None,
    quantity: int = 1,
    payment_method: str = Payment.Method.CASH_ON_DELIVERY,
) -> Order:
    """Fill the customer's cart with `quantity` of each variant and check it out."""
    customer = customer or UserFactory()
    for variant in variants or [VariantFactory()]:
        CartItem.objects.create(cart=customer.cart, variant=variant, quantity=quantity)
    order, _ = place_order(
        customer=customer,
        shipping_address="1 Main St\n12345 Springfield",
        billing_address="1 Main St\n12345 Springfield",
        phone_number="+1 555 0100",
        payment_method=payment_method,
    )
    return order


class OrderFactory(factory.django.DjangoModelFactory):
    """A pending order with a pending cash-on-delivery payment and no lines (add OrderItems)."""

    class Meta:
        model = Order
        skip_postgeneration_save = True

    number = factory.LazyFunction(generate_order_number)
    customer = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(lambda order: order.customer.email if order.customer else "")
    shipping_address = "1 Main St\n12345 Springfield"
    billing_address = "1 Main St\n12345 Springfield"
    shipping_address_details = factory.LazyAttribute(
        lambda order: addresses.from_text(order.shipping_address)
    )
    billing_address_details = factory.LazyAttribute(
        lambda order: addresses.from_text(order.billing_address)
    )
    phone_number = "+1 555 0100"
    currency = factory.LazyFunction(lambda: settings.STORE_CURRENCY)
    total = Decimal("0.00")
    subtotal = factory.SelfAttribute("total")
    payment = factory.RelatedFactory(
        "storefront.payments.tests.factories.PaymentFactory", factory_related_name="order"
    )


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    variant = factory.SubFactory(VariantFactory)
    product = factory.SelfAttribute("variant.product")
    product_name = factory.SelfAttribute("variant.product.name")
    variant_name = factory.SelfAttribute("variant.name")
    sku = factory.SelfAttribute("variant.sku")
    list_price = factory.SelfAttribute("variant.price")
    unit_price = factory.SelfAttribute("variant.price")
    quantity = 1
    line_total = factory.LazyAttribute(lambda item: item.unit_price * item.quantity)


class OrderEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderEvent

    order = factory.SubFactory(OrderFactory)
    actor = factory.SelfAttribute("order.customer")
    from_status = ""
    to_status = Order.Status.PENDING


def order_with_items(
    lines: list[tuple[ProductVariant, int]], *, placed_at=None, **order_fields
) -> Order:
    """An order built as rows (no checkout): one line per (variant, quantity) at the variant's
    price, its subtotal, total and its pending payment's amount the sum of the lines (no
    shipping, tax or discount).

    For reports and notifications; `order_fields` may set status, payment_status, number...
    """
    if placed_at is not None:
        order_fields["placed_at"] = placed_at
    order = OrderFactory(**order_fields)
    items = [OrderItemFactory(order=order, variant=v, quantity=q) for v, q in lines]
    order.total = order.subtotal = sum((item.line_total for item in items), Decimal("0.00"))
    order.save(update_fields=["total", "subtotal"])
    Payment.objects.filter(order=order).update(amount=order.total)
    return order


def shirt_order() -> Order:
    """Order SF-1001 of ada@example.com (first name Ada): 2 x Shirt (M), SKU SHIRT-M, at
    12.50, 25.00 in all; what the email tests read."""
    customer = UserFactory(email="ada@example.com", first_name="Ada")
    shirt = VariantFactory(price=Decimal("12.50"), sku="SHIRT-M", name="M", product__name="Shirt")
    return order_with_items([(shirt, 2)], customer=customer, number="SF-1001")
