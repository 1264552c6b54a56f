"""Card payments through Stripe, end to end over the public API: checkout opens a
PaymentIntent, the browser (played by the fake Stripe) confirms it, Stripe's signed webhook
settles the order. The real SDK talks to the fake Stripe API on loopback
(storefront/payments/tests/stripe_server.py), and the webhooks are signed as Stripe signs
them; the sandbox's 3-D Secure page is at the end."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import CartItem
from storefront.catalog.tests.factories import VariantFactory
from storefront.orders import tasks
from storefront.orders.models import Order, OrderEvent
from storefront.payments.models import Payment, PaymentEvent, Refund, WebhookEvent
from storefront.payments.tests import stripe_server
from storefront.payments.tests.conftest import fake_stripe, stripe_provider  # noqa: F401
from storefront.payments.tests.stripe_server import FakeStripe, sign, signed_event
from tests.concurrency import run_concurrently
from tests.helpers import CHECKOUT

pytestmark = pytest.mark.django_db
WEBHOOK = "/api/payments/stripe/webhook/"
SANDBOX_CONFIRM = "/api/payments/sandbox/confirm/"


@pytest.fixture
def stripe(stripe_provider, fake_stripe) -> FakeStripe:  # noqa: F811
    """The fake Stripe, with the StripeProvider taking card payments."""
    return fake_stripe


def card_checkout(client: APIClient, customer, *, price: str = "12.50", stock: int = 5) -> dict:
    """Check out one unit of a fresh variant by card; return the order JSON (201)."""
    variant = VariantFactory(price=Decimal(price), stock_quantity=stock)
    CartItem.objects.create(cart=customer.cart, variant=variant, quantity=1)
    response = client.post("/api/orders/", CHECKOUT)
    assert response.status_code == 201, response.content
    return response.json()


def deliver(payload: str, header: str | None):
    """POST a webhook delivery as Stripe sends it: the raw JSON and its signature."""
    headers = {} if header is None else {"HTTP_STRIPE_SIGNATURE": header}
    return APIClient().post(WEBHOOK, payload, content_type="application/json", **headers)


def send_event(type: str, obj: dict):
    return deliver(*signed_event(type, obj))


def state(order_id: int) -> tuple[str, str]:
    order = Order.objects.get(pk=order_id)
    return order.status, order.payment_status


def counts() -> tuple[int, int, int, int]:
    return (
        WebhookEvent.objects.count(),
        PaymentEvent.objects.count(),
        OrderEvent.objects.count(),
        Refund.objects.count(),
    )


def test_card_checkout_opens_a_payment_intent_whose_secret_only_the_owner_sees(
    stripe, customer, customer_client, staff_client
):
    order = card_checkout(customer_client, customer, price="12.50")

    payment = order["payment"]
    intent = stripe.intent(payment["provider_reference"])
    assert (payment["method"], payment["status"]) == ("card", "pending")
    assert payment["client_secret"] == intent["client_secret"]
    assert (intent["amount"], intent["currency"]) == (1250, "usd")
    assert intent["metadata"]["order_number"] == order["number"]
    assert stripe.keys_sent() == [f"storefront-payment-{Payment.objects.get().pk}-start"]
    seen = customer_client.get(f"/api/orders/{order['id']}/").json()
    assert seen["payment"]["client_secret"] == intent["client_secret"]
    staff_view = staff_client.get(f"/api/orders/{order['id']}/").json()
    assert staff_view["payment"]["client_secret"] is None
    stranger = APIClient()
    stranger.force_authenticate(UserFactory())
    assert stranger.get(f"/api/orders/{order['id']}/").status_code == 404


def test_a_signed_payment_intent_succeeded_moves_the_order_to_processing(
    stripe, customer, customer_client
):
    order = card_checkout(customer_client, customer)
    intent = stripe.pay_in_browser(order["payment"]["provider_reference"])

    response = send_event("payment_intent.succeeded", intent)

    assert response.status_code == 200, response.content
    assert response.json() == {"received": True, "duplicate": False}
    assert state(order["id"]) == ("processing", "completed")
    payment = Payment.objects.get()
    assert (payment.captured_amount, payment.completed_at is not None) == (Decimal("12.50"), True)
    seen = customer_client.get(f"/api/orders/{order['id']}/").json()
    assert seen["payment"]["client_secret"] is None  # Settled: no longer shown.
    assert stripe.charges_created == 1


def test_the_same_webhook_delivered_twice_changes_nothing_the_second_time(
    stripe, customer, customer_client
):
    order = card_checkout(customer_client, customer)
    intent = stripe.pay_in_browser(order["payment"]["provider_reference"])
    delivery = signed_event("payment_intent.succeeded", intent)
    assert deliver(*delivery).status_code == 200
    before = counts()

    again = deliver(*delivery)

    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    assert counts() == before
    assert state(order["id"]) == ("processing", "completed")


def test_a_payment_failed_delivered_after_succeeded_changes_nothing(
    stripe, customer, customer_client
):
    order = card_checkout(customer_client, customer)
    reference = order["payment"]["provider_reference"]
    failed = stripe.pay_in_browser(reference, stripe_server.DECLINED)
    succeeded = stripe.pay_in_browser(reference, stripe_server.SUCCEEDS)
    assert send_event("payment_intent.succeeded", succeeded).status_code == 200
    before = counts()

    late = send_event("payment_intent.payment_failed", failed)

    assert late.status_code == 200
    assert counts()[1:] == before[1:]  # Recorded as received, nothing else.
    assert state(order["id"]) == ("processing", "completed")
    assert Payment.objects.get().failure_code == ""


@pytest.mark.parametrize(
    ("forge", "code"),
    [
        (lambda payload, header: (payload, sign(payload, "whsec_other")), "invalid_signature"),
        (lambda payload, header: (payload.replace("ed", "ed "), header), "invalid_signature"),
        (lambda payload, header: (payload, None), "invalid_signature"),
        (lambda payload, header: (payload, "t=1,v1=00"), "invalid_signature"),
        (  # Replayed: signed too long ago.
            lambda payload, header: (payload, sign(payload, timestamp=1_000_000_000)),
            "invalid_signature",
        ),
        (lambda payload, header: ("[1, 2]", sign("[1, 2]")), "invalid_signature"),
        (lambda payload, header: ("{not json", sign("{not json")), "parse_error"),
    ],
    ids=["other-secret", "tampered", "unsigned", "bad-signature", "replayed", "list", "not-json"],
)
def test_a_forged_webhook_is_refused_with_400_and_changes_nothing(
    stripe, customer, customer_client, forge, code
):
    order = card_checkout(customer_client, customer)
    intent = stripe.pay_in_browser(order["payment"]["provider_reference"])
    before = counts()

    response = deliver(*forge(*signed_event("payment_intent.succeeded", intent)))

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    assert counts() == before
    assert state(order["id"]) == ("pending", "pending")


def test_the_webhook_is_404_while_stripe_is_not_configured(stripe, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""

    response = send_event("payment_intent.succeeded", {"id": "pi_1", "object": "payment_intent"})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_webhook_without_its_signature_header_is_400_configured_or_not(stripe, settings):
    payload, _header = signed_event("payment_intent.succeeded", {"id": "pi_1"})
    for secret in (settings.STRIPE_WEBHOOK_SECRET, ""):
        settings.STRIPE_WEBHOOK_SECRET = secret
        response = deliver(payload, None)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_signature"
    assert WebhookEvent.objects.count() == 0


def test_events_about_other_payments_or_of_other_types_are_taken_and_ignored(stripe):
    unknown = {"id": "pi_unknown", "object": "payment_intent", "status": "succeeded"}

    responses = [
        send_event("payment_intent.succeeded", unknown),
        send_event("customer.created", {"id": "cus_1", "object": "customer"}),
    ]

    assert [response.status_code for response in responses] == [200, 200]
    assert WebhookEvent.objects.count() == 2


def test_3d_secure_waits_for_the_customer_then_the_webhook_settles_the_order(
    stripe, customer, customer_client
):
    order = card_checkout(customer_client, customer)
    reference = order["payment"]["provider_reference"]

    paid = customer_client.post(
        f"/api/orders/{order['id']}/pay/", {"token": stripe_server.AUTHENTICATION_REQUIRED}
    )

    assert paid.status_code == 200, paid.content
    body = paid.json()
    assert (body["status"], body["payment"]["status"]) == ("pending", "requires_action")
    assert body["payment"]["client_secret"] == stripe.intent(reference)["client_secret"]
    assert send_event("payment_intent.requires_action", stripe.intent(reference)).status_code == 200
    assert state(order["id"]) == ("pending", "requires_action")

    intent = stripe.complete_action(reference)  # Stripe.js and the bank, in the browser.
    assert send_event("payment_intent.succeeded", intent).status_code == 200

    assert state(order["id"]) == ("processing", "completed")


def test_a_declined_card_is_402_and_another_card_pays_the_order(stripe, customer, customer_client):
    order = card_checkout(customer_client, customer)
    pay = f"/api/orders/{order['id']}/pay/"

    declined = customer_client.post(pay, {"token": stripe_server.DECLINED})
    short = customer_client.post(pay, {"token": stripe_server.INSUFFICIENT_FUNDS})

    assert declined.status_code == 402, declined.content
    assert declined.json()["error"]["code"] == "payment_declined"
    assert declined.json()["error"]["details"]["failure_code"] == "card_declined"
    assert short.json()["error"]["details"]["failure_code"] == "insufficient_funds"
    assert state(order["id"]) == ("pending", "failed")

    paid = customer_client.post(pay, {"token": stripe_server.SUCCEEDS})

    assert paid.status_code == 200, paid.content
    assert state(order["id"]) == ("processing", "completed")
    assert stripe.charges_created == 3
    assert len(stripe.payment_intents) == 1


def test_paying_twice_charges_once(stripe, customer, customer_client):
    order = card_checkout(customer_client, customer)
    pay = f"/api/orders/{order['id']}/pay/"

    responses = [customer_client.post(pay, {"token": stripe_server.SUCCEEDS}) for _ in range(2)]

    assert [response.status_code for response in responses] == [200, 200]
    assert stripe.charges_created == 1


def test_an_unknown_payment_method_is_400(stripe, customer, customer_client):
    order = card_checkout(customer_client, customer)

    response = customer_client.post(f"/api/orders/{order['id']}/pay/", {"token": "pm_nope"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_payment_token"
    assert state(order["id"]) == ("pending", "pending")


def test_a_canceled_payment_intent_cancels_the_pending_order_with_its_stock_back(
    stripe, customer, customer_client
):
    order = card_checkout(customer_client, customer, stock=5)
    variant = Order.objects.get().items.get().variant
    intent = stripe.intent(order["payment"]["provider_reference"])
    intent["status"] = "canceled"

    assert send_event("payment_intent.canceled", intent).status_code == 200

    variant.refresh_from_db()
    assert state(order["id"]) == ("cancelled", "voided")
    assert variant.stock_quantity == 5


def test_a_refund_made_in_the_stripe_dashboard_is_recorded_once(stripe, customer, customer_client):
    order = card_checkout(customer_client, customer, price="12.50")
    reference = order["payment"]["provider_reference"]
    send_event("payment_intent.succeeded", stripe.pay_in_browser(reference))
    charge = stripe.refund_in_dashboard(reference, 500)
    delivery = signed_event("charge.refunded", charge)

    assert deliver(*delivery).status_code == 200
    assert deliver(*delivery).json()["duplicate"] is True
    assert send_event("charge.refunded", charge).status_code == 200  # Same news, new event.

    refund = Refund.objects.get()
    assert (refund.amount, refund.source, refund.status) == (
        Decimal("5.00"),
        Refund.Source.PROVIDER,
        Refund.Status.SUCCEEDED,
    )
    assert refund.provider_reference == charge["refunds"]["data"][0]["id"]
    payment = Payment.objects.get()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", Decimal("5.00"))


def test_a_refund_staff_made_is_not_recorded_again_when_stripe_reports_it(
    stripe, customer, customer_client, staff_client
):
    order = card_checkout(customer_client, customer, price="12.50")
    reference = order["payment"]["provider_reference"]
    send_event("payment_intent.succeeded", stripe.pay_in_browser(reference))

    refunded = staff_client.post(
        f"/api/orders/{order['id']}/refunds/", {"amount": "4.00", "reason": "Scratched"}
    )
    assert refunded.status_code == 201, refunded.content
    charge = json.loads(json.dumps(stripe.charges[stripe.intent(reference)["latest_charge"]]))
    assert send_event("charge.refunded", charge).status_code == 200

    assert [refund["amount"] for refund in stripe.refunds.values()] == [400]
    assert list(Refund.objects.values_list("amount", "source")) == [(Decimal("4.00"), "staff")]


def test_reconciliation_heals_a_webhook_that_never_arrived(stripe, customer, customer_client):
    order = card_checkout(customer_client, customer)
    stripe.pay_in_browser(order["payment"]["provider_reference"])

    with time_machine.travel(timezone.now() + timedelta(minutes=15)):
        assert tasks.reconcile_payments() == 1

    assert state(order["id"]) == ("processing", "completed")


def test_an_expired_order_is_voided_at_stripe_and_a_stale_success_changes_nothing(
    stripe, customer, customer_client
):
    order = card_checkout(customer_client, customer)
    reference = order["payment"]["provider_reference"]
    late = stripe.intent(reference)
    late.update(status="succeeded", amount_received=late["amount"])  # A snapshot from before.

    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        assert tasks.expire_unpaid_orders() == 1

    assert stripe.intent(reference)["status"] == "canceled"
    assert state(order["id"]) == ("cancelled", "voided")
    assert send_event("payment_intent.succeeded", late).status_code == 200
    assert state(order["id"]) == ("cancelled", "voided")  # Voided is final: nothing moves.


def test_an_order_paid_at_stripe_just_before_its_expiry_is_kept(stripe, customer, customer_client):
    order = card_checkout(customer_client, customer)
    reference = order["payment"]["provider_reference"]
    stripe.pay_in_browser(reference)  # The webhook is still on its way.

    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        assert tasks.expire_unpaid_orders() == 0

    assert stripe.intent(reference)["status"] == "succeeded"  # Stripe refused the cancel.
    assert state(order["id"]) == ("processing", "completed")
    assert stripe.refunds == {}


# --- The sandbox's 3-D Secure page ----------------------------------------------------------


def sandbox_order_waiting_for_3d_secure(client: APIClient, customer) -> tuple[dict, str]:
    order = card_checkout(client, customer)
    paid = client.post(f"/api/orders/{order['id']}/pay/", {"token": "tok_requires_action"})
    assert paid.status_code == 200, paid.content
    return order, paid.json()["payment"]["client_secret"]


def test_the_sandbox_bank_page_passes_3d_secure_and_the_order_moves(customer, customer_client):
    order, secret = sandbox_order_waiting_for_3d_secure(customer_client, customer)

    response = APIClient().post(SANDBOX_CONFIRM, {"client_secret": secret, "succeed": True})

    assert response.status_code == 200, response.content
    assert response.json() == {"status": "completed"}
    assert state(order["id"]) == ("processing", "completed")


def test_the_sandbox_bank_page_fails_3d_secure_and_the_order_waits(customer, customer_client):
    order, secret = sandbox_order_waiting_for_3d_secure(customer_client, customer)

    failed = APIClient().post(SANDBOX_CONFIRM, {"client_secret": secret, "succeed": False})
    again = APIClient().post(SANDBOX_CONFIRM, {"client_secret": secret, "succeed": True})

    assert (failed.status_code, failed.json()) == (200, {"status": "failed"})
    assert again.status_code == 409
    assert state(order["id"]) == ("pending", "failed")
    assert Payment.objects.get().failure_code == "authentication_failed"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {"client_secret": "sandbox_pi_nope_secret_x", "succeed": True},
            400,
            "invalid_payment_token",
        ),
        ({"client_secret": "", "succeed": True}, 400, "invalid"),
        ({"succeed": True}, 400, "invalid"),
        ({"client_secret": "x"}, 400, "invalid"),
        ({"client_secret": "x" * 256, "succeed": True}, 400, "invalid"),
    ],
)
def test_the_sandbox_bank_page_refuses_bad_input(body, status, code):
    response = APIClient().post(SANDBOX_CONFIRM, body, format="json")

    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code


def test_the_sandbox_bank_page_is_404_while_the_sandbox_is_off(customer, customer_client, settings):
    _, secret = sandbox_order_waiting_for_3d_secure(customer_client, customer)
    settings.PAYMENT_SANDBOX = False

    response = APIClient().post(SANDBOX_CONFIRM, {"client_secret": secret, "succeed": True})

    assert response.status_code == 404
    assert Payment.objects.get().status == "requires_action"


# --- Races ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_one_event_delivered_twice_at_once_is_handled_once(stripe):
    customer = UserFactory()
    client = APIClient()
    client.force_authenticate(customer)
    order = card_checkout(client, customer)
    intent = stripe.pay_in_browser(order["payment"]["provider_reference"])
    delivery = signed_event("payment_intent.succeeded", intent)

    outcomes = run_concurrently([lambda: deliver(*delivery), lambda: deliver(*delivery)])

    assert [outcome.error for outcome in outcomes] == [None, None]
    assert sorted(outcome.value.json()["duplicate"] for outcome in outcomes) == [False, True]
    assert WebhookEvent.objects.count() == 1
    assert PaymentEvent.objects.filter(to_status="completed").count() == 1
    assert state(order["id"]) == ("processing", "completed")


@pytest.mark.django_db(transaction=True)
def test_a_webhook_and_the_customer_paying_at_once_charge_and_settle_once(stripe):
    customer = UserFactory()
    client = APIClient()
    client.force_authenticate(customer)
    order = card_checkout(client, customer)
    reference = order["payment"]["provider_reference"]
    intent = stripe.pay_in_browser(reference)  # Paid in the browser; the webhook is racing /pay/.
    delivery = signed_event("payment_intent.succeeded", intent)

    outcomes = run_concurrently(
        [
            lambda: deliver(*delivery),
            lambda: client.post(f"/api/orders/{order['id']}/pay/", {"token": "pm_card_visa"}),
        ]
    )

    assert [outcome.value.status_code for outcome in outcomes] == [200, 200]
    assert stripe.charges_created == 1
    assert PaymentEvent.objects.filter(to_status="completed").count() == 1
    assert state(order["id"]) == ("processing", "completed")
