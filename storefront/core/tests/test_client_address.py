import pytest
from axes.models import AccessAttempt
from django.test import RequestFactory

from storefront.accounts.tests.factories import UserFactory
from storefront.core.client_address import client_address

pytestmark = pytest.mark.django_db

FORGED = "198.51.100.66"
CLIENT = "203.0.113.9"
PROXY = "10.0.0.2"


def request_from(remote_addr: str = PROXY, forwarded_for: str | None = None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote_addr, **headers)


def test_by_default_the_address_is_the_sockets_whatever_x_forwarded_for_says(settings):
    assert settings.NUM_PROXIES == 0

    assert client_address(request_from(CLIENT, forwarded_for=FORGED)) == CLIENT


def test_unset_num_proxies_counts_as_none(settings):
    settings.NUM_PROXIES = None

    assert client_address(request_from(CLIENT, forwarded_for=FORGED)) == CLIENT


@pytest.mark.parametrize(
    ("num_proxies", "forwarded_for", "expected"),
    [
        (1, CLIENT, CLIENT),
        (1, f"{FORGED}, {CLIENT}", CLIENT),
        (2, f"{FORGED}, {CLIENT}, 10.0.0.1", CLIENT),
        (2, CLIENT, CLIENT),
    ],
    ids=["one-proxy", "one-proxy-forged-entry", "two-proxies", "fewer-entries-than-proxies"],
)
def test_behind_proxies_the_address_is_the_one_the_outermost_proxy_saw(
    settings, num_proxies, forwarded_for, expected
):
    settings.NUM_PROXIES = num_proxies

    assert client_address(request_from(PROXY, forwarded_for=forwarded_for)) == expected


def test_behind_a_proxy_a_request_without_the_header_is_the_sockets(settings):
    settings.NUM_PROXIES = 1

    assert client_address(request_from(CLIENT)) == CLIENT


def test_an_entry_that_is_not_an_address_gives_the_sockets(settings):
    settings.NUM_PROXIES = 1

    assert client_address(request_from(PROXY, forwarded_for="unknown")) == PROXY


def test_an_ipv6_address_has_one_spelling(settings):
    settings.NUM_PROXIES = 1

    assert client_address(request_from(PROXY, forwarded_for="2001:DB8:0:0::1")) == "2001:db8::1"


def test_login_lockouts_count_the_client_under_the_same_address(api_client, settings):
    settings.NUM_PROXIES = 1
    customer = UserFactory()

    response = api_client.post(
        "/api/auth/token/",
        {"email": customer.email, "password": "wrong-password"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"{FORGED}, {CLIENT}",
    )

    assert response.status_code == 400
    assert AccessAttempt.objects.get().ip_address == CLIENT == client_address(response.wsgi_request)
