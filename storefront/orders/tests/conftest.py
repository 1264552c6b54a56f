"""Fixtures of the orders tests: a customer and an API client logged in as them."""

import pytest
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import UserFactory


@pytest.fixture
def customer():
    return UserFactory()


@pytest.fixture
def client(customer) -> APIClient:
    client = APIClient()
    client.force_authenticate(customer)
    return client
