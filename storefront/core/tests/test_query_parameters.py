"""Every list endpoint answers 400 naming an unknown query parameter, and takes its own."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.generics import GenericAPIView
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import StaffFactory
from storefront.analytics.api.views import AnalyticsView
from storefront.catalog.tests.factories import CategoryFactory, VariantFactory
from storefront.core.api.filters import KnownQueryParameters

pytestmark = pytest.mark.django_db

# Each list endpoint with the parameters it documents (docs/*.md), all at once.
LIST_ENDPOINTS = {
    "/api/analytics/refunds/": {"date_from": "2026-01-01", "date_to": "2026-01-31"},
    "/api/products/": {
        "page": 1,
        "page_size": 5,
        "category": "mugs",
        "min_price": 1,
        "max_price": 100,
        "in_stock": "true",
        "search": "mug",
        "ordering": "-price",
        "collection": "",
        "tag": "",
    },
    "/api/products/facets/": {
        "category": "mugs",
        "min_price": 1,
        "max_price": 100,
        "in_stock": "true",
        "search": "mug",
        "collection": "",
        "tag": "",
    },
    "/api/categories/": {},
    "/api/collections/": {"page": 1, "page_size": 5},
    "/api/tags/": {"page": 1, "page_size": 5},
    "/api/orders/": {
        "page": 1,
        "page_size": 5,
        "status": "pending",
        "payment_status": "pending",
        "placed_after": "2026-01-01",
        "placed_before": "2026-12-31",
        "customer_email": "ada@example.com",
        "ordering": "-total",
    },
    "/api/me/addresses/": {"page": 1, "page_size": 5},
    "/api/shipping-zones/": {"page": 1, "page_size": 5},
    "/api/tax-rates/": {"page": 1, "page_size": 5, "country": "fr", "tax_class": "reduced"},
    "/api/membership-tiers/": {"page": 1, "page_size": 5},
    "/api/webhooks/": {"page": 1, "page_size": 5},
    "/api/promotions/": {"page": 1, "page_size": 5, "is_active": "true", "kind": "fixed"},
    "/api/vouchers/": {
        "page": 1,
        "page_size": 5,
        "is_active": "false",
        "kind": "free_shipping",
        "code": "summer10",
    },
    "/api/analytics/summary/": {"date_from": "2026-01-01", "date_to": "2026-01-31"},
    "/api/analytics/top-products/": {"date_from": "2026-01-01", "limit": 5},
    "/api/analytics/sales/": {"date_to": "2026-01-31", "interval": "week"},
    "/api/analytics/sales.csv": {"date_from": "2026-01-01", "interval": "month"},
    "/api/analytics/revenue-by-category/": {"date_from": "2026-01-01"},
    "/api/analytics/discounts/": {"date_from": "2026-01-01", "date_to": "2026-01-31"},
}


def routes(patterns=None, prefix="/") -> list[tuple[str, object]]:
    """(path, view) of every URL of the project without a path parameter."""
    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = str(pattern.pattern)
        if "<" in route or "(" in route or "^" in route:
            continue
        if isinstance(pattern, URLResolver):
            found += routes(pattern.url_patterns, prefix + route)
        elif isinstance(pattern, URLPattern):
            found.append((prefix + route, pattern.callback))
    return found


def is_list(view) -> bool:
    view_class = getattr(view, "cls", None)
    if view_class is None:
        return False
    if issubclass(view_class, AnalyticsView):
        return True
    actions = getattr(view, "actions", None)
    if actions is not None:
        return actions.get("get") == "list"
    return issubclass(view_class, GenericAPIView) and hasattr(view_class, "get")


@pytest.fixture
def staff() -> APIClient:
    client = APIClient()
    client.force_authenticate(StaffFactory())
    return client


def test_the_sweep_covers_every_list_endpoint():
    assert {path for path, view in routes() if is_list(view)} == set(LIST_ENDPOINTS)


@pytest.mark.parametrize("path", LIST_ENDPOINTS)
@pytest.mark.parametrize("unknown", ["available", "colour", "pagesize"])
def test_an_unknown_query_parameter_answers_400_naming_it(staff, path, unknown):
    response = staff.get(path, {unknown: ""})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [unknown]
    assert error["message"].startswith(f"{unknown}: Unknown query parameter")


@pytest.mark.parametrize("path", LIST_ENDPOINTS)
def test_the_documented_query_parameters_are_taken(staff, path):
    CategoryFactory(slug="mugs")

    response = staff.get(path, LIST_ENDPOINTS[path])

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("path", LIST_ENDPOINTS)
def test_format_is_taken_by_every_list(staff, path):
    response = staff.get(path, {"format": "json"})
    assert response.status_code == 200, response.content


def test_every_unknown_parameter_is_named(staff):
    response = staff.get("/api/products/", {"colour": "red", "available": "1", "page": 1})

    assert set(response.json()["error"]["fields"]) == {"available", "colour"}


def test_a_cached_product_list_does_not_hide_an_unknown_parameter(
    api_client, monkeypatch, django_assert_num_queries
):
    VariantFactory()
    url = "/api/products/?available=true"
    # An answer cached for this exact URL while the parameter was still ignored.
    with monkeypatch.context() as unchecked:
        unchecked.setattr(KnownQueryParameters, "check", classmethod(lambda *args: None))
        unchecked.setattr(KnownQueryParameters, "filter_queryset", lambda self, r, qs, v: qs)
        assert api_client.get(url).status_code == 200
        with django_assert_num_queries(0):
            assert api_client.get(url).status_code == 200  # A cache hit.

    assert api_client.get(url).status_code == 400


def test_the_product_list_refuses_an_unknown_parameter_before_any_query(
    api_client, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = api_client.get("/api/products/", {"colour": "red"})
    assert response.status_code == 400
