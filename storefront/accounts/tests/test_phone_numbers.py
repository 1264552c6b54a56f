"""Every phone format that docs/accounts.md documents is accepted wherever a phone is sent."""

from pathlib import Path

import pytest
from rest_framework.test import APIClient

from storefront.carts.models import CartItem
from storefront.catalog.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

# The list of docs/accounts.md ("Phone numbers"), in its order.
DOCUMENTED = [
    "+44 20 7946 0000",
    "+1 (555) 123-4567",
    "(555) 123-4567",
    "555-123-4567",
    "555.123.4567",
    "5551234567",
]
REFUSED = ["call me", "(", "+", "1234", "++44 20 7946 0000", "555_123_4567", "+44 (20) x"]


def send_profile(client: APIClient, customer, phone: str):
    return client.patch("/api/me/", {"phone_number": phone})


def send_address(client: APIClient, customer, phone: str):
    address = {"street": "1 Main St", "city": "Springfield", "postal_code": "12345"}
    return client.post("/api/me/addresses/", {**address, "country": "US", "phone": phone})


def send_checkout(client: APIClient, customer, phone: str):
    CartItem.objects.create(cart=customer.cart, variant=VariantFactory(), quantity=1)
    return client.post(
        "/api/orders/",
        {
            "shipping_address": "1 Main St\n12345 Springfield",
            "billing_address": "1 Main St\n12345 Springfield",
            "phone_number": phone,
        },
    )


SENDERS = {"profile": send_profile, "address": send_address, "checkout": send_checkout}
FIELD = {"profile": "phone_number", "address": "phone", "checkout": "phone_number"}


@pytest.mark.parametrize("where", SENDERS)
@pytest.mark.parametrize("phone", DOCUMENTED)
def test_every_documented_phone_format_is_accepted(customer_client, customer, where, phone):
    response = SENDERS[where](customer_client, customer, phone)

    assert response.status_code in (200, 201), response.content
    assert response.json()[FIELD[where]] == phone


@pytest.mark.parametrize("where", SENDERS)
@pytest.mark.parametrize("phone", REFUSED)
def test_what_is_not_a_phone_number_is_refused(customer_client, customer, where, phone):
    response = SENDERS[where](customer_client, customer, phone)

    assert response.status_code == 400, response.content
    assert FIELD[where] in response.json()["error"]["fields"]


def test_the_documented_formats_are_the_ones_in_the_docs(settings):
    docs = (Path(settings.BASE_DIR) / "docs" / "accounts.md").read_text()
    for phone in DOCUMENTED:
        assert f"`{phone}`" in docs, phone
