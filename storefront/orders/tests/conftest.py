"""Fixtures of the orders tests: a customer and an API client logged in as them
(`customer_client`; pytest-django's `client` stays the admin tests' Django client)."""

import pytest
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import UserFactory


@pytest.fixture
def customer():
    return UserFactory()


@pytest.fixture
def customer_client(customer) -> APIClient:
    client = APIClient()
    client.force_authenticate(customer)
    return client
