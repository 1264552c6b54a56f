from datetime import datetime, timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.test import APIClient

from storefront.accounts.authentication import TokenAuthentication
from storefront.accounts.tasks import delete_expired_tokens
from storefront.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from storefront.accounts.tests.helpers import assert_error

TOKEN_URL = "/api/auth/token/"
LOGOUT_URL = "/api/auth/logout/"
LOGOUT_ALL_URL = "/api/auth/logout-all/"
ME_URL = "/api/me/"
ADMIN_LOGIN_URL = "/admin/login/?next=/admin/"
# The test client's default REMOTE_ADDR, and another client's.
OWN_ADDRESS = "127.0.0.1"
ATTACKER = "198.51.100.66"

pytestmark = pytest.mark.django_db


def log_in(client, email, password=DEFAULT_PASSWORD, *, remote_addr=OWN_ADDRESS):
    return client.post(TOKEN_URL, {"email": email, "password": password}, REMOTE_ADDR=remote_addr)


def admin_log_in(email, password=DEFAULT_PASSWORD, *, remote_addr=OWN_ADDRESS):
    """POST the admin's login form: 302 to the admin on success, 200 (the form) on failure."""
    return Client().post(
        ADMIN_LOGIN_URL, {"username": email, "password": password}, REMOTE_ADDR=remote_addr
    )


def client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


# --- Obtaining a token -------------------------------------------------------------------


def test_token_is_issued_for_the_right_credentials_and_authenticates(api_client, customer):
    response = log_in(api_client, customer.email)

    assert response.status_code == 200
    assert set(response.json()) == {"token", "expiry"}
    me = client_with(response.json()["token"]).get(ME_URL)
    assert me.status_code == 200
    assert me.json()["id"] == customer.pk


def test_token_expires_after_the_configured_ttl(api_client, customer):
    before = timezone.now()

    response = log_in(api_client, customer.email)

    expiry = datetime.fromisoformat(response.json()["expiry"])
    ttl = settings.REST_KNOX["TOKEN_TTL"]
    assert before + ttl <= expiry <= timezone.now() + ttl
    assert AuthToken.objects.get(user=customer).expiry == expiry


def test_token_is_stored_only_as_a_digest(api_client, customer):
    token = log_in(api_client, customer.email).json()["token"]

    stored = AuthToken.objects.get(user=customer)
    assert stored.digest == hash_token(token)
    assert token not in {stored.digest, stored.token_key}
    assert not AuthToken.objects.filter(digest=token).exists()


def test_token_login_ignores_the_letter_case_of_the_email(api_client):
    user = UserFactory(email="case@example.com")

    response = log_in(api_client, "CASE@Example.com")

    assert response.status_code == 200
    assert AuthToken.objects.get().user == user


def test_token_login_records_last_login(api_client, customer):
    assert customer.last_login is None

    log_in(api_client, customer.email)

    customer.refresh_from_db()
    assert customer.last_login is not None


def test_token_refused_for_a_wrong_password(api_client, customer):
    response = log_in(api_client, customer.email, "wrong-password")

    error = assert_error(response, 400, "invalid_credentials")
    assert "fields" not in error
    assert not AuthToken.objects.exists()


def test_token_refused_for_an_unknown_email_in_the_same_shape(api_client, customer):
    wrong_password = log_in(api_client, customer.email, "wrong-password").json()
    unknown_email = log_in(api_client, "nobody@example.com").json()

    assert unknown_email == wrong_password


def test_token_refused_for_an_inactive_user_even_with_the_right_password(api_client):
    user = UserFactory(is_active=False)

    response = log_in(api_client, user.email)

    assert_error(response, 400, "invalid_credentials")
    assert not AuthToken.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"password": DEFAULT_PASSWORD}, "email"),
        ({"email": "someone@example.com"}, "password"),
        ({"email": "not-an-email", "password": DEFAULT_PASSWORD}, "email"),
        ({"email": 42, "password": DEFAULT_PASSWORD}, "email"),
        ({"email": "someone@example.com", "password": ["x"]}, "password"),
    ],
    ids=["missing-email", "missing-password", "invalid-email", "email-number", "password-list"],
)
def test_token_rejects_bad_input_without_counting_a_failure(api_client, payload, field):
    response = api_client.post(TOKEN_URL, payload, format="json")

    assert_error(response, 400, "invalid", field=field)
    assert not AuthToken.objects.exists()
    assert not AccessAttempt.objects.exists()


# --- Throttle per client address --------------------------------------------------------


def test_password_spraying_across_many_accounts_is_throttled_per_client_address(api_client):
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"]
    allowed = int(rate.split("/")[0])
    victims = [UserFactory(email=f"victim{n}@example.com").email for n in range(72)]

    statuses = [log_in(api_client, email, "Summer2026!").status_code for email in victims]

    assert statuses == [400] * allowed + [429] * (72 - allowed)
    response = log_in(api_client, victims[0])
    assert_error(response, 429, "throttled")
    assert int(response.headers["Retry-After"]) > 0
    assert log_in(api_client, victims[0], remote_addr="192.0.2.7").status_code == 200


# --- Lockout (django-axes) ---------------------------------------------------------------


def fail(client, email, times, *, remote_addr=OWN_ADDRESS):
    return [
        log_in(client, email, "wrong-password", remote_addr=remote_addr).status_code
        for _ in range(times)
    ]


def fail_admin(email, times, *, remote_addr=OWN_ADDRESS):
    return [
        admin_log_in(email, "wrong-password", remote_addr=remote_addr).status_code
        for _ in range(times)
    ]


def test_lockout_answers_429_from_the_failure_that_reaches_the_limit(api_client, customer):
    limit = settings.AXES_FAILURE_LIMIT

    statuses = fail(api_client, customer.email, limit)

    assert statuses == [400] * (limit - 1) + [429]


def test_lockout_refuses_the_right_password_in_the_error_shape(api_client, customer):
    fail(api_client, customer.email, settings.AXES_FAILURE_LIMIT)

    response = log_in(api_client, customer.email)

    assert_error(response, 429, "throttled")
    assert not AuthToken.objects.exists()


def test_lockout_flags_the_django_request_that_axes_middleware_reads(api_client, customer):
    fail(api_client, customer.email, settings.AXES_FAILURE_LIMIT)

    response = log_in(api_client, customer.email)

    assert response.wsgi_request.axes_locked_out is True


def test_lockout_counts_failures_per_email_whatever_the_letter_case(api_client, customer):
    fail(api_client, customer.email.upper(), settings.AXES_FAILURE_LIMIT - 1)
    fail(api_client, customer.email, 1)

    assert log_in(api_client, customer.email).status_code == 429


def test_lockout_of_one_email_leaves_another_email_unaffected(api_client, customer):
    other = UserFactory()
    fail(api_client, customer.email, settings.AXES_FAILURE_LIMIT)

    response = log_in(api_client, other.email)

    assert response.status_code == 200


def test_an_attackers_failures_do_not_lock_the_customer_out_from_their_own_address(
    api_client, customer
):
    fail(api_client, customer.email, settings.AXES_FAILURE_LIMIT, remote_addr=ATTACKER)

    assert log_in(api_client, customer.email, remote_addr=ATTACKER).status_code == 429
    assert log_in(api_client, customer.email).status_code == 200
    # The customer's success forgets their own failures only: the attacker stays locked out.
    assert log_in(api_client, customer.email, remote_addr=ATTACKER).status_code == 429


def test_lockout_is_recorded_for_the_pair_of_email_and_client_address(api_client, customer):
    fail(api_client, customer.email, 2, remote_addr=ATTACKER)
    fail(api_client, customer.email, 1)

    pairs = AccessAttempt.objects.values_list("username", "ip_address", "failures_since_start")
    assert sorted(pairs) == [(customer.email, OWN_ADDRESS, 1), (customer.email, ATTACKER, 2)]


def test_admin_login_is_locked_out_after_the_limit_in_the_error_shape(staff):
    statuses = fail_admin(staff.email, settings.AXES_FAILURE_LIMIT)

    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    assert_error(admin_log_in(staff.email), 429, "throttled")


def test_api_failures_do_not_lock_staff_out_of_the_admin(api_client, staff):
    fail(api_client, staff.email, settings.AXES_FAILURE_LIMIT)
    assert log_in(api_client, staff.email).status_code == 429

    response = admin_log_in(staff.email)

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


def test_admin_failures_do_not_lock_the_api_login(api_client, staff):
    fail_admin(staff.email, settings.AXES_FAILURE_LIMIT)
    assert admin_log_in(staff.email).status_code == 429

    assert log_in(api_client, staff.email).status_code == 200


def test_successful_login_resets_the_failure_count(api_client, customer):
    limit = settings.AXES_FAILURE_LIMIT
    fail(api_client, customer.email, limit - 1)
    assert log_in(api_client, customer.email).status_code == 200

    statuses = fail(api_client, customer.email, limit - 1)

    assert statuses == [400] * (limit - 1)


# --- Using tokens ------------------------------------------------------------------------


def test_expired_token_answers_401_and_is_deleted(customer):
    _, token = AuthToken.objects.create(customer, timedelta(seconds=-1))

    response = client_with(token).get(ME_URL)

    assert_error(response, 401, "authentication_failed")
    assert not AuthToken.objects.exists()


def test_a_token_is_checked_with_one_query_however_many_the_user_has(
    customer, django_assert_num_queries
):
    for _ in range(3):
        AuthToken.objects.create(customer, timedelta(seconds=-1))
    _, token = AuthToken.objects.create(customer)
    request = client_with(token).get(ME_URL).wsgi_request

    with django_assert_num_queries(1):
        assert TokenAuthentication().authenticate(request) is not None
    assert AuthToken.objects.filter(user=customer).count() == 4


def test_expired_tokens_are_deleted_by_the_periodic_task(customer):
    AuthToken.objects.create(customer, timedelta(seconds=-1))
    AuthToken.objects.create(UserFactory(), timedelta(seconds=-1))
    _, valid = AuthToken.objects.create(customer)

    assert delete_expired_tokens() == 2

    assert list(AuthToken.objects.values_list("token_key", flat=True)) == [valid[:15]]
    assert client_with(valid).get(ME_URL).status_code == 200
    assert "delete-expired-api-tokens" in settings.CELERY_BEAT_SCHEDULE


def test_unknown_token_answers_401(customer):
    response = client_with("0" * 64).get(ME_URL)

    assert_error(response, 401, "authentication_failed")


def test_token_that_is_not_utf8_answers_401_not_500(customer):
    # Headers arrive as Latin-1; b"\xe9" is not valid UTF-8.
    response = client_with("\xe9" * 64).get(ME_URL)

    assert_error(response, 401, "authentication_failed")


def test_token_header_with_a_space_in_the_token_answers_401(customer):
    response = client_with("abc def").get(ME_URL)

    assert_error(response, 401, "authentication_failed")


# --- Logging out -------------------------------------------------------------------------


def test_logout_revokes_the_token_used(customer):
    _, token = AuthToken.objects.create(customer)
    client = client_with(token)

    response = client.post(LOGOUT_URL)

    assert response.status_code == 204
    assert_error(client.get(ME_URL), 401, "authentication_failed")


def test_logout_keeps_the_users_other_tokens(customer):
    _, used = AuthToken.objects.create(customer)
    _, other = AuthToken.objects.create(customer)

    client_with(used).post(LOGOUT_URL)

    assert client_with(other).get(ME_URL).status_code == 200


def test_logout_all_revokes_every_token_of_the_user_only(customer, other_customer):
    _, first = AuthToken.objects.create(customer)
    _, second = AuthToken.objects.create(customer)
    _, someone_elses = AuthToken.objects.create(other_customer)

    response = client_with(first).post(LOGOUT_ALL_URL)

    assert response.status_code == 204
    assert client_with(second).get(ME_URL).status_code == 401
    assert client_with(someone_elses).get(ME_URL).status_code == 200


@pytest.mark.parametrize("url", [LOGOUT_URL, LOGOUT_ALL_URL])
def test_logout_without_a_token_answers_401(api_client, url):
    assert_error(api_client.post(url), 401, "not_authenticated")


@pytest.mark.parametrize("url", [LOGOUT_URL, LOGOUT_ALL_URL])
def test_logout_needs_a_token_not_a_session(customer, url):
    browser = APIClient()
    browser.force_login(customer)

    assert_error(browser.post(url), 401, "not_authenticated")
