from decimal import Decimal

import pytest

from storefront.orders.services import pay_order
from storefront.orders.tests.factories import placed_order
from storefront.payments.exceptions import (
    InvalidPaymentToken,
    PaymentMethodUnavailable,
    PaymentNotAllowed,
)
from storefront.payments.models import Payment
from storefront.payments.providers import (
    CashOnDeliveryProvider,
    ChargeResult,
    PaymentProvider,
    SandboxCardProvider,
    get_provider,
    register_provider,
    unregister_provider,
)

CHARGE = {"amount": Decimal("10.00"), "currency": "USD", "payment_id": 1}


class RecordingGateway(PaymentProvider):
    """A stand-in for a real gateway: approves every charge and remembers what it was sent."""

    def __init__(self):
        self.charges: list[dict] = []

    def charge(self, *, amount, currency, token, payment_id) -> ChargeResult:
        self.charges.append({"amount": amount, "currency": currency, "token": token})
        return ChargeResult(succeeded=True, reference=f"gw_{len(self.charges)}")

    def refund(self, *, amount, currency, charge_reference) -> str:
        return f"gw_refund_{charge_reference}"


@pytest.fixture
def gateway():
    gateway = RecordingGateway()
    register_provider(Payment.Method.CARD, gateway)
    yield gateway
    unregister_provider(Payment.Method.CARD)


def test_sandbox_success_token_is_charged():
    result = SandboxCardProvider().charge(token="tok_success", **CHARGE)
    assert result.succeeded
    assert result.reference.startswith("sandbox_ch_")


def test_sandbox_declined_token_is_declined():
    result = SandboxCardProvider().charge(token="tok_declined", **CHARGE)
    assert (result.succeeded, result.failure_code) == (False, "card_declined")


def test_sandbox_refuses_unknown_tokens():
    with pytest.raises(InvalidPaymentToken):
        SandboxCardProvider().charge(token="tok_whatever", **CHARGE)


def test_cash_on_delivery_is_never_charged_online():
    with pytest.raises(PaymentNotAllowed):
        CashOnDeliveryProvider().charge(token="tok_success", **CHARGE)


def test_the_sandbox_takes_card_payments_while_payment_sandbox_is_on(settings):
    settings.PAYMENT_SANDBOX = True
    assert isinstance(get_provider(Payment.Method.CARD), SandboxCardProvider)


def test_without_the_sandbox_or_a_gateway_card_payments_are_unavailable(settings):
    settings.PAYMENT_SANDBOX = False
    with pytest.raises(PaymentMethodUnavailable) as raised:
        get_provider(Payment.Method.CARD)
    assert raised.value.details == {"payment_method": "card"}
    assert isinstance(get_provider(Payment.Method.CASH_ON_DELIVERY), CashOnDeliveryProvider)


@pytest.mark.parametrize("sandbox", [True, False])
def test_a_registered_gateway_takes_card_payments_with_or_without_the_sandbox(
    settings, gateway, sandbox
):
    settings.PAYMENT_SANDBOX = sandbox
    assert get_provider(Payment.Method.CARD) is gateway


def test_registering_an_unknown_method_is_an_error():
    with pytest.raises(ValueError):
        register_provider("cheque", RecordingGateway())


@pytest.mark.django_db
def test_a_registered_gateway_takes_the_card_payments(gateway):
    order = placed_order(payment_method=Payment.Method.CARD)
    payment = pay_order(order=order, token="tok_from_the_gateway_js")
    assert gateway.charges == [
        {"amount": order.total, "currency": order.currency, "token": "tok_from_the_gateway_js"}
    ]
    assert (payment.status, payment.provider_reference) == ("completed", "gw_1")
