import factory

from storefront.payments.models import Payment


class PaymentFactory(factory.django.DjangoModelFactory):
    """A pending cash-on-delivery payment of a fresh order, for the order's total."""

    class Meta:
        model = Payment

    order = factory.SubFactory("storefront.orders.tests.factories.OrderFactory", payment=None)
    method = Payment.Method.CASH_ON_DELIVERY
    amount = factory.SelfAttribute("order.total")
    currency = factory.SelfAttribute("order.currency")
