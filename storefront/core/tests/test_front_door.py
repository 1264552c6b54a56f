"""`/` and `/api/` index the server; unmatched paths under /api/ answer the JSON 404."""

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import resolve

from storefront.accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings):
    """Each test runs with DEBUG off (production) and on (`make run`)."""
    settings.DEBUG = request.param
    return request.param


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


def assert_json_404(response, message="Not found."):
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"status": 404, "code": "not_found", "message": message}}


def test_the_index_links_the_api_docs_admin_and_health(client, debug):
    response = client.get("/")

    assert response.status_code == 200
    links = response.json()["links"]
    assert {"api", "docs", "schema", "admin", "health"} <= set(links)
    assert links["api"] == "http://testserver/api/"
    assert links["health"] == "http://testserver/api/health/"
    assert links["admin"] == "http://testserver/admin/"
    assert links["docs"] == "http://testserver/api/docs/"


def test_the_index_ignores_a_bad_token(client):
    response = client.get("/", HTTP_AUTHORIZATION="Token not-a-token")
    assert response.status_code == 200


def test_the_api_root_links_every_area_to_existing_endpoints(api_client):
    response = api_client.get("/api/")

    assert response.status_code == 200
    body = response.json()
    assert set(body["areas"]) == {
        "accounts",
        "catalog",
        "cart",
        "orders",
        "analytics",
        "wishlist",
        "webhooks",
    }
    assert body["areas"]["catalog"]["products"] == "http://testserver/api/products/"
    assert body["areas"]["orders"]["orders"] == "http://testserver/api/orders/"
    links = [*body["links"].values()]
    links += [url for area in body["areas"].values() for url in area.values()]
    for url in links:
        assert resolve(urlsplit(url).path).url_name != "api-not-found", url


@pytest.mark.parametrize("path", ["/api/nope/", "/api/products/1/nope/", "/api/nope", "/api/x/y"])
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_an_unmatched_api_path_answers_the_json_404(client, debug, path, method):
    assert_json_404(getattr(client, method)(path))


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_write_to_an_endpoint_without_its_trailing_slash_is_a_404_naming_the_path(
    client, debug, method
):
    response = getattr(client, method)("/api/orders", {}, content_type="application/json")

    assert_json_404(
        response, f"Not found. Send {method.upper()} to /api/orders/ (with a trailing slash)."
    )


def test_a_post_to_the_api_without_its_slash_is_a_json_404(client, debug):
    response = client.post("/api", {}, content_type="application/json")

    assert_json_404(response, "Not found. Send POST to /api/ (with a trailing slash).")


@pytest.mark.parametrize("method", ["get", "head"])
def test_a_read_of_an_endpoint_without_its_trailing_slash_redirects_to_it(client, debug, method):
    response = getattr(client, method)("/api/products", {"search": "mug"})

    assert response.status_code == 301
    assert response["Location"] == "/api/products/?search=mug"


def test_a_read_of_a_detail_without_its_trailing_slash_redirects_to_it(client, debug):
    user = UserFactory()
    client.force_login(user)

    response = client.get("/api/me")

    assert response.status_code == 301
    assert response["Location"] == "/api/me/"


def test_paths_outside_the_api_keep_django_s_answers(client):
    assert client.get("/admin").status_code == 301
    response = client.get("/nope/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
