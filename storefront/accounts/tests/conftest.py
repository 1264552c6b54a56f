"""Fixtures of the accounts tests."""

import pytest
from django.test import Client

from storefront.accounts.models import User
from storefront.accounts.tests.factories import UserFactory


@pytest.fixture
def other_customer(db) -> User:
    return UserFactory()


@pytest.fixture
def admin(db) -> Client:
    """A browser logged in to the admin as a superuser (root@example.com)."""
    client = Client()
    client.force_login(UserFactory(email="root@example.com", is_staff=True, is_superuser=True))
    return client
