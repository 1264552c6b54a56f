import datetime

import pytest
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from storefront.accounts.models import User
from storefront.accounts.tests.factories import DEFAULT_PASSWORD
from storefront.accounts.tests.helpers import assert_error

URL = "/api/me/"

pytestmark = pytest.mark.django_db


def test_me_answers_the_signed_in_users_profile(customer_client, customer):
    response = customer_client.get(URL)

    assert response.status_code == 200
    assert response.json() == {
        "id": customer.pk,
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "phone_number": "",
        "birth_date": None,
        "membership": "bronze",
        "email_verified": False,
        "is_staff": False,
        "date_joined": customer.date_joined.isoformat().replace("+00:00", "Z"),
    }


def test_me_of_staff_is_their_own_profile(api_client, staff, customer):
    api_client.force_authenticate(staff)

    response = api_client.get(URL)

    assert response.json()["id"] == staff.pk
    assert response.json()["is_staff"] is True


def test_me_answers_401_to_anonymous(api_client):
    assert_error(api_client.get(URL), 401, "not_authenticated")
    assert_error(api_client.patch(URL, {"first_name": "X"}), 401, "not_authenticated")


def test_me_patch_updates_the_editable_fields(customer_client, customer):
    changes = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "phone_number": "+1 555 0199",
        "birth_date": "1906-12-09",
    }

    response = customer_client.patch(URL, changes)

    assert response.status_code == 200
    assert {key: response.json()[key] for key in changes} == changes
    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name) == ("Grace", "Hopper")
    assert customer.phone_number == "+1 555 0199"
    assert customer.birth_date == datetime.date(1906, 12, 9)


def test_me_patch_can_clear_the_birth_date(customer_client, customer):
    customer.birth_date = datetime.date(1990, 1, 1)
    customer.save()

    response = customer_client.patch(URL, {"birth_date": None})

    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.birth_date is None


def test_me_patch_ignores_read_only_and_unknown_fields(customer_client, customer):
    response = customer_client.patch(
        URL,
        {
            "id": customer.pk + 1000,
            "email": "hijack@example.com",
            "membership": "gold",
            "date_joined": "2000-01-01T00:00:00Z",
            "is_staff": True,
            "is_superuser": True,
            "is_active": False,
            "password": "new-password-123",
            "first_name": "Still",
        },
    )

    assert response.status_code == 200
    before = customer
    customer = User.objects.get(pk=before.pk)
    assert customer.first_name == "Still"
    assert customer.email == before.email
    assert customer.membership == "bronze"
    assert customer.date_joined == before.date_joined
    assert (customer.is_staff, customer.is_superuser, customer.is_active) == (False, False, True)
    assert customer.check_password(DEFAULT_PASSWORD)
    assert response.json()["email"] == before.email
    assert response.json()["membership"] == "bronze"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"phone_number": "call me maybe"}, "phone_number"),
        ({"birth_date": "yesterday"}, "birth_date"),
        ({"birth_date": 19900101}, "birth_date"),
        ({"first_name": "x" * 151}, "first_name"),
        ({"first_name": None}, "first_name"),
        ({"last_name": {"nested": "object"}}, "last_name"),
    ],
    ids=["bad-phone", "bad-date", "date-as-number", "name-too-long", "name-null", "name-object"],
)
def test_me_patch_rejects_bad_input_and_changes_nothing(customer_client, customer, changes, field):
    before = User.objects.values().get(pk=customer.pk)

    response = customer_client.patch(URL, {"first_name": "Changed", **changes})

    assert_error(response, 400, "invalid", field=field)
    assert User.objects.values().get(pk=customer.pk) == before


def test_me_patch_rejects_a_birth_date_in_the_future(customer_client, customer):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    response = customer_client.patch(URL, {"birth_date": tomorrow.isoformat()})

    assert_error(response, 400, "invalid", field="birth_date")
    customer.refresh_from_db()
    assert customer.birth_date is None


def test_me_put_is_not_allowed(customer_client):
    assert_error(customer_client.put(URL, {"first_name": "X"}), 405, "method_not_allowed")


def test_me_with_a_real_token(customer):
    _, token = AuthToken.objects.create(customer)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert client.get(URL).json()["email"] == customer.email


def test_me_get_needs_no_query_with_a_known_user(customer_client, django_assert_num_queries):
    with django_assert_num_queries(0):
        customer_client.get(URL)
