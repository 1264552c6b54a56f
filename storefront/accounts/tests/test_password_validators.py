"""Passwords made only of spaces are refused by every path that sets a password."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from storefront.accounts.models import User
from storefront.accounts.tests.factories import DEFAULT_PASSWORD
from storefront.accounts.tests.helpers import change_password_with_changepassword

pytestmark = pytest.mark.django_db

SPACES = " " * 12


@pytest.mark.parametrize("password", [SPACES, "\t" * 10, " \n " * 4])
def test_a_password_made_only_of_whitespace_is_refused_by_the_validators(password):
    with pytest.raises(ValidationError) as caught:
        validate_password(password)

    assert "password_only_whitespace" in [error.code for error in caught.value.error_list]


def test_a_password_with_spaces_around_words_is_accepted():
    validate_password("  correct horse battery staple  ")


def test_registration_refuses_a_password_of_spaces(api_client):
    response = api_client.post(
        "/api/auth/register/", {"email": "spaces@example.com", "password": SPACES}
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["password"] == [
        "This password is made only of spaces."
    ]
    assert not User.objects.exists()


def test_the_admin_add_form_refuses_a_password_of_spaces(admin):
    response = admin.post(
        "/admin/accounts/user/add/",
        {"email": "spaces@example.com", "password1": SPACES, "password2": SPACES},
    )

    assert response.status_code == 200
    assert "This password is made only of spaces." in response.content.decode()
    assert not User.objects.filter(email="spaces@example.com").exists()


def test_the_admins_password_form_refuses_a_password_of_spaces(admin, customer):
    response = admin.post(
        f"/admin/accounts/user/{customer.pk}/password/",
        {"password1": SPACES, "password2": SPACES, "usable_password": "true"},
    )

    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.check_password(DEFAULT_PASSWORD)


def test_manage_py_changepassword_refuses_a_password_of_spaces(monkeypatch, customer):
    with pytest.raises(CommandError, match="Aborting password change"):
        change_password_with_changepassword(monkeypatch, customer.email, SPACES)

    customer.refresh_from_db()
    assert customer.check_password(DEFAULT_PASSWORD)
