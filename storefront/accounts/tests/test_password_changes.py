"""A password change, by any path, revokes the user's tokens and lifts their lockouts; tokens
per user are capped."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import make_password
from knox.models import AuthToken
from rest_framework.test import APIClient

from storefront.accounts import services
from storefront.accounts.models import User
from storefront.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from storefront.accounts.tests.helpers import change_password_with_changepassword
from storefront.accounts.tests.test_api_token import (
    ME_URL,
    admin_log_in,
    client_with,
    fail,
    fail_admin,
    log_in,
)
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-passphrase-77"


def tokens_of(user) -> list[str]:
    return [AuthToken.objects.create(user)[1] for _ in range(2)]


def assert_revoked(tokens: list[str]) -> None:
    assert [client_with(token).get(ME_URL).status_code for token in tokens] == [401] * len(tokens)


# --- Tokens ------------------------------------------------------------------------------


def test_set_password_and_save_revokes_every_token_of_the_user(customer, other_customer):
    tokens = tokens_of(customer)
    _, someone_elses = AuthToken.objects.create(other_customer)

    customer.set_password(NEW_PASSWORD)
    customer.save()

    assert_revoked(tokens)
    assert client_with(someone_elses).get(ME_URL).status_code == 200


def test_the_admins_password_form_revokes_the_users_tokens(admin, customer):
    tokens = tokens_of(customer)

    response = admin.post(
        f"/admin/accounts/user/{customer.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 302, response.content
    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD)
    assert_revoked(tokens)


def test_manage_py_changepassword_revokes_the_users_tokens(monkeypatch, customer):
    tokens = tokens_of(customer)

    change_password_with_changepassword(monkeypatch, customer.email, NEW_PASSWORD)

    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD)
    assert_revoked(tokens)


def test_saving_other_fields_keeps_the_tokens(customer):
    tokens = tokens_of(customer)

    customer.first_name = "Ada"
    customer.save()

    assert {client_with(token).get(ME_URL).status_code for token in tokens} == {200}


def test_a_login_that_upgrades_the_password_hash_keeps_the_tokens(settings, api_client, customer):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    ]
    User.objects.filter(pk=customer.pk).update(
        password=make_password(DEFAULT_PASSWORD, hasher="pbkdf2_sha1")
    )
    tokens = tokens_of(customer)

    assert log_in(api_client, customer.email).status_code == 200

    customer.refresh_from_db()
    assert customer.password.startswith("md5$")
    assert {client_with(token).get(ME_URL).status_code for token in tokens} == {200}


def test_a_user_holds_at_most_the_configured_number_of_tokens_the_oldest_revoked(
    settings, api_client, customer
):
    settings.AUTH_TOKENS_PER_USER = 3

    tokens = [log_in(api_client, customer.email).json()["token"] for _ in range(5)]

    assert AuthToken.objects.filter(user=customer).count() == 3
    statuses = [client_with(token).get(ME_URL).status_code for token in tokens]
    assert statuses == [401, 401, 200, 200, 200]


def test_the_token_cap_counts_per_user(settings, api_client, customer, other_customer):
    settings.AUTH_TOKENS_PER_USER = 1
    _, someone_elses = AuthToken.objects.create(other_customer)

    log_in(api_client, customer.email)

    assert client_with(someone_elses).get(ME_URL).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_logins_leave_at_most_the_configured_number_of_tokens(settings):
    settings.AUTH_TOKENS_PER_USER = 3
    customer = UserFactory()

    outcomes = run_concurrently([lambda: log_in(APIClient(), customer.email)] * 8)

    assert [outcome.error for outcome in outcomes] == [None] * 8
    assert [outcome.value.status_code for outcome in outcomes] == [200] * 8
    assert AuthToken.objects.filter(user=customer).count() == 3


def test_the_default_token_cap_is_ten(settings):
    assert settings.AUTH_TOKENS_PER_USER == 10


# --- Lockouts ----------------------------------------------------------------------------


def lock_out_everywhere(client: APIClient, email: str) -> None:
    from django.conf import settings

    fail(client, email, settings.AXES_FAILURE_LIMIT)
    fail(client, email, settings.AXES_FAILURE_LIMIT, remote_addr="198.51.100.66")
    fail_admin(email, settings.AXES_FAILURE_LIMIT)
    assert log_in(client, email).status_code == 429
    assert admin_log_in(email).status_code == 429


def test_set_password_and_save_lifts_the_lockouts_of_the_email(api_client, staff):
    lock_out_everywhere(api_client, staff.email)

    staff.set_password(NEW_PASSWORD)
    staff.save()

    assert not AccessAttempt.objects.exists()
    assert log_in(api_client, staff.email, NEW_PASSWORD).status_code == 200
    assert admin_log_in(staff.email, NEW_PASSWORD).status_code == 302


def test_the_admins_password_form_lifts_the_lockouts(admin, api_client, customer):
    lock_out_everywhere(api_client, customer.email)

    admin.post(
        f"/admin/accounts/user/{customer.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert log_in(api_client, customer.email, NEW_PASSWORD).status_code == 200


def test_manage_py_changepassword_lifts_the_lockouts(monkeypatch, api_client, customer):
    lock_out_everywhere(api_client, customer.email)

    change_password_with_changepassword(monkeypatch, customer.email, NEW_PASSWORD)

    assert log_in(api_client, customer.email, NEW_PASSWORD).status_code == 200


def test_clear_login_lockout_forgets_only_that_emails_failures(api_client, customer):
    other = UserFactory()
    lock_out_everywhere(api_client, customer.email)
    fail(api_client, other.email, 1)

    cleared = services.clear_login_lockout(email=customer.email.upper())

    assert cleared == 3
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == [other.email]
