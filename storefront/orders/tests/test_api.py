import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import AddressFactory, StaffFactory, UserFactory
from storefront.carts.models import CartItem
from storefront.catalog.models import ProductVariant
from storefront.catalog.tests.factories import VariantFactory
from storefront.orders.api.serializers import PlaceOrderSerializer
from storefront.orders.models import Order
from storefront.orders.tests.factories import OrderEventFactory, OrderFactory, OrderItemFactory
from storefront.payments.models import Payment

pytestmark = pytest.mark.django_db

CHECKOUT = {
    "shipping_address": "1 Main St\n12345 Springfield",
    "billing_address": "1 Main St\n12345 Springfield",
    "phone_number": "+1 555 0100",
}


@pytest.fixture
def client(customer_client) -> APIClient:
    return customer_client


@pytest.fixture
def staff_client() -> APIClient:
    client = APIClient()
    client.force_authenticate(StaffFactory())
    return client


def error(response) -> dict:
    return response.json()["error"]


def fill_cart(customer, variant: ProductVariant | None = None, quantity: int = 1) -> ProductVariant:
    variant = variant or VariantFactory()
    CartItem.objects.create(cart=customer.cart, variant=variant, quantity=quantity)
    return variant


def checkout(client: APIClient, key: str | None = None, **overrides):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post("/api/orders/", {**CHECKOUT, **overrides}, headers=headers)


# --- Checkout -------------------------------------------------------------------------------


def test_checkout_answers_201_with_the_order(client, customer):
    variant = fill_cart(customer, VariantFactory(price=Decimal("5.00")), quantity=2)

    response = checkout(client)

    assert response.status_code == 201
    body = response.json()
    order = Order.objects.get()
    assert response["Location"] == f"http://testserver/api/orders/{order.pk}/"
    assert body["number"] == order.number
    assert (body["status"], body["payment_status"]) == ("pending", "pending")
    assert (body["total"], body["currency"]) == ("10.00", "USD")
    assert body["items"][0] | {"id": None} == {
        "id": None,
        "product_id": variant.product_id,
        "variant_id": variant.pk,
        "product_name": variant.product.name,
        "variant_name": variant.name,
        "sku": variant.sku,
        "list_price": "5.00",
        "unit_price": "5.00",
        "quantity": 2,
        "discount_total": "0.00",
        "tax_rate": "0.0000",
        "tax_total": "0.00",
        "line_total": "10.00",
    }
    assert (body["payment"]["method"], body["payment"]["amount"]) == ("cash_on_delivery", "10.00")
    assert [e["to_status"] for e in body["events"]] == ["pending"]
    assert body["can_cancel"] is True


def test_checkout_with_card_creates_a_pending_card_payment(client, customer):
    fill_cart(customer)
    response = checkout(client, payment_method="card")
    assert response.json()["payment"]["method"] == "card"


def test_checkout_by_card_is_refused_without_a_card_provider(client, customer, settings):
    settings.PAYMENT_SANDBOX = False
    variant = fill_cart(customer, quantity=2)

    response = checkout(client, payment_method="card")

    assert response.status_code == 400
    assert error(response)["code"] == "payment_method_unavailable"
    assert error(response)["details"] == {"payment_method": "card"}
    assert not Order.objects.exists()
    assert not Payment.objects.exists()
    variant.refresh_from_db()
    assert variant.stock_quantity == 10
    assert customer.cart.items.get().quantity == 2


def test_checkout_by_cash_on_delivery_works_without_a_card_provider(client, customer, settings):
    settings.PAYMENT_SANDBOX = False
    fill_cart(customer)

    response = checkout(client, payment_method="cash_on_delivery")

    assert response.status_code == 201
    assert response.json()["payment"]["method"] == "cash_on_delivery"


def test_checkout_accepts_the_id_of_one_of_the_customers_addresses(client, customer):
    fill_cart(customer)
    address = AddressFactory(customer=customer, line1="9 Elm Rd", city="Shelbyville")
    response = checkout(client, billing_address=address.pk)
    assert response.status_code == 201
    assert response.json()["billing_address"] == address.as_text()


def test_checkout_refuses_another_customers_address_id(client, customer):
    variant = fill_cart(customer)
    address = AddressFactory()
    response = checkout(client, shipping_address=address.pk)
    assert response.status_code == 400
    assert "shipping_address" in error(response)["fields"]
    assert not Order.objects.exists()
    variant.refresh_from_db()
    assert variant.stock_quantity == 10


@pytest.mark.parametrize(
    "overrides",
    [
        {"shipping_address": ""},
        {"shipping_address": "   "},
        {"shipping_address": None},
        {"shipping_address": ["1 Main St"]},
        {"shipping_address": {"street": "x"}},
        {"shipping_address": True},
        {"shipping_address": 1.5},
        {"shipping_address": 0},
        {"billing_address": 10**30},
        {"billing_address": "x" * 2001},
        {"phone_number": ""},
        {"phone_number": "call me"},
        {"phone_number": "1" * 40},
        {"additional_phone": "nope"},
        {"payment_method": "bitcoin"},
        {"payment_method": 1},
    ],
)
def test_checkout_refuses_bad_input_and_changes_nothing(client, customer, overrides):
    variant = fill_cart(customer)
    response = checkout(client, **overrides)
    assert response.status_code == 400
    assert error(response)["code"] == "invalid"
    assert set(error(response)["fields"]) == set(overrides)
    assert not Order.objects.exists()
    variant.refresh_from_db()
    assert variant.stock_quantity == 10
    assert customer.cart.items.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 Main St\x00", "Null characters are not allowed."),
        ("1 Main St \ud800", "Surrogate characters are not allowed: U+D800."),
    ],
)
@pytest.mark.parametrize("field", ["shipping_address", "billing_address"])
def test_checkout_refuses_an_address_a_text_column_cannot_store(
    client, customer, field, text, message
):
    variant = fill_cart(customer)
    body = json.dumps({**CHECKOUT, field: text})  # NUL and surrogate as \u escapes.

    response = client.generic("POST", "/api/orders/", body, content_type="application/json")

    assert response.status_code == 400
    assert error(response)["fields"] == {field: [message]}
    assert not Order.objects.exists()
    variant.refresh_from_db()
    assert variant.stock_quantity == 10


def test_checkout_refuses_a_nul_in_a_form_encoded_address(client, customer):
    # Form bodies do not go through the JSON parser: the address field itself refuses.
    fill_cart(customer)
    response = client.post(
        "/api/orders/", {**CHECKOUT, "shipping_address": "1 Main St\x00"}, format="multipart"
    )
    assert response.status_code == 400
    assert error(response)["fields"] == {"shipping_address": ["Null characters are not allowed."]}
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a\x00b", "Null characters are not allowed."),
        ("a\udfffb", "Surrogate characters are not allowed: U+DFFF."),
        ("   ", "This field may not be blank."),
        ("x" * 2001, "Ensure this field has no more than 2000 characters."),
    ],
)
def test_the_address_field_judges_text_as_a_char_field_does(text, message):
    serializer = PlaceOrderSerializer(
        data={**CHECKOUT, "billing_address": text}, context={"request": None}
    )
    assert not serializer.is_valid()
    assert serializer.errors == {"billing_address": [message]}


@pytest.mark.parametrize("body", [[1, 2], "text", 5])
def test_checkout_refuses_a_body_that_is_not_an_object(client, customer, body):
    fill_cart(customer)
    response = client.post("/api/orders/", body, format="json")
    assert response.status_code == 400
    assert error(response)["code"] == "invalid"
    assert not Order.objects.exists()


def test_checkout_refuses_missing_fields(client, customer):
    fill_cart(customer)
    response = client.post("/api/orders/", {})
    assert response.status_code == 400
    # billing_address may be left out: it is then the shipping address.
    assert set(error(response)["fields"]) == {"shipping_address", "phone_number"}


def test_checkout_of_an_empty_cart_is_400(client):
    response = checkout(client)
    assert response.status_code == 400
    assert error(response)["code"] == "empty_cart"


def test_checkout_short_of_stock_is_409_with_the_short_lines(client, customer):
    variant = fill_cart(customer, VariantFactory(stock_quantity=1), quantity=2)
    response = checkout(client)
    assert response.status_code == 409
    assert error(response)["code"] == "out_of_stock"
    line = error(response)["details"]["lines"][0]
    assert (line["variant_id"], line["requested"], line["available"]) == (variant.pk, 2, 1)
    assert not Order.objects.exists()
    assert customer.cart.items.get().quantity == 2


def test_checkout_requires_authentication():
    assert APIClient().post("/api/orders/", CHECKOUT).status_code == 401


def test_replaying_an_idempotency_key_returns_the_same_order_with_200(client, customer):
    variant = fill_cart(customer, VariantFactory(stock_quantity=5), quantity=2)
    first = checkout(client, key="3f1c-attempt")
    replay = checkout(client, key="3f1c-attempt")
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert Order.objects.count() == 1
    variant.refresh_from_db()
    assert variant.stock_quantity == 3


def test_idempotency_key_with_another_body_is_422(client, customer):
    fill_cart(customer)
    checkout(client, key="key-1")
    fill_cart(customer)
    response = checkout(client, phone_number="+1 555 0199", key="key-1")
    assert response.status_code == 422
    assert error(response)["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1
    assert customer.cart.items.exists()


@pytest.mark.parametrize("key", ["", "   ", "k" * 256, "tab\there"])
def test_malformed_idempotency_key_is_400(client, customer, key):
    fill_cart(customer)
    response = checkout(client, key=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in error(response)["fields"]
    assert not Order.objects.exists()


# --- Reading orders -----------------------------------------------------------------------


def test_customers_list_their_own_orders_newest_first(client, customer):
    older = OrderFactory(customer=customer, placed_at=timezone.now() - timedelta(days=2))
    newer = OrderFactory(customer=customer)
    OrderFactory()  # someone else's
    body = client.get("/api/orders/").json()
    assert body["count"] == 2
    assert [o["id"] for o in body["results"]] == [newer.pk, older.pk]
    assert "events" not in body["results"][0]


def test_staff_list_every_order(staff_client):
    OrderFactory.create_batch(3)
    assert staff_client.get("/api/orders/").json()["count"] == 3


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=shipped", {"shipped"}),
        ("payment_status=completed", {"paid"}),
        ("customer_email=ADA@example.com", {"ada"}),
        ("placed_after=2026-03-01&placed_before=2026-03-31", {"march"}),
        ("placed_before=2026-02-28", {"february"}),
    ],
)
def test_staff_filter_orders(staff_client, query, expected):
    day = datetime(2026, 6, 1, 12, tzinfo=UTC)
    labels = {
        OrderFactory(status="shipped", placed_at=day).pk: "shipped",
        OrderFactory(payment_status="completed", placed_at=day).pk: "paid",
        OrderFactory(customer=UserFactory(email="ada@example.com"), placed_at=day).pk: "ada",
        OrderFactory(placed_at=day.replace(month=3, day=31, hour=23)).pk: "march",
        OrderFactory(placed_at=day.replace(month=2, day=28)).pk: "february",
    }
    body = staff_client.get(f"/api/orders/?{query}").json()
    assert {labels[o["id"]] for o in body["results"]} == expected


@pytest.mark.parametrize(
    "query", ["status=lost", "payment_status=maybe", "placed_after=yesterday", "page=99"]
)
def test_bad_list_parameters_are_4xx_in_the_error_shape(staff_client, query):
    response = staff_client.get(f"/api/orders/?{query}")
    assert response.status_code in (400, 404)
    assert "code" in error(response)


@pytest.mark.parametrize("orders", [1, 6])
def test_order_list_costs_a_fixed_number_of_queries(
    client, customer, orders, django_assert_num_queries
):
    for order in OrderFactory.create_batch(orders, customer=customer):
        OrderItemFactory.create_batch(3, order=order)
    with django_assert_num_queries(4):  # count, orders with customer and payment, items, discounts
        response = client.get("/api/orders/")
    assert len(response.json()["results"]) == orders


@pytest.mark.parametrize("lines", [1, 8])
def test_order_detail_costs_a_fixed_number_of_queries(
    client, customer, lines, django_assert_num_queries
):
    order = OrderFactory(customer=customer)
    OrderItemFactory.create_batch(lines, order=order)
    OrderEventFactory.create_batch(lines, order=order)
    with django_assert_num_queries(4):  # order with customer and payment, items, discounts, events
        response = client.get(f"/api/orders/{order.pk}/")
    assert len(response.json()["items"]) == lines
    assert len(response.json()["events"]) == lines


@pytest.mark.parametrize("lines", [1, 8])
def test_checkout_answers_with_the_order_as_stored_without_reading_it_back(
    client, customer, lines, django_assert_num_queries
):
    for _ in range(lines):
        fill_cart(customer, quantity=2)

    # The place_order budget (8, see test_place_order) with the validation of the body
    # (none: the addresses are text) and no read of the order after it is placed.
    with django_assert_num_queries(8):
        placed = checkout(client, key="once")

    assert placed.status_code == 201
    assert placed.json() == client.get(placed["Location"]).json()


def test_another_customers_order_is_404(client):
    response = client.get(f"/api/orders/{OrderFactory().pk}/")
    assert response.status_code == 404
    assert error(response)["code"] == "not_found"


def test_event_actor_emails_are_shown_to_staff_only(client, customer, staff_client):
    order = OrderFactory(customer=customer)
    OrderEventFactory(order=order)
    for_customer = client.get(f"/api/orders/{order.pk}/").json()["events"][0]
    for_staff = staff_client.get(f"/api/orders/{order.pk}/").json()["events"][0]
    assert (for_customer["actor_role"], for_customer["actor_email"]) == ("customer", None)
    assert for_staff["actor_email"] == customer.email


# --- Cancelling ---------------------------------------------------------------------------


def test_customer_cancels_a_pending_order(client, customer):
    variant = fill_cart(customer, VariantFactory(stock_quantity=3), quantity=3)
    order_id = checkout(client).json()["id"]
    response = client.post(f"/api/orders/{order_id}/cancel/", {"note": "Wrong size"})
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["events"][-1]["note"] == "Wrong size"
    variant.refresh_from_db()
    assert variant.stock_quantity == 3


def test_customer_cannot_cancel_a_shipped_order(client, customer):
    order = OrderFactory(customer=customer, status="shipped")
    response = client.post(f"/api/orders/{order.pk}/cancel/")
    assert response.status_code == 409
    assert error(response)["code"] == "invalid_status_transition"
    assert error(response)["details"] == {
        "from": "shipped",
        "to": "cancelled",
        "allowed": ["delivered"],
    }


def test_customer_cannot_cancel_another_customers_order(client):
    order = OrderFactory()
    assert client.post(f"/api/orders/{order.pk}/cancel/").status_code == 404
    order.refresh_from_db()
    assert order.status == "pending"


def test_cancel_note_must_be_text_of_sane_length(client, customer):
    order = OrderFactory(customer=customer)
    response = client.post(f"/api/orders/{order.pk}/cancel/", {"note": "x" * 2001})
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.status == "pending"


# --- Staff status changes -----------------------------------------------------------------


def test_staff_move_an_order_along(staff_client):
    order = OrderFactory()
    response = staff_client.post(
        f"/api/orders/{order.pk}/status/", {"status": "processing", "note": "Packed"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "processing"
    assert response.json()["events"][-1]["actor_role"] == "staff"


def test_customers_cannot_change_status(client, customer):
    order = OrderFactory(customer=customer)
    response = client.post(f"/api/orders/{order.pk}/status/", {"status": "processing"})
    assert response.status_code == 403
    assert error(response)["code"] == "permission_denied"
    order.refresh_from_db()
    assert order.status == "pending"


def test_invalid_transition_is_409(staff_client):
    order = OrderFactory()
    response = staff_client.post(f"/api/orders/{order.pk}/status/", {"status": "delivered"})
    assert response.status_code == 409
    order.refresh_from_db()
    assert order.status == "pending"


def test_shipping_an_unpaid_card_order_is_409_payment_required(staff_client):
    order = OrderFactory(status=Order.Status.PROCESSING)
    Payment.objects.filter(order=order).update(method=Payment.Method.CARD)

    response = staff_client.post(f"/api/orders/{order.pk}/status/", {"status": "shipped"})

    assert response.status_code == 409
    assert error(response)["code"] == "payment_required"
    assert error(response)["details"]["payment_status"] == "pending"
    order.refresh_from_db()
    assert order.status == "processing"
    assert not order.events.exists()


@pytest.mark.parametrize("payload", [{"status": "lost"}, {"status": None}, {}, {"status": 3}])
def test_unknown_status_is_400(staff_client, payload):
    order = OrderFactory()
    response = staff_client.post(f"/api/orders/{order.pk}/status/", payload)
    assert response.status_code == 400
    assert "status" in error(response)["fields"]


@pytest.mark.parametrize("order_id", ["999999999", "99999999999999999999999"])
def test_status_of_an_unknown_order_is_404(staff_client, order_id):
    response = staff_client.post(f"/api/orders/{order_id}/status/", {"status": "processing"})
    assert response.status_code == 404


# --- Payment ------------------------------------------------------------------------------


def card_order(customer) -> Order:
    order = OrderFactory(customer=customer, total=Decimal("30.00"))
    Payment.objects.filter(order=order).update(method=Payment.Method.CARD)
    return order


def test_customer_pays_a_card_order_with_the_sandbox(client, customer):
    order = card_order(customer)
    response = client.post(f"/api/orders/{order.pk}/pay/", {"token": "tok_success"})
    assert response.status_code == 200
    assert response.json()["payment"]["status"] == "completed"
    assert response.json()["status"] == "processing"


def test_the_sandbox_token_pays_nothing_without_the_sandbox(client, customer, settings):
    order = card_order(customer)
    settings.PAYMENT_SANDBOX = False

    response = client.post(f"/api/orders/{order.pk}/pay/", {"token": "tok_success"})

    assert response.status_code == 400
    assert error(response)["code"] == "payment_method_unavailable"
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.provider_reference) == ("pending", "")
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("pending", "pending")


def test_declined_card_is_402_and_recorded(client, customer):
    order = card_order(customer)
    response = client.post(f"/api/orders/{order.pk}/pay/", {"token": "tok_declined"})
    assert response.status_code == 402
    assert error(response)["code"] == "payment_declined"
    assert error(response)["details"]["failure_code"] == "card_declined"
    assert Payment.objects.get(order=order).status == "failed"


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("tok_unknown", "invalid_payment_token"),
        ("4242 4242 4242 4242", "invalid"),
        ("4000056655665556", "invalid"),
        ("", "invalid"),
        (None, "invalid"),
        (42, "invalid_payment_token"),
        ("t" * 256, "invalid"),
    ],
)
def test_bad_payment_tokens_are_400_and_charge_nothing(client, customer, token, code):
    order = card_order(customer)
    response = client.post(f"/api/orders/{order.pk}/pay/", {"token": token})
    assert response.status_code == 400
    assert error(response)["code"] == code
    assert Payment.objects.get(order=order).status == "pending"


def test_cash_on_delivery_orders_cannot_be_paid_by_card(client, customer):
    order = OrderFactory(customer=customer)
    response = client.post(f"/api/orders/{order.pk}/pay/", {"token": "tok_success"})
    assert response.status_code == 409
    assert error(response)["code"] == "payment_not_allowed"


def test_paying_another_customers_order_is_404(client):
    order = card_order(UserFactory())
    response = client.post(f"/api/orders/{order.pk}/pay/", {"token": "tok_success"})
    assert response.status_code == 404
    assert Payment.objects.get(order=order).status == "pending"


def test_staff_record_a_cash_payment(staff_client):
    order = OrderFactory()
    response = staff_client.post(f"/api/orders/{order.pk}/payment/complete/")
    assert response.status_code == 200
    assert (response.json()["payment_status"], response.json()["status"]) == (
        "completed",
        "processing",
    )


def test_customers_cannot_record_cash_payments(client, customer):
    order = OrderFactory(customer=customer)
    response = client.post(f"/api/orders/{order.pk}/payment/complete/")
    assert response.status_code == 403
    assert Payment.objects.get(order=order).status == "pending"
