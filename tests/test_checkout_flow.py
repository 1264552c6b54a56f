"""The whole purchase through the public API, as a storefront client drives it."""

import uuid

import pytest
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import DEFAULT_PASSWORD, StaffFactory
from storefront.catalog.models import ProductVariant
from storefront.catalog.tests.factories import VariantFactory
from tests.helpers import CHECKOUT, PASSWORD, logged_in

pytestmark = pytest.mark.django_db


def stock(variant: ProductVariant) -> int:
    variant.refresh_from_db()
    return variant.stock_quantity


def test_register_buy_pay_ship_deliver():
    shirt = VariantFactory(stock_quantity=5)
    mug = VariantFactory(stock_quantity=3)
    registered = APIClient().post(
        "/api/auth/register/", {"email": "ada@example.com", "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.content
    customer = logged_in("ada@example.com", PASSWORD)

    assert customer.get("/api/cart/").json()["items"] == []
    customer.post("/api/cart/items/", {"variant_id": shirt.pk, "quantity": 2})
    cart = customer.post("/api/cart/items/", {"variant_id": mug.pk}).json()
    assert [item["quantity"] for item in cart["items"]] == [2, 1]

    key = {"Idempotency-Key": str(uuid.uuid4())}
    placed = customer.post("/api/orders/", CHECKOUT, headers=key)
    replayed = customer.post("/api/orders/", CHECKOUT, headers=key)
    assert (placed.status_code, replayed.status_code) == (201, 200)
    assert replayed.json() == placed.json()
    order = placed.json()
    assert order["total"] == str(shirt.price * 2 + mug.price)
    assert (stock(shirt), stock(mug)) == (3, 2)
    assert customer.get("/api/cart/").json()["items"] == []

    paid = customer.post(f"/api/orders/{order['id']}/pay/", {"token": "tok_success"})
    assert paid.status_code == 200
    assert (paid.json()["status"], paid.json()["payment_status"]) == ("processing", "completed")

    StaffFactory(email="shipping@example.com")
    staff = logged_in("shipping@example.com", DEFAULT_PASSWORD)
    for status in ("shipped", "delivered"):
        moved = staff.post(f"/api/orders/{order['id']}/status/", {"status": status})
        assert moved.status_code == 200, moved.content

    seen = customer.get(f"/api/orders/{order['id']}/").json()
    assert seen["status"] == "delivered"
    assert [(item["sku"], item["quantity"]) for item in seen["items"]] == [
        (shirt.sku, 2),
        (mug.sku, 1),
    ]
    assert [(e["from_status"], e["to_status"], e["actor_role"]) for e in seen["events"]] == [
        ("", "pending", "customer"),
        ("pending", "processing", "system"),
        ("processing", "shipped", "staff"),
        ("shipped", "delivered", "staff"),
    ]
    history = customer.get("/api/orders/").json()
    assert [listed["number"] for listed in history["results"]] == [order["number"]]
