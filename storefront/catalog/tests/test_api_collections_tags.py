import pytest

from storefront.catalog.models import Collection, Tag
from storefront.catalog.tests.factories import (
    CollectionFactory,
    StockedProductFactory,
    TagFactory,
)
from storefront.catalog.tests.helpers import assert_error

pytestmark = pytest.mark.django_db

RESOURCES = {
    "collections": (CollectionFactory, Collection, {"id", "slug", "name", "description"}),
    "tags": (TagFactory, Tag, {"id", "slug", "name"}),
}


@pytest.fixture(params=sorted(RESOURCES))
def resource(request):
    """(base url, factory, model, fields) for collections, then for tags."""
    factory, model, fields = RESOURCES[request.param]
    return f"/api/{request.param}/", factory, model, fields


def test_list_is_paginated_and_sorted_by_name(api_client, resource):
    base, factory, _, fields = resource
    factory(name="Zebra")
    factory(name="Alpha")

    body = api_client.get(base).json()

    assert body["count"] == 2
    assert [item["name"] for item in body["results"]] == ["Alpha", "Zebra"]
    assert set(body["results"][0]) == fields


def test_detail(api_client, resource):
    base, factory, _, _ = resource
    item = factory(name="Summer", slug="summer")

    body = api_client.get(f"{base}{item.pk}/").json()

    assert (body["id"], body["slug"], body["name"]) == (item.pk, "summer", "Summer")


def test_unknown_id_is_404(api_client, staff_client, resource):
    base, *_ = resource

    assert_error(api_client.get(f"{base}999999/"), 404, "not_found")
    assert_error(staff_client.patch(f"{base}999999/", {"name": "X"}), 404, "not_found")
    assert_error(staff_client.delete(f"{base}999999/"), 404, "not_found")


def test_staff_create_update_and_delete(staff_client, resource):
    base, _, model, _ = resource

    created = staff_client.post(base, {"name": "Summer", "slug": "summer"}, format="json")
    assert created.status_code == 201, created.content
    item_url = f"{base}{created.json()['id']}/"

    updated = staff_client.patch(item_url, {"name": "Summer Picks"}, format="json")
    assert updated.status_code == 200
    assert model.objects.get(slug="summer").name == "Summer Picks"

    assert staff_client.delete(item_url).status_code == 204
    assert not model.objects.exists()


def test_duplicate_slug_is_refused(staff_client, resource):
    base, factory, model, _ = resource
    factory(slug="summer")

    response = staff_client.post(base, {"name": "Other", "slug": "summer"}, format="json")

    error = assert_error(response, 400, "invalid")
    assert "slug" in error["fields"]
    assert model.objects.count() == 1


def test_deleting_keeps_the_products(staff_client, resource):
    base, factory, _, _ = resource
    item = factory()
    product = StockedProductFactory()
    relation = "collections" if base.endswith("collections/") else "tags"
    getattr(product, relation).add(item)

    assert staff_client.delete(f"{base}{item.pk}/").status_code == 204

    product.refresh_from_db()
    assert not getattr(product, relation).exists()


@pytest.mark.parametrize(
    ("client_name", "status", "code"),
    [("api_client", 401, "not_authenticated"), ("customer_client", 403, "permission_denied")],
)
def test_only_staff_write(request, resource, client_name, status, code):
    base, factory, model, _ = resource
    item = factory(name="Keep")
    client = request.getfixturevalue(client_name)

    assert_error(client.post(base, {"name": "X", "slug": "x"}, format="json"), status, code)
    assert_error(client.put(f"{base}{item.pk}/", {"name": "X", "slug": "x"}), status, code)
    assert_error(client.delete(f"{base}{item.pk}/"), status, code)
    assert list(model.objects.values_list("name", flat=True)) == ["Keep"]
