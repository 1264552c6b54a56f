"""Forgotten and changed passwords, and email verification, through the public API; the
emails go through the outbox (tasks in-process, Django's locmem mail outbox)."""

import re
import uuid
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from storefront.accounts import tokens
from storefront.accounts.models import User
from storefront.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from storefront.accounts.tests.helpers import assert_error
from storefront.accounts.tests.test_api_token import ME_URL, client_with, fail, log_in
from storefront.notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db

RESET_URL = "/api/auth/password-reset/"
CONFIRM_URL = "/api/auth/password-reset/confirm/"
CHANGE_URL = "/api/me/password/"
VERIFY_URL = "/api/auth/verify-email/"
RESEND_URL = "/api/auth/verify-email/resend/"
NEW_PASSWORD = "a-brand-new-passphrase-77"
LINK = re.compile(r"[?&]uid=(?P<uid>[^&\s]+)&token=(?P<token>[^#&\s]+)")


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """Run the after-commit hooks of what the block does, as its commit would: the outbox
    row is published and its email sent (to mail.outbox)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def link_in(email) -> dict[str, str]:
    match = LINK.search(email.body)
    assert match, email.body
    return match.groupdict()


def rate_of(scope: str) -> int:
    return int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope].split("/")[0])


def ask_reset(email: str, *, remote_addr: str = "127.0.0.1"):
    return APIClient().post(RESET_URL, {"email": email}, REMOTE_ADDR=remote_addr)


def reset_link(user: User, sent) -> dict[str, str]:
    mail.outbox.clear()
    with sent():
        assert ask_reset(user.email).status_code == 202
    [email] = mail.outbox
    assert email.to == [user.email]
    return link_in(email)


def confirm(link: dict[str, str], password: str = NEW_PASSWORD):
    return APIClient().post(CONFIRM_URL, {**link, "new_password": password})


# --- Forgotten password -----------------------------------------------------------------


def test_forgot_password_email_reset_old_tokens_refused_new_password_logs_in(
    customer, sent, api_client
):
    old_tokens = [AuthToken.objects.create(customer)[1] for _ in range(2)]

    link = reset_link(customer, sent)
    response = confirm(link)

    assert response.status_code == 204, response.content
    assert [client_with(token).get(ME_URL).status_code for token in old_tokens] == [401, 401]
    assert log_in(api_client, customer.email).status_code == 400
    assert log_in(api_client, customer.email, NEW_PASSWORD).status_code == 200
    # The link is spent.
    assert_error(confirm(link, "yet-another-passphrase-88"), 400, "invalid_token")
    assert log_in(api_client, customer.email, NEW_PASSWORD).status_code == 200


def test_the_reset_email_is_the_link_template_filled_in(customer, sent, settings):
    settings.PASSWORD_RESET_URL = "https://shop.example/reset/{uid}/{token}/"
    with sent():
        ask_reset(customer.email)

    [email] = mail.outbox
    match = re.search(r"https://shop\.example/reset/(?P<uid>[^/]+)/(?P<token>[^/]+)/", email.body)
    assert match, email.body
    assert tokens.user_for(match["uid"]) == customer
    assert confirm(match.groupdict()).status_code == 204


def test_an_unknown_email_answers_like_a_known_one_with_the_same_work(customer, sent):
    with CaptureQueriesContext(connection) as known_queries, sent():
        known = ask_reset(customer.email)
    with CaptureQueriesContext(connection) as unknown_queries, sent():
        unknown = ask_reset("nobody@example.com")

    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert known.status_code == 202
    assert [q["sql"].split()[0] for q in known_queries] == [
        q["sql"].split()[0] for q in unknown_queries
    ]
    # One email, to the account; the unknown address's row is skipped by the worker.
    assert [email.to for email in mail.outbox] == [[customer.email]]
    assert sorted(OutboxMessage.objects.values_list("status", flat=True)) == ["sent", "skipped"]
    # No token is stored anywhere in the outbox.
    token = link_in(mail.outbox[0])["token"]
    assert all(token not in str(row.payload) for row in OutboxMessage.objects.all())


def test_the_email_letter_case_does_not_matter(customer, sent):
    with sent():
        assert ask_reset(customer.email.upper()).status_code == 202
    assert [email.to for email in mail.outbox] == [[customer.email]]


def test_an_inactive_account_gets_no_reset_email(sent):
    user = UserFactory(is_active=False)
    with sent():
        assert ask_reset(user.email).status_code == 202
    assert mail.outbox == []


def test_a_reset_token_of_one_customer_does_not_work_for_another(customer, other_customer, sent):
    link = reset_link(customer, sent)

    response = confirm({"uid": tokens.uid_for(other_customer), "token": link["token"]})

    assert_error(response, 400, "invalid_token")
    assert User.objects.get(pk=other_customer.pk).check_password(DEFAULT_PASSWORD)
    assert User.objects.get(pk=customer.pk).check_password(DEFAULT_PASSWORD)


@pytest.mark.parametrize(
    "link",
    [
        {"uid": "not-base64!", "token": "abc-def"},
        {"uid": "MA", "token": "abc-def"},  # id 0
        {"uid": "OTk5OTk5OTk5OTk5OTk5OTk5OTk5", "token": "abc-def"},  # past the id range
        {"uid": "", "token": ""},
    ],
)
def test_a_malformed_link_is_refused(link, customer):
    response = confirm(link)
    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("invalid_token", "invalid")


def test_a_reset_link_expires(customer, sent):
    link = reset_link(customer, sent)
    later = timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 5)

    with time_machine.travel(later):
        assert_error(confirm(link), 400, "invalid_token")

    assert User.objects.get(pk=customer.pk).check_password(DEFAULT_PASSWORD)


def test_a_reset_link_stops_working_after_a_password_change(customer, sent):
    link = reset_link(customer, sent)
    customer.set_password("changed-elsewhere-passphrase")
    customer.save()

    assert_error(confirm(link), 400, "invalid_token")


def test_a_weak_new_password_is_refused_and_the_link_still_works(customer, sent):
    link = reset_link(customer, sent)

    assert_error(confirm(link, "123"), 400, "invalid", field="new_password")
    assert User.objects.get(pk=customer.pk).check_password(DEFAULT_PASSWORD)
    assert confirm(link).status_code == 204


def test_a_reset_lifts_the_lockout_of_the_email(customer, sent, api_client):
    fail(api_client, customer.email, settings.AXES_FAILURE_LIMIT)
    assert log_in(api_client, customer.email).status_code == 429

    assert confirm(reset_link(customer, sent)).status_code == 204

    assert not AccessAttempt.objects.exists()
    assert log_in(api_client, customer.email, NEW_PASSWORD).status_code == 200


def test_reset_requests_are_throttled_per_email_alike_for_known_and_unknown(customer):
    allowed = rate_of("password_reset_email")
    for email in (customer.email, "nobody@example.com"):
        statuses = [
            ask_reset(email, remote_addr=f"10.0.0.{n}").status_code for n in range(allowed + 1)
        ]
        assert statuses == [202] * allowed + [429], email
    assert ask_reset("someone-else@example.com").status_code == 202


def test_reset_requests_are_throttled_per_client_address():
    allowed = rate_of("password_reset")
    statuses = [ask_reset(f"user{n}@example.com").status_code for n in range(allowed + 1)]

    assert statuses == [202] * allowed + [429]
    assert ask_reset("user0@example.com", remote_addr="10.9.9.9").status_code == 202


def test_a_reset_request_needs_an_email(api_client):
    assert_error(api_client.post(RESET_URL, {}), 400, "invalid", field="email")
    assert_error(api_client.post(RESET_URL, {"email": "no"}), 400, "invalid", field="email")
    assert OutboxMessage.objects.count() == 0


# --- Changing a password ----------------------------------------------------------------


def test_changing_the_password_keeps_the_token_in_use_and_revokes_the_others(customer):
    [current, other] = [AuthToken.objects.create(customer)[1] for _ in range(2)]
    client = client_with(current)

    response = client.post(
        CHANGE_URL, {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 204, response.content
    assert client.get(ME_URL).status_code == 200
    assert client_with(other).get(ME_URL).status_code == 401
    assert User.objects.get(pk=customer.pk).check_password(NEW_PASSWORD)


def test_a_wrong_current_password_changes_nothing(customer):
    token = AuthToken.objects.create(customer)[1]
    other = AuthToken.objects.create(customer)[1]

    response = client_with(token).post(
        CHANGE_URL, {"current_password": "not-my-password", "new_password": NEW_PASSWORD}
    )

    assert_error(response, 400, "invalid", field="current_password")
    assert User.objects.get(pk=customer.pk).check_password(DEFAULT_PASSWORD)
    assert client_with(other).get(ME_URL).status_code == 200


def test_the_new_password_passes_the_validators(customer):
    client = client_with(AuthToken.objects.create(customer)[1])

    response = client.post(
        CHANGE_URL, {"current_password": DEFAULT_PASSWORD, "new_password": customer.email}
    )

    assert_error(response, 400, "invalid", field="new_password")
    assert User.objects.get(pk=customer.pk).check_password(DEFAULT_PASSWORD)


def test_changing_a_password_needs_a_login(api_client):
    response = api_client.post(CHANGE_URL, {"current_password": "x", "new_password": "y"})
    assert response.status_code == 401


def test_a_session_stays_signed_in_after_changing_its_password(customer):
    client = APIClient(enforce_csrf_checks=False)
    client.force_login(customer)

    response = client.post(
        CHANGE_URL, {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 204
    assert client.get(ME_URL).status_code == 200


# --- Email verification -----------------------------------------------------------------


def register(email: str, sent) -> tuple[User, dict[str, str]]:
    mail.outbox.clear()
    with sent():
        response = APIClient().post(
            "/api/auth/register/", {"email": email, "password": NEW_PASSWORD}
        )
    assert response.status_code == 201, response.content
    assert response.json()["email_verified"] is False
    [verification] = [m for m in mail.outbox if m.subject == "Confirm your email address"]
    assert verification.to == [email]
    return User.objects.get(email=email), link_in(verification)


def test_registering_sends_a_verification_link_that_verifies_the_email(sent):
    user, link = register("new@example.com", sent)
    client = client_with(AuthToken.objects.create(user)[1])
    assert client.get(ME_URL).json()["email_verified"] is False

    assert APIClient().post(VERIFY_URL, link).status_code == 204

    assert client.get(ME_URL).json()["email_verified"] is True
    # A second click changes nothing and succeeds.
    assert APIClient().post(VERIFY_URL, link).status_code == 204


def test_a_tampered_or_foreign_verification_link_is_refused(sent, other_customer):
    _user, link = register("new@example.com", sent)

    assert_error(
        APIClient().post(VERIFY_URL, {**link, "token": link["token"][:-1] + "x"}),
        400,
        "invalid_token",
    )
    foreign = {"uid": tokens.uid_for(other_customer), "token": link["token"]}
    assert_error(APIClient().post(VERIFY_URL, foreign), 400, "invalid_token")
    assert not User.objects.filter(email_verified=True).exists()


def test_a_verification_link_does_not_verify_a_changed_email(sent):
    user, link = register("new@example.com", sent)
    User.objects.filter(pk=user.pk).update(email="changed@example.com")

    assert_error(APIClient().post(VERIFY_URL, link), 400, "invalid_token")
    assert User.objects.get(pk=user.pk).email_verified is False


def test_a_verification_link_expires(sent):
    _user, link = register("new@example.com", sent)
    later = timezone.now() + timedelta(seconds=settings.EMAIL_VERIFICATION_TIMEOUT + 5)

    with time_machine.travel(later):
        assert_error(APIClient().post(VERIFY_URL, link), 400, "invalid_token")


def test_resend_sends_a_new_link_until_verified(sent, customer):
    client = client_with(AuthToken.objects.create(customer)[1])
    with sent():
        assert client.post(RESEND_URL).status_code == 202
    [email] = mail.outbox
    assert APIClient().post(VERIFY_URL, link_in(email)).status_code == 204

    mail.outbox.clear()
    with sent():
        assert client.post(RESEND_URL).status_code == 202
    assert mail.outbox == []


def test_resend_is_throttled_per_user(customer):
    client = client_with(AuthToken.objects.create(customer)[1])
    allowed = rate_of("verify_email_resend")

    statuses = [client.post(RESEND_URL).status_code for _ in range(allowed + 1)]

    assert statuses == [202] * allowed + [429]
    assert (
        client_with(AuthToken.objects.create(UserFactory())[1]).post(RESEND_URL).status_code == 202
    )


def test_resend_needs_a_login(api_client):
    assert api_client.post(RESEND_URL).status_code == 401


def test_the_profile_shows_verification_and_staff_read_only(customer, staff):
    client = client_with(AuthToken.objects.create(customer)[1])

    response = client.patch(ME_URL, {"email_verified": True, "is_staff": True}, format="json")

    assert response.status_code == 200
    assert (response.json()["email_verified"], response.json()["is_staff"]) == (False, False)
    assert User.objects.filter(pk=customer.pk, is_staff=False, email_verified=False).exists()
    assert client_with(AuthToken.objects.create(staff)[1]).get(ME_URL).json()["is_staff"] is True


def test_the_outbox_keys_of_two_resends_differ(customer, sent):
    client = client_with(AuthToken.objects.create(customer)[1])
    with sent():
        client.post(RESEND_URL)
        client.post(RESEND_URL)
    keys = list(OutboxMessage.objects.values_list("key", flat=True))
    assert len(set(keys)) == 2 and all(uuid.UUID(key.rsplit(":", 1)[1]) for key in keys)
