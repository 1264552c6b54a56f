"""Every throttle: per client address, rates from the environment, and alive without a cache."""

import json
import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from storefront.core.api.throttling import ClientAddressThrottle, RateThrottle, UserThrottle

pytestmark = pytest.mark.django_db

# Nothing listens on port 9 (discard) here: every cache call fails to connect.
NO_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:9/0",
    }
}
REGISTER_URL = "/api/auth/register/"
TOKEN_URL = "/api/auth/token/"
GUEST_CART_URL = "/api/carts/"
LOGGER = "storefront.core.api.throttling"


def set_rate(settings, scope: str, rate: str | None) -> None:
    """Give `scope` another rate for this test (a new dict, so DRF reloads its settings)."""
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], scope: rate}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


def register(client: APIClient, n: int, **extra):
    payload = {"email": f"client{n}@example.com", "password": "violet-otter-harbour-92"}
    return client.post(REGISTER_URL, payload, **extra)


def log_in(client: APIClient, n: int, **extra):
    return client.post(TOKEN_URL, {"email": f"c{n}@example.com", "password": "x" * 12}, **extra)


def create_guest_cart(client: APIClient, n: int, **extra):
    return client.post(GUEST_CART_URL, **extra)


def ask_password_reset(client: APIClient, n: int, **extra):
    return client.post("/api/auth/password-reset/", {"email": f"r{n}@example.com"}, **extra)


ENDPOINTS = {
    "register": register,
    "login": log_in,
    "guest_cart": create_guest_cart,
    "password_reset": ask_password_reset,
}
SUCCESS = {"register": 201, "login": 400, "guest_cart": 201, "password_reset": 202}


def view_classes(resolver: URLResolver | None = None):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from view_classes(pattern)
        elif isinstance(pattern, URLPattern):
            view = getattr(pattern.callback, "cls", None) or getattr(
                pattern.callback, "view_class", None
            )
            if view is not None:
                yield view


# --- One base class ----------------------------------------------------------------------


def test_every_throttle_of_every_endpoint_is_a_rate_throttle():
    throttled = {}
    for view in view_classes():
        classes = getattr(view, "throttle_classes", None)
        if classes is None:
            continue
        for throttle in classes:
            assert issubclass(throttle, RateThrottle), (view, throttle)
        for throttle in classes:
            if issubclass(throttle, UserThrottle):
                scope = view.user_throttle_scope
            elif issubclass(throttle, ClientAddressThrottle):
                scope = view.throttle_scope
            else:
                scope = throttle.scope
            throttled.setdefault(scope, []).append(view.__name__)
    assert api_settings.DEFAULT_THROTTLE_CLASSES == []
    assert set(throttled) == set(django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]), (
        throttled
    )


# --- Per client address ------------------------------------------------------------------


@pytest.mark.parametrize("scope", ENDPOINTS)
def test_each_scope_is_limited_per_client_address(api_client, settings, scope):
    set_rate(settings, scope, "3/hour")
    send = ENDPOINTS[scope]

    statuses = [send(api_client, n).status_code for n in range(4)]
    elsewhere = send(api_client, 9, REMOTE_ADDR="192.0.2.40")

    assert statuses == [SUCCESS[scope]] * 3 + [429]
    assert elsewhere.status_code == SUCCESS[scope]


@pytest.mark.parametrize("scope", ENDPOINTS)
def test_a_forged_x_forwarded_for_does_not_escape_the_limit(api_client, settings, scope):
    set_rate(settings, scope, "3/hour")
    send = ENDPOINTS[scope]

    statuses = [
        send(api_client, n, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(10)
    ]

    assert statuses == [SUCCESS[scope]] * 3 + [429] * 7


def test_behind_a_proxy_the_client_is_counted_under_its_own_address(api_client, settings):
    settings.NUM_PROXIES = 1
    set_rate(settings, "guest_cart", "2/hour")

    def from_client(client_addr: str, proxy: str) -> int:
        headers = {"REMOTE_ADDR": proxy, "HTTP_X_FORWARDED_FOR": f"198.51.100.1, {client_addr}"}
        return api_client.post(GUEST_CART_URL, **headers).status_code

    # One client through two proxies shares one count; another client has its own.
    assert [from_client("203.0.113.1", proxy) for proxy in ("10.0.0.1", "10.0.0.2")] == [201] * 2
    assert from_client("203.0.113.1", "10.0.0.3") == 429
    assert from_client("203.0.113.2", "10.0.0.1") == 201


def test_an_authenticated_client_is_counted_under_its_address_too(settings):
    set_rate(settings, "guest_cart", "1/hour")
    first, second = APIClient(), APIClient()
    first.force_authenticate(UserFactory())
    second.force_authenticate(UserFactory())

    assert first.post(GUEST_CART_URL).status_code == 201
    assert second.post(GUEST_CART_URL).status_code == 429


def test_a_rate_of_none_turns_the_limit_off(api_client, settings):
    set_rate(settings, "guest_cart", None)

    assert {api_client.post(GUEST_CART_URL).status_code for _ in range(5)} == {201}


# --- Rates from the environment ----------------------------------------------------------


def settings_in_a_new_process(env: dict[str, str]) -> dict:
    """The throttle rates that config.settings.test reads from `env` (no other THROTTLE_RATE_*)."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("THROTTLE_RATE_")}
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=django_settings.BASE_DIR,
        env={**inherited, "DJANGO_SETTINGS_MODULE": "config.settings.test", **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_throttle_rates_default_to_the_documented_values():
    rates = settings_in_a_new_process({})

    assert rates == {
        "register": "20/hour",
        "login": "30/hour",
        "guest_cart": "60/hour",
        "guest_checkout": "20/hour",
        "password_reset": "10/hour",
        "password_reset_email": "3/hour",
        "verify_email_resend": "5/hour",
        "notify_me": "30/hour",
    }


def test_throttle_rates_are_read_from_the_environment():
    rates = settings_in_a_new_process(
        {
            "THROTTLE_RATE_REGISTER": "5/minute",
            "THROTTLE_RATE_LOGIN": "100/day",
            "THROTTLE_RATE_GUEST_CART": "none",
            "THROTTLE_RATE_GUEST_CHECKOUT": "7/hour",
            "THROTTLE_RATE_PASSWORD_RESET": "2/minute",
            "THROTTLE_RATE_PASSWORD_RESET_EMAIL": "1/day",
            "THROTTLE_RATE_VERIFY_EMAIL_RESEND": "none",
            "THROTTLE_RATE_NOTIFY_ME": "1/minute",
        }
    )

    assert rates == {
        "register": "5/minute",
        "login": "100/day",
        "guest_cart": None,
        "guest_checkout": "7/hour",
        "password_reset": "2/minute",
        "password_reset_email": "1/day",
        "verify_email_resend": None,
        "notify_me": "1/minute",
    }


def test_a_rate_drf_cannot_read_fails_the_system_checks(settings):
    set_rate(settings, "login", "20/fortnight")

    with pytest.raises(SystemCheckError, match=r"storefront\.E002"):
        call_command("check")


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("NUM_PROXIES", -1, "E001"),
        ("AUTH_TOKENS_PER_USER", 0, "E003"),
        ("GUEST_CART_MAX_AGE_DAYS", 0, "E004"),
    ],
)
def test_a_limit_out_of_range_fails_the_system_checks(settings, name, value, code):
    setattr(settings, name, value)

    with pytest.raises(SystemCheckError, match=rf"storefront\.{code}"):
        call_command("check")


def test_the_deploy_check_warns_when_num_proxies_is_unset(settings, capsys):
    settings.NUM_PROXIES = None

    call_command("check", "--deploy", "--tag", "security")

    assert "storefront.W001" in capsys.readouterr().err


def test_the_deploy_check_is_quiet_once_num_proxies_is_set(settings, capsys):
    settings.NUM_PROXIES = 0

    call_command("check", "--deploy", "--tag", "security")

    assert "storefront.W001" not in capsys.readouterr().err


# --- Without a cache ---------------------------------------------------------------------


@override_settings(CACHES=NO_REDIS)
@pytest.mark.parametrize("scope", ENDPOINTS)
def test_every_throttled_endpoint_answers_while_the_cache_is_unreachable(api_client, scope, caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        response = ENDPOINTS[scope](api_client, 1)

    assert response.status_code == SUCCESS[scope], response.content
    # One warning per throttle of the endpoint (password_reset has two: address and email).
    records = [record for record in caplog.records if record.name == LOGGER]
    assert scope in records[0].getMessage()
    assert records and all(record.exc_info is not None for record in records)


@override_settings(CACHES=NO_REDIS)
def test_login_works_while_the_cache_is_unreachable(api_client):
    customer = UserFactory()

    response = api_client.post(TOKEN_URL, {"email": customer.email, "password": DEFAULT_PASSWORD})

    assert response.status_code == 200
    assert "token" in response.json()


def test_a_throttle_counts_in_redis_lets_requests_through_while_it_is_down_and_resumes(
    api_client, settings, redis_server, caplog
):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_server.url(),
        }
    }
    set_rate(settings, "guest_cart", "2/hour")

    def create() -> int:
        return api_client.post(GUEST_CART_URL).status_code

    try:
        assert [create() for _ in range(3)] == [201, 201, 429]

        redis_server.stop()
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            assert [create() for _ in range(3)] == [201] * 3
        assert len([record for record in caplog.records if record.name == LOGGER]) == 3

        # A restarted Redis starts empty (no persistence): the count starts again.
        redis_server.start()
        assert [create() for _ in range(3)] == [201, 201, 429]
    finally:
        caches["default"].close()
