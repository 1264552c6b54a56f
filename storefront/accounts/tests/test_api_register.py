import pytest
from django.conf import settings
from django.contrib.auth.hashers import MD5PasswordHasher
from knox.models import AuthToken
from rest_framework.test import APIClient

from storefront.accounts.models import User
from storefront.accounts.tests.factories import UserFactory
from storefront.accounts.tests.helpers import assert_error

URL = "/api/auth/register/"
STRONG_PASSWORD = "violet-otter-harbour-92"

pytestmark = pytest.mark.django_db


class CountingHasher(MD5PasswordHasher):
    """The test suite's hasher, counting the passwords it hashes."""

    hashed: list[str] = []

    def encode(self, password, salt):
        self.hashed.append(password)
        return super().encode(password, salt)


@pytest.fixture
def hashed(settings) -> list[str]:
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    CountingHasher.hashed = []
    return CountingHasher.hashed


def register(api_client, *, remote_addr: str = "127.0.0.1", **overrides):
    payload = {"email": "new@example.com", "password": STRONG_PASSWORD, **overrides}
    return api_client.post(URL, payload, REMOTE_ADDR=remote_addr)


def test_register_creates_a_customer_and_answers_the_profile(api_client):
    response = register(api_client, first_name="Ada", last_name="Lovelace")

    assert response.status_code == 201
    user = User.objects.get()
    assert response.json() == {
        "id": user.pk,
        "email": "new@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone_number": "",
        "birth_date": None,
        "membership": "bronze",
        "email_verified": False,
        "is_staff": False,
        "date_joined": response.json()["date_joined"],
    }
    assert user.check_password(STRONG_PASSWORD)
    assert not user.is_staff and not user.is_superuser


def test_register_answers_no_token_and_issues_none(api_client):
    response = register(api_client)

    assert response.status_code == 201
    assert "token" not in response.json()
    assert "password" not in response.json()
    assert not AuthToken.objects.exists()


def test_register_stores_the_email_lower_cased(api_client):
    response = register(api_client, email="Mixed.Case@Example.COM")

    assert response.status_code == 201
    assert response.json()["email"] == "mixed.case@example.com"
    assert User.objects.get().email == "mixed.case@example.com"


def test_register_ignores_privilege_fields(api_client):
    response = register(api_client, is_staff=True, is_superuser=True, membership="gold")

    assert response.status_code == 201
    user = User.objects.get()
    assert (user.is_staff, user.is_superuser, user.membership) == (False, False, "bronze")


def test_register_rejects_an_email_taken_in_another_letter_case(api_client):
    UserFactory(email="a@x.com")

    response = register(api_client, email="A@X.com")

    error = assert_error(response, 400, "invalid", field="email")
    assert error["fields"]["email"] == ["A user with this email already exists."]
    assert User.objects.count() == 1


def test_register_rejects_a_common_password_under_password(api_client):
    response = register(api_client, password="password123")

    assert_error(response, 400, "invalid", field="password")
    assert not User.objects.exists()


def test_register_rejects_a_password_similar_to_the_email(api_client):
    response = register(api_client, email="marguerite.yourcenar@example.com", password="yourcenar")

    error = assert_error(response, 400, "invalid", field="password")
    assert any("similar" in message for message in error["fields"]["password"])
    assert not User.objects.exists()


def test_register_reports_a_weak_password_and_a_taken_email_together(api_client):
    UserFactory(email="taken@example.com")

    response = register(api_client, email="taken@example.com", password="123")

    error = assert_error(response, 400, "invalid")
    assert set(error["fields"]) == {"email", "password"}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"password": STRONG_PASSWORD}, "email"),
        ({"email": "new@example.com"}, "password"),
        ({"email": "not-an-email", "password": STRONG_PASSWORD}, "email"),
        ({"email": ["new@example.com"], "password": STRONG_PASSWORD}, "email"),
        ({"email": "new@example.com", "password": {"a": 1}}, "password"),
        (
            {"email": "new@example.com", "password": STRONG_PASSWORD, "first_name": "x" * 151},
            "first_name",
        ),
        ({"email": "new@example.com", "password": "nul\x00" + STRONG_PASSWORD}, "password"),
    ],
    ids=[
        "missing-email",
        "missing-password",
        "invalid-email",
        "email-wrong-type",
        "password-wrong-type",
        "first-name-too-long",
        "nul-in-password",
    ],
)
def test_register_rejects_bad_input_and_creates_nobody(api_client, payload, field):
    response = api_client.post(URL, payload, format="json")

    assert_error(response, 400, "invalid", field=field)
    assert not User.objects.exists()


def test_register_rejects_a_body_that_is_not_json(api_client):
    response = api_client.post(URL, "{not json", content_type="application/json")

    assert_error(response, 400, "parse_error")
    assert not User.objects.exists()


def test_register_rejects_a_json_list(api_client):
    response = api_client.post(URL, [1, 2], format="json")

    assert_error(response, 400, "invalid", field="non_field_errors")


def test_register_accepts_a_form_encoded_body(api_client):
    response = api_client.post(
        URL, {"email": "form@example.com", "password": STRONG_PASSWORD}, format="multipart"
    )

    assert response.status_code == 201
    assert User.objects.filter(email="form@example.com").exists()


def test_register_does_not_need_csrf_when_a_session_cookie_is_present():
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(UserFactory())

    response = register(browser)

    assert response.status_code == 201
    assert response.json()["email"] == "new@example.com"


def test_register_is_throttled_per_client(api_client):
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["register"]
    allowed = int(rate.split("/")[0])
    for n in range(allowed):
        assert register(api_client, email=f"user{n}@example.com").status_code == 201

    response = register(api_client, email="one-too-many@example.com")

    assert_error(response, 429, "throttled")
    assert int(response.headers["Retry-After"]) > 0
    assert not User.objects.filter(email="one-too-many@example.com").exists()
    other_client = register(api_client, email="elsewhere@example.com", remote_addr="10.1.2.3")
    assert other_client.status_code == 201


def test_register_ignores_a_forged_x_forwarded_for(api_client):
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["register"]
    allowed = int(rate.split("/")[0])
    statuses = [
        api_client.post(
            URL,
            {"email": f"forged{n}@example.com", "password": STRONG_PASSWORD},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        ).status_code
        for n in range(allowed + 10)
    ]

    assert statuses == [201] * allowed + [429] * 10


def test_register_hashes_the_password_of_a_new_email(api_client, hashed):
    assert register(api_client).status_code == 201

    assert hashed == [STRONG_PASSWORD]


def test_register_hashes_the_password_of_a_taken_email_too(api_client, hashed):
    UserFactory(email="taken@example.com")
    hashed.clear()

    response = register(api_client, email="TAKEN@example.com")

    assert_error(response, 400, "invalid", field="email")
    assert hashed == [STRONG_PASSWORD]


def test_register_hashes_nothing_for_a_weak_password_whether_or_not_the_email_is_taken(
    api_client, hashed
):
    UserFactory(email="taken@example.com")
    hashed.clear()

    new = register(api_client, email="new@example.com", password="123")
    taken = register(api_client, email="taken@example.com", password="123")

    assert (new.status_code, taken.status_code) == (400, 400)
    assert hashed == []
