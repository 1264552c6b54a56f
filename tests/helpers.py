"""What the cross-app flows do through the public API, as a storefront client would."""

from rest_framework.test import APIClient

PASSWORD = "a-long-and-unusual-passphrase-42"
# A valid checkout body (POST /api/orders/) paying by card.
CHECKOUT = {
    "shipping_address": "1 Main St\n12345 Springfield",
    "billing_address": "1 Main St\n12345 Springfield",
    "phone_number": "+1 555 0100",
    "payment_method": "card",
}


def logged_in(email: str, password: str) -> APIClient:
    """A client carrying a fresh API token of `email` (POST /api/auth/token/)."""
    client = APIClient()
    response = client.post("/api/auth/token/", {"email": email, "password": password})
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def registered_customer(email: str) -> APIClient:
    """Register `email` with PASSWORD (POST /api/auth/register/) and log it in."""
    response = APIClient().post("/api/auth/register/", {"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.content
    return logged_in(email, PASSWORD)
