"""Creating guest carts is limited per client address (the `guest_cart` rate)."""

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from storefront.carts.models import Cart

pytestmark = pytest.mark.django_db


def test_guest_cart_creation_is_throttled_per_client_address():
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["guest_cart"]
    allowed = int(rate.split("/")[0])
    client = APIClient()

    statuses = [client.post("/api/carts/").status_code for _ in range(allowed + 5)]

    assert statuses == [201] * allowed + [429] * 5
    assert Cart.objects.guests().count() == allowed
    response = client.post("/api/carts/")
    assert response.json()["error"]["code"] == "throttled"
    assert int(response.headers["Retry-After"]) > 0
    assert client.post("/api/carts/", REMOTE_ADDR="192.0.2.8").status_code == 201
