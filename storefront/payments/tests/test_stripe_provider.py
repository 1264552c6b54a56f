"""StripeProvider against the fake Stripe API (stripe_server.py), through the real SDK."""

import logging
import socket
from decimal import Decimal

import pytest
from django.apps import apps

from storefront.orders.tests.factories import OrderFactory
from storefront.payments.exceptions import (
    InvalidPaymentToken,
    PaymentNotAllowed,
    PaymentProviderUnavailable,
)
from storefront.payments.models import Payment
from storefront.payments.providers import get_provider, unregister_provider
from storefront.payments.stripe import (
    StripeProvider,
    from_minor_units,
    payment_state,
    to_minor_units,
)
from storefront.payments.tests import stripe_server
from storefront.payments.tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db
Status = Payment.Status


@pytest.fixture
def payment() -> Payment:
    """A pending card payment of 12.50 USD held by Stripe, not yet opened there."""
    order = OrderFactory(payment=None, total=Decimal("12.50"), currency="USD")
    return PaymentFactory(order=order, method=Payment.Method.CARD, provider="stripe")


def opened(provider: StripeProvider, payment: Payment, *, capture: bool = True) -> Payment:
    """`payment` with its PaymentIntent created (as start_payment records it)."""
    state = provider.start(payment=payment, capture=capture, idempotency_key=f"p{payment.pk}-s")
    payment.provider_reference = state.reference
    payment.save(update_fields=["provider_reference"])
    return payment


def test_start_creates_a_payment_intent_for_the_amount_in_cents(
    stripe_provider, fake_stripe, payment
):
    state = stripe_provider.start(payment=payment, capture=True, idempotency_key="key-start")

    intent = fake_stripe.intent(state.reference)
    assert (state.status, state.client_secret) == (Status.PENDING, intent["client_secret"])
    assert state.reference.startswith("pi_")
    assert (intent["amount"], intent["currency"], intent["capture_method"]) == (
        1250,
        "usd",
        "automatic",
    )
    assert intent["payment_method_types"] == ["card"]
    assert intent["metadata"] == {
        "payment_id": str(payment.pk),
        "order_id": str(payment.order_id),
        "order_number": payment.order.number,
    }
    assert fake_stripe.keys_sent() == ["key-start"]
    assert fake_stripe.charges_created == 0


def test_start_repeated_with_the_same_key_creates_one_payment_intent(
    stripe_provider, fake_stripe, payment
):
    first = stripe_provider.start(payment=payment, capture=True, idempotency_key="key-start")
    again = stripe_provider.start(payment=payment, capture=True, idempotency_key="key-start")

    assert again == first
    assert len(fake_stripe.payment_intents) == 1
    assert fake_stripe.replayed == 1


def test_authorise_confirms_the_started_intent_and_captures_it(
    stripe_provider, fake_stripe, payment
):
    opened(stripe_provider, payment)

    state = stripe_provider.authorise(
        payment=payment, token=stripe_server.SUCCEEDS, capture=True, idempotency_key="key-a1"
    )

    assert (state.status, state.reference) == (Status.COMPLETED, payment.provider_reference)
    assert state.captured_amount == Decimal("12.50")
    assert fake_stripe.intent(payment.provider_reference)["status"] == "succeeded"
    assert fake_stripe.charges_created == 1


def test_authorise_repeated_with_the_same_key_charges_once(stripe_provider, fake_stripe, payment):
    opened(stripe_provider, payment)
    calls = [
        stripe_provider.authorise(
            payment=payment, token=stripe_server.SUCCEEDS, capture=True, idempotency_key="key-a1"
        )
        for _ in range(2)
    ]

    assert calls[0] == calls[1]
    assert calls[0].status == Status.COMPLETED
    assert fake_stripe.charges_created == 1
    assert fake_stripe.keys_sent()[-2:] == ["key-a1", "key-a1"]


def test_authorise_without_a_started_intent_creates_and_confirms_one(
    stripe_provider, fake_stripe, payment
):
    state = stripe_provider.authorise(
        payment=payment, token=stripe_server.SUCCEEDS, capture=True, idempotency_key="key-a1"
    )

    assert state.status == Status.COMPLETED
    assert list(fake_stripe.payment_intents) == [state.reference]
    method, path, params, key = fake_stripe.requests[-1]
    assert (method, path, key) == ("POST", "/v1/payment_intents", "key-a1")
    assert (params["confirm"], params["payment_method"]) == ("true", stripe_server.SUCCEEDS)


def test_authorise_with_manual_capture_holds_the_amount_until_captured(
    stripe_provider, fake_stripe, payment
):
    opened(stripe_provider, payment, capture=False)

    held = stripe_provider.authorise(
        payment=payment, token=stripe_server.SUCCEEDS, capture=False, idempotency_key="key-a1"
    )
    captured = stripe_provider.capture(
        payment=payment, amount=Decimal("12.50"), idempotency_key="key-capture"
    )
    captured_again = stripe_provider.capture(
        payment=payment, amount=Decimal("12.50"), idempotency_key="key-capture-2"
    )

    assert (held.status, held.captured_amount) == (Status.AUTHORISED, Decimal("0.00"))
    assert (captured.status, captured.captured_amount) == (Status.COMPLETED, Decimal("12.50"))
    assert captured_again == captured  # Stripe refuses a second capture: its state answers.
    assert fake_stripe.intent(payment.provider_reference)["amount_received"] == 1250


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (stripe_server.DECLINED, "card_declined"),
        (stripe_server.INSUFFICIENT_FUNDS, "insufficient_funds"),
    ],
)
def test_a_declined_card_answers_failed_with_the_reason(
    stripe_provider, fake_stripe, payment, token, code
):
    opened(stripe_provider, payment)

    state = stripe_provider.authorise(
        payment=payment, token=token, capture=True, idempotency_key="key-a1"
    )

    assert (state.status, state.failure_code) == (Status.FAILED, code)
    assert state.reference == payment.provider_reference
    assert fake_stripe.intent(payment.provider_reference)["status"] == "requires_payment_method"


def test_a_decline_without_a_started_intent_still_answers_its_reference(
    stripe_provider, fake_stripe, payment
):
    state = stripe_provider.authorise(
        payment=payment, token=stripe_server.DECLINED, capture=True, idempotency_key="key-a1"
    )

    assert state.status == Status.FAILED
    assert list(fake_stripe.payment_intents) == [state.reference]


def test_after_a_decline_another_card_pays_the_same_intent(stripe_provider, fake_stripe, payment):
    opened(stripe_provider, payment)
    stripe_provider.authorise(
        payment=payment, token=stripe_server.DECLINED, capture=True, idempotency_key="key-a1"
    )

    state = stripe_provider.authorise(
        payment=payment, token=stripe_server.SUCCEEDS, capture=True, idempotency_key="key-a2"
    )

    assert (state.status, state.failure_code) == (Status.COMPLETED, "")
    assert len(fake_stripe.payment_intents) == 1
    assert fake_stripe.charges_created == 2


def test_an_unknown_payment_method_raises_invalid_payment_token(
    stripe_provider, fake_stripe, payment
):
    opened(stripe_provider, payment)

    with pytest.raises(InvalidPaymentToken):
        stripe_provider.authorise(
            payment=payment, token="pm_nonexistent", capture=True, idempotency_key="key-a1"
        )
    assert fake_stripe.charges_created == 0


def test_3d_secure_answers_requires_action_until_the_bank_answers(
    stripe_provider, fake_stripe, payment
):
    opened(stripe_provider, payment)

    state = stripe_provider.authorise(
        payment=payment,
        token=stripe_server.AUTHENTICATION_REQUIRED,
        capture=True,
        idempotency_key="key-a1",
    )
    fake_stripe.complete_action(payment.provider_reference)

    intent = fake_stripe.intent(payment.provider_reference)
    assert (state.status, state.client_secret) == (Status.REQUIRES_ACTION, intent["client_secret"])
    assert stripe_provider.retrieve(payment=payment).status == Status.COMPLETED


def test_a_failed_3d_secure_answers_failed(stripe_provider, fake_stripe, payment):
    opened(stripe_provider, payment)
    stripe_provider.authorise(
        payment=payment,
        token=stripe_server.AUTHENTICATION_REQUIRED,
        capture=True,
        idempotency_key="key-a1",
    )
    fake_stripe.complete_action(payment.provider_reference, succeed=False)

    state = stripe_provider.retrieve(payment=payment)

    assert (state.status, state.failure_code) == (
        Status.FAILED,
        "payment_intent_authentication_failure",
    )


def test_void_cancels_the_intent(stripe_provider, fake_stripe, payment):
    opened(stripe_provider, payment)

    state = stripe_provider.void(payment=payment, idempotency_key="key-void")

    assert state.status == Status.VOIDED
    assert fake_stripe.intent(payment.provider_reference)["status"] == "canceled"
    assert fake_stripe.keys_sent()[-1] == "key-void"


def test_void_of_an_intent_that_succeeded_meanwhile_answers_completed(
    stripe_provider, fake_stripe, payment
):
    opened(stripe_provider, payment)
    fake_stripe.pay_in_browser(payment.provider_reference)

    state = stripe_provider.void(payment=payment, idempotency_key="key-void")

    assert (state.status, state.captured_amount) == (Status.COMPLETED, Decimal("12.50"))
    assert fake_stripe.intent(payment.provider_reference)["status"] == "succeeded"


def test_void_of_a_payment_stripe_never_saw_calls_nothing(stripe_provider, fake_stripe, payment):
    state = stripe_provider.void(payment=payment, idempotency_key="key-void")

    assert state.status == Status.VOIDED
    assert fake_stripe.requests == []


def test_refund_gives_back_part_then_the_rest_once_per_key(stripe_provider, fake_stripe, payment):
    opened(stripe_provider, payment)
    fake_stripe.pay_in_browser(payment.provider_reference)

    part = stripe_provider.refund(payment=payment, amount=Decimal("5.00"), idempotency_key="r1")
    repeated = stripe_provider.refund(payment=payment, amount=Decimal("5.00"), idempotency_key="r1")
    too_much = stripe_provider.refund(payment=payment, amount=Decimal("8.00"), idempotency_key="r2")
    rest = stripe_provider.refund(payment=payment, amount=Decimal("7.50"), idempotency_key="r3")

    assert part.succeeded and part.reference.startswith("re_")
    assert repeated == part
    assert (too_much.succeeded, too_much.failure_code) == (False, "amount_too_large")
    assert rest.succeeded
    assert sorted(refund["amount"] for refund in fake_stripe.refunds.values()) == [500, 750]
    assert fake_stripe.refunds[part.reference]["payment_intent"] == payment.provider_reference


def test_retrieve_shows_what_was_captured_and_refunded(stripe_provider, fake_stripe, payment):
    opened(stripe_provider, payment)
    fake_stripe.pay_in_browser(payment.provider_reference)
    stripe_provider.refund(payment=payment, amount=Decimal("2.50"), idempotency_key="r1")

    state = stripe_provider.retrieve(payment=payment)

    assert (state.status, state.captured_amount, state.refunded_amount) == (
        Status.PARTIALLY_REFUNDED,
        Decimal("12.50"),
        Decimal("2.50"),
    )


def test_an_unreachable_stripe_raises_payment_provider_unavailable(settings, fake_stripe, payment):
    with socket.socket() as closed:  # A port nothing listens on.
        closed.bind(("127.0.0.1", 0))
        settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed.getsockname()[1]}"
    provider = StripeProvider(max_network_retries=0)

    with pytest.raises(PaymentProviderUnavailable) as raised:
        provider.start(payment=payment, capture=True, idempotency_key="key-start")
    assert (raised.value.status_code, raised.value.code) == (503, "payment_provider_unavailable")


def test_a_refused_api_key_raises_payment_provider_unavailable(settings, fake_stripe, payment):
    settings.STRIPE_SECRET_KEY = "sk_test_wrong"

    with pytest.raises(PaymentProviderUnavailable):
        StripeProvider().start(payment=payment, capture=True, idempotency_key="key-start")
    assert fake_stripe.payment_intents == {}


def test_an_unknown_intent_raises_payment_not_allowed(stripe_provider, fake_stripe, payment):
    payment.provider_reference = "pi_unknown"

    with pytest.raises(PaymentNotAllowed):
        stripe_provider.capture(payment=payment, amount=Decimal("1.00"), idempotency_key="c")


def test_an_amount_stripe_refuses_raises_payment_not_allowed(stripe_provider, fake_stripe):
    order = OrderFactory(payment=None, total=Decimal("0.00"), currency="USD")
    free = PaymentFactory(order=order, method=Payment.Method.CARD, provider="stripe")

    with pytest.raises(PaymentNotAllowed) as raised:
        stripe_provider.start(payment=free, capture=True, idempotency_key="key-start")
    assert raised.value.details == {"provider_code": "amount_too_small"}


def test_tokens_and_secrets_stay_out_of_the_logs(stripe_provider, fake_stripe, payment, caplog):
    caplog.set_level(logging.INFO)
    state = stripe_provider.authorise(
        payment=payment,
        token=stripe_server.AUTHENTICATION_REQUIRED,
        capture=True,
        idempotency_key="key-a1",
    )

    assert state.client_secret
    for secret in (stripe_server.AUTHENTICATION_REQUIRED, state.client_secret, "sk_test_"):
        assert secret not in caplog.text


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("12.50", "USD", 1250),
        ("0.01", "eur", 1),
        ("1500.00", "JPY", 1500),
        ("1.25", "KWD", 1250),
    ],
)
def test_amounts_go_to_stripe_in_the_currency_s_smallest_unit(amount, currency, minor):
    assert to_minor_units(Decimal(amount), currency) == minor
    assert from_minor_units(minor, currency) == Decimal(amount)


def test_amounts_between_two_cents_round_half_up():
    assert to_minor_units(Decimal("10.005"), "USD") == 1001


@pytest.mark.parametrize(
    ("intent", "status"),
    [
        ({"status": "requires_payment_method"}, Status.PENDING),
        (
            {"status": "requires_payment_method", "last_payment_error": {"code": "expired_card"}},
            Status.FAILED,
        ),
        ({"status": "requires_confirmation"}, Status.PENDING),
        ({"status": "processing"}, Status.PENDING),
        ({"status": "requires_action"}, Status.REQUIRES_ACTION),
        ({"status": "requires_capture"}, Status.AUTHORISED),
        ({"status": "succeeded", "amount_received": 100}, Status.COMPLETED),
        ({"status": "canceled"}, Status.VOIDED),
    ],
)
def test_payment_intent_statuses_map_to_payment_statuses(intent, status):
    assert payment_state({"id": "pi_1", "currency": "usd", **intent}).status == status


def test_stripe_takes_card_payments_only_with_a_secret_key(settings):
    config = apps.get_app_config("payments")
    settings.STRIPE_SECRET_KEY = ""
    config.ready()
    assert get_provider(Payment.Method.CARD).name == "sandbox"

    settings.STRIPE_SECRET_KEY = stripe_server.SECRET_KEY
    try:
        config.ready()
        assert isinstance(get_provider(Payment.Method.CARD), StripeProvider)
    finally:
        unregister_provider(Payment.Method.CARD)
