"""Fixtures of the accounts tests."""

import pytest
from rest_framework.test import APIClient

from storefront.accounts.models import User
from storefront.accounts.tests.factories import StaffFactory, UserFactory


@pytest.fixture
def customer(db) -> User:
    return UserFactory()


@pytest.fixture
def other_customer(db) -> User:
    return UserFactory()


@pytest.fixture
def staff(db) -> User:
    return StaffFactory()


@pytest.fixture
def customer_client(customer) -> APIClient:
    client = APIClient()
    client.force_authenticate(customer)
    return client
