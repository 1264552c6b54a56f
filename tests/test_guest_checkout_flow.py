"""A guest buys without an account, then registers and finds the order: through the public
API, as a storefront client drives it (emails through the outbox, in-process)."""

import re
import uuid

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import DEFAULT_PASSWORD, StaffFactory
from storefront.catalog.models import ProductVariant
from storefront.catalog.tests.factories import VariantFactory
from storefront.orders.models import Order
from tests.helpers import PASSWORD, logged_in

pytestmark = pytest.mark.django_db

GUEST = {
    "email": "Grace@Example.com",
    "shipping_address": "1 Main St\n12345 Springfield",
    "phone_number": "+1 555 0100",
    "payment_method": "card",
}
GUEST_LINK = re.compile(r"/api/guest-orders/(?P<token>[0-9a-f]{64})/")
VERIFY_LINK = re.compile(r"[?&]uid=(?P<uid>[^&\s]+)&token=(?P<token>[^#&\s]+)")


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def stock(variant: ProductVariant) -> int:
    variant.refresh_from_db()
    return variant.stock_quantity


def guest_cart(client: APIClient, *lines: tuple[ProductVariant, int]) -> str:
    token = client.post("/api/carts/").json()["token"]
    for variant, quantity in lines:
        added = client.post(
            f"/api/carts/{token}/items/", {"variant_id": variant.pk, "quantity": quantity}
        )
        assert added.status_code == 201, added.content
    return token


def test_guest_checkout_replay_link_pay_register_verify_and_the_order_is_mine(sent):
    shirt = VariantFactory(stock_quantity=5)
    guest = APIClient()
    cart = guest_cart(guest, (shirt, 2))
    key = {"Idempotency-Key": str(uuid.uuid4())}

    with sent():
        placed = guest.post(f"/api/carts/{cart}/checkout/", GUEST, headers=key)
    replayed = guest.post(f"/api/carts/{cart}/checkout/", GUEST, headers=key)

    assert (placed.status_code, replayed.status_code) == (201, 200), placed.content
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == placed.json()
    order = placed.json()
    assert (order["customer"], order["email"]) == (None, "grace@example.com")
    assert order["billing_address"] == GUEST["shipping_address"]
    assert order["total"] == str(shirt.price * 2)
    assert stock(shirt) == 3
    assert guest.get(f"/api/carts/{cart}/").json()["items"] == []
    token = order["access_token"]
    assert len(token) == 64
    assert placed.headers["Location"].endswith(f"/api/guest-orders/{token}/")
    assert token not in str(Order.objects.values().get())  # only its digest is stored

    # The confirmation email goes to the guest and carries the order's link.
    [confirmation] = [m for m in mail.outbox if order["number"] in m.subject + m.body]
    assert confirmation.to == ["grace@example.com"]
    assert GUEST_LINK.search(confirmation.body)["token"] == token

    seen = APIClient().get(f"/api/guest-orders/{token}/")
    assert seen.status_code == 200
    assert seen.json()["number"] == order["number"]
    paid = APIClient().post(f"/api/guest-orders/{token}/pay/", {"token": "tok_success"})
    assert paid.status_code == 200, paid.content
    assert (paid.json()["status"], paid.json()["payment_status"]) == ("processing", "completed")

    # Registering with the guest's email claims nothing; verifying it does.
    mail.outbox.clear()
    with sent():
        registered = APIClient().post(
            "/api/auth/register/", {"email": "grace@example.com", "password": PASSWORD}
        )
    assert registered.status_code == 201
    customer = logged_in("grace@example.com", PASSWORD)
    assert customer.get("/api/orders/").json()["results"] == []
    [verification] = [m for m in mail.outbox if m.subject == "Confirm your email address"]
    link = VERIFY_LINK.search(verification.body).groupdict()
    assert APIClient().post("/api/auth/verify-email/", link).status_code == 204

    [mine] = customer.get("/api/orders/").json()["results"]
    assert (mine["number"], mine["customer"]["email"]) == (order["number"], "grace@example.com")
    # The guest link still opens it.
    assert APIClient().get(f"/api/guest-orders/{token}/").status_code == 200


def test_a_guest_cancels_under_the_customer_rules():
    mug = VariantFactory(stock_quantity=3)
    guest = APIClient()
    cart = guest_cart(guest, (mug, 1))
    token = guest.post(f"/api/carts/{cart}/checkout/", GUEST).json()["access_token"]

    cancelled = APIClient().post(f"/api/guest-orders/{token}/cancel/", {})

    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == "cancelled"
    assert stock(mug) == 3
    again = APIClient().post(f"/api/guest-orders/{token}/cancel/", {})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "invalid_status_transition")


def test_one_orders_token_opens_no_other_and_bad_tokens_are_404():
    guest = APIClient()
    tokens = []
    for _ in range(2):
        cart = guest_cart(guest, (VariantFactory(), 1))
        tokens.append(guest.post(f"/api/carts/{cart}/checkout/", GUEST).json()["access_token"])
    numbers = {APIClient().get(f"/api/guest-orders/{t}/").json()["number"] for t in tokens}
    assert len(numbers) == 2

    almost = tokens[0][:-1] + ("0" if tokens[0][-1] != "0" else "1")
    for bad in (almost, "0" * 64, "not-a-token", tokens[0].upper()):
        for path in ("", "cancel/", "pay/"):
            method = APIClient().get if not path else APIClient().post
            response = method(f"/api/guest-orders/{bad}/{path}")
            assert response.status_code == 404, (bad, path)
            assert response.json()["error"]["code"] == "not_found"


def test_guest_checkout_errors_are_those_of_checkout_and_change_nothing():
    variant = VariantFactory(stock_quantity=1)
    guest = APIClient()
    empty = guest_cart(guest)
    response = guest.post(f"/api/carts/{empty}/checkout/", GUEST)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "empty_cart")

    cart = guest_cart(guest, (variant, 1))
    variant.stock_quantity = 0
    variant.save()
    response = guest.post(f"/api/carts/{cart}/checkout/", GUEST)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "out_of_stock")

    unknown = guest.post(f"/api/carts/{uuid.uuid4()}/checkout/", GUEST)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")

    for field in ("email", "shipping_address", "phone_number"):
        body = {k: v for k, v in GUEST.items() if k != field}
        bad = guest.post(f"/api/carts/{cart}/checkout/", body)
        assert bad.status_code == 400 and field in bad.json()["error"]["fields"], field
    bad_email = guest.post(f"/api/carts/{cart}/checkout/", {**GUEST, "email": "no"})
    assert "email" in bad_email.json()["error"]["fields"]
    assert not Order.objects.exists()


def test_the_same_key_with_another_body_is_refused():
    guest = APIClient()
    cart = guest_cart(guest, (VariantFactory(stock_quantity=5), 1))
    key = {"Idempotency-Key": "k-1"}
    assert guest.post(f"/api/carts/{cart}/checkout/", GUEST, headers=key).status_code == 201

    other = guest.post(
        f"/api/carts/{cart}/checkout/", {**GUEST, "phone_number": "+1 555 0199"}, headers=key
    )

    assert (other.status_code, other.json()["error"]["code"]) == (422, "idempotency_key_reused")


def test_guest_checkout_statements_do_not_grow_with_the_lines():
    def statements(lines: int) -> int:
        guest = APIClient()
        cart = guest_cart(guest, *[(VariantFactory(stock_quantity=9), 1) for _ in range(lines)])
        with CaptureQueriesContext(connection) as queries:
            assert guest.post(f"/api/carts/{cart}/checkout/", GUEST).status_code == 201
        return len(queries)

    assert statements(1) == statements(6)


def test_guest_checkout_is_throttled_per_client_address():
    allowed = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["guest_checkout"].split("/")[0])
    guest = APIClient()
    cart = guest_cart(guest)
    statuses = [
        guest.post(f"/api/carts/{cart}/checkout/", GUEST, REMOTE_ADDR="10.0.0.5").status_code
        for _ in range(allowed + 1)
    ]
    assert statuses == [400] * allowed + [429]


def test_staff_see_guest_orders_and_filter_them():
    guest = APIClient()
    cart = guest_cart(guest, (VariantFactory(), 1))
    number = guest.post(f"/api/carts/{cart}/checkout/", GUEST).json()["number"]
    StaffFactory(email="staff@example.com")
    staff = logged_in("staff@example.com", DEFAULT_PASSWORD)

    assert [
        o["number"] for o in staff.get("/api/orders/", {"guest": "true"}).json()["results"]
    ] == [number]
    assert staff.get("/api/orders/", {"guest": "false"}).json()["results"] == []
    assert staff.get("/api/orders/", {"guest": "null"}).status_code == 400
    by_email = staff.get("/api/orders/", {"email": "GRACE@example.com"}).json()["results"]
    assert [o["number"] for o in by_email] == [number]
    assert staff.get(f"/api/orders/{by_email[0]['id']}/").status_code == 200
