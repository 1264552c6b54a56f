from decimal import Decimal

import pytest

from storefront.orders.services import pay_order
from storefront.orders.tests.factories import placed_order
from storefront.payments.exceptions import (
    InvalidPaymentToken,
    PaymentMethodUnavailable,
    PaymentNotAllowed,
)
from storefront.payments.models import Payment, SandboxPayment
from storefront.payments.providers import (
    CashOnDeliveryProvider,
    PaymentProvider,
    ProviderPayment,
    ProviderRefund,
    SandboxCardProvider,
    get_provider,
    register_provider,
    unregister_provider,
)

Status = Payment.Status


class RecordingGateway(PaymentProvider):
    """A stand-in for a real gateway: approves every payment and remembers what it was sent."""

    name = "recording"

    def __init__(self):
        self.charges: list[dict] = []

    def authorise(self, *, payment, token, capture, idempotency_key) -> ProviderPayment:
        self.charges.append(
            {
                "amount": payment.amount,
                "currency": payment.currency,
                "token": token,
                "key": idempotency_key,
            }
        )
        return ProviderPayment(
            status=Status.COMPLETED,
            reference=f"gw_{len(self.charges)}",
            captured_amount=payment.amount,
        )

    def capture(self, *, payment, amount, idempotency_key) -> ProviderPayment:
        return ProviderPayment(
            status=Status.COMPLETED, reference=payment.provider_reference, captured_amount=amount
        )

    def void(self, *, payment, idempotency_key) -> ProviderPayment:
        return ProviderPayment(status=Status.VOIDED, reference=payment.provider_reference)

    def refund(self, *, payment, amount, idempotency_key) -> ProviderRefund:
        return ProviderRefund(reference=f"gw_refund_{payment.provider_reference}")

    def retrieve(self, *, payment) -> ProviderPayment:
        return ProviderPayment(status=payment.status, reference=payment.provider_reference)


def a_payment(amount: str = "10.00") -> Payment:
    return Payment(pk=1, amount=Decimal(amount), currency="USD", method=Payment.Method.CARD)


@pytest.fixture
def gateway():
    gateway = RecordingGateway()
    register_provider(Payment.Method.CARD, gateway)
    yield gateway
    unregister_provider(Payment.Method.CARD)


@pytest.mark.django_db
def test_sandbox_success_token_is_captured_and_kept_on_the_sandbox_side():
    answer = SandboxCardProvider().authorise(
        payment=a_payment(), token="tok_success", capture=True, idempotency_key="k1"
    )
    assert (answer.status, answer.captured_amount) == (Status.COMPLETED, Decimal("10.00"))
    assert answer.reference.startswith("sandbox_pi_")
    assert SandboxPayment.objects.get(reference=answer.reference).status == Status.COMPLETED


@pytest.mark.django_db
def test_sandbox_answers_a_repeated_key_with_its_first_result():
    sandbox = SandboxCardProvider()
    first = sandbox.authorise(
        payment=a_payment(), token="tok_success", capture=True, idempotency_key="same"
    )
    again = sandbox.authorise(
        payment=a_payment(), token="tok_success", capture=True, idempotency_key="same"
    )
    assert again == first
    assert SandboxPayment.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("token", "failure"),
    [("tok_declined", "card_declined"), ("tok_insufficient_funds", "insufficient_funds")],
)
def test_sandbox_declines(token, failure):
    answer = SandboxCardProvider().authorise(
        payment=a_payment(), token=token, capture=True, idempotency_key=token
    )
    assert (answer.status, answer.failure_code) == (Status.FAILED, failure)


@pytest.mark.django_db
def test_sandbox_requires_action_until_the_bank_answers():
    sandbox = SandboxCardProvider()
    answer = sandbox.authorise(
        payment=a_payment(), token="tok_requires_action", capture=True, idempotency_key="3ds"
    )
    assert answer.status == Status.REQUIRES_ACTION and answer.client_secret
    confirmed = sandbox.confirm_action(client_secret=answer.client_secret, succeed=True)
    assert (confirmed.status, confirmed.captured_amount) == (Status.COMPLETED, Decimal("10.00"))
    with pytest.raises(PaymentNotAllowed):
        sandbox.confirm_action(client_secret=answer.client_secret, succeed=True)


@pytest.mark.django_db
def test_sandbox_refunds_at_most_what_it_captured_once_per_key():
    sandbox = SandboxCardProvider()
    answer = sandbox.authorise(
        payment=a_payment(), token="tok_success", capture=True, idempotency_key="pay"
    )
    payment = a_payment()
    payment.provider_reference = answer.reference
    first = sandbox.refund(payment=payment, amount=Decimal("6.00"), idempotency_key="r1")
    assert first.succeeded
    assert sandbox.refund(payment=payment, amount=Decimal("6.00"), idempotency_key="r1") == first
    too_much = sandbox.refund(payment=payment, amount=Decimal("6.00"), idempotency_key="r2")
    assert not too_much.succeeded
    assert sandbox.retrieve(payment=payment).refunded_amount == Decimal("6.00")


@pytest.mark.django_db
def test_sandbox_refuses_unknown_tokens():
    with pytest.raises(InvalidPaymentToken):
        SandboxCardProvider().authorise(
            payment=a_payment(), token="tok_whatever", capture=True, idempotency_key="x"
        )


def test_cash_on_delivery_is_never_charged_online():
    with pytest.raises(PaymentNotAllowed):
        CashOnDeliveryProvider().authorise(
            payment=a_payment(), token="tok_success", capture=True, idempotency_key="x"
        )


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
        {
            "amount": order.total,
            "currency": order.currency,
            "token": "tok_from_the_gateway_js",
            "key": f"storefront-payment-{payment.pk}-authorise-1",
        }
    ]
    assert (payment.status, payment.provider_reference) == ("completed", "gw_1")
