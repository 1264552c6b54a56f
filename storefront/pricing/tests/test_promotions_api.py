"""/api/promotions/ (storefront/pricing/api/promotions.py): staff write automatic discounts
on the products they select; every refusal is a 400 in the error shape that changes
nothing."""

from decimal import Decimal

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import StaffFactory
from storefront.catalog.models import Tag
from storefront.catalog.tests.factories import (
    CategoryFactory,
    CollectionFactory,
    ProductFactory,
    TagFactory,
)
from storefront.catalog.tests.helpers import assert_error
from storefront.pricing.models import Promotion
from storefront.pricing.tests.factories import PromotionFactory
from storefront.pricing.tests.staff import EVERY_VERB, assert_staff_only
from tests.concurrency import run_blocked_behind

pytestmark = pytest.mark.django_db

LIST_URL = "/api/promotions/"


def detail_url(promotion_id: int) -> str:
    return f"/api/promotions/{promotion_id}/"


def snapshot() -> list:
    """Every promotion as stored, with the ids it selects: compared before and after a
    refusal."""
    rows = []
    for promotion in Promotion.objects.order_by("pk"):
        selection = {
            name: sorted(getattr(promotion, name).values_list("pk", flat=True))
            for name in ("categories", "collections", "tags", "products")
        }
        rows.append((Promotion.objects.filter(pk=promotion.pk).values().get(), selection))
    return rows


def body(**values) -> dict:
    return {
        "code": "summer-mugs",
        "name": "Summer mugs",
        "kind": "percentage",
        "value": "15",
        **values,
    }


@pytest.fixture
def summer() -> Promotion:
    return PromotionFactory(code="summer", name="Summer", value=Decimal("15.00"))


def assert_refused(response, field: str) -> dict:
    error = assert_error(response, 400, "invalid")
    assert field in error["fields"], error
    return error


# --- Reads ---------------------------------------------------------------------------------


def test_list_is_paginated_by_priority_then_code(staff_client):
    mugs = CategoryFactory()
    summer = PromotionFactory(
        code="summer",
        name="Summer",
        kind="fixed",
        value=Decimal("2.50"),
        tiers=["silver", "gold"],
        priority=5,
        description="Two fifty off",
    )
    summer.categories.set([mugs])
    PromotionFactory(code="autumn")
    PromotionFactory(code="winter", priority=-1)

    page = staff_client.get(LIST_URL).json()

    assert page["count"] == 3
    assert [p["code"] for p in page["results"]] == ["summer", "autumn", "winter"]
    assert page["results"][0] == {
        "id": summer.pk,
        "code": "summer",
        "name": "Summer",
        "description": "Two fifty off",
        "kind": "fixed",
        "value": "2.50",
        "categories": [mugs.pk],
        "collections": [],
        "tags": [],
        "products": [],
        "tiers": ["silver", "gold"],
        "starts_at": None,
        "ends_at": None,
        "priority": 5,
        "is_active": True,
    }


@pytest.mark.parametrize("promotions", [2, 7])
def test_list_takes_six_queries_whatever_the_number_of_promotions(
    staff_client, django_assert_num_queries, promotions
):
    category, collection, tag, product = (
        CategoryFactory(),
        CollectionFactory(),
        TagFactory(),
        ProductFactory(),
    )
    for n in range(promotions):
        promotion = PromotionFactory(code=f"p{n}")
        promotion.categories.set([category])
        promotion.collections.set([collection])
        promotion.tags.set([tag])
        promotion.products.set([product])

    # count, promotions, their categories, collections, tags, products
    with django_assert_num_queries(6):
        response = staff_client.get(LIST_URL, {"page_size": 5})

    results = response.json()["results"]
    assert len(results) == min(promotions, 5)
    assert all(r["tags"] == [tag.pk] and r["products"] == [product.pk] for r in results)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"is_active": "true"}, ["summer", "fixed"]),
        ({"is_active": "false"}, ["off"]),
        ({"is_active": "0"}, ["off"]),
        ({"kind": "fixed"}, ["fixed"]),
        ({"kind": "percentage", "is_active": "true"}, ["summer"]),
        ({"kind": ""}, ["fixed", "off", "summer"]),
    ],
)
def test_list_filters_by_is_active_and_kind(staff_client, summer, query, expected):
    PromotionFactory(code="off", is_active=False)
    PromotionFactory(code="fixed", kind="fixed", value=Decimal("1"))

    response = staff_client.get(LIST_URL, query)

    assert response.status_code == 200, response.content
    assert sorted(p["code"] for p in response.json()["results"]) == sorted(expected)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"is_active": "maybe"}, "is_active"),
        ({"kind": "free_shipping"}, "kind"),
        ({"code": "summer"}, "code"),
        ({"ordering": "priority"}, "ordering"),
    ],
)
def test_a_bad_filter_or_unknown_query_parameter_is_refused(staff_client, summer, query, field):
    error = assert_error(staff_client.get(LIST_URL, query), 400, "invalid")
    assert list(error["fields"]) == [field]


def test_retrieve(staff_client, summer):
    response = staff_client.get(detail_url(summer.pk))

    assert response.status_code == 200
    assert (response.json()["code"], response.json()["value"]) == ("summer", "15.00")


def test_unknown_id_is_404_in_the_error_shape(staff_client):
    error = assert_error(staff_client.get(detail_url(999999)), 404, "not_found")
    assert error["message"] == "No such promotion."
    assert_error(staff_client.patch(detail_url(999999), {}, format="json"), 404, "not_found")
    assert_error(staff_client.put(detail_url(999999), body(), format="json"), 404, "not_found")
    assert_error(staff_client.delete(detail_url(999999)), 404, "not_found")


# --- Who may ---------------------------------------------------------------------------------


@EVERY_VERB
def test_anonymous_gets_401_and_customers_403(api_client, customer_client, summer, verb, path):
    url = LIST_URL if path == "list" else detail_url(summer.pk)
    assert_staff_only(
        api_client, customer_client, verb=verb, url=url, body=body(), snapshot=snapshot
    )


# --- Writes ----------------------------------------------------------------------------------


def test_create_a_promotion_with_everything(staff_client):
    category, collection, tag = CategoryFactory(), CollectionFactory(), TagFactory()
    products = [ProductFactory(), ProductFactory()]

    response = staff_client.post(
        LIST_URL,
        body(
            description="15 % off mugs",
            categories=[category.pk],
            collections=[collection.pk],
            tags=[tag.pk],
            products=[products[1].pk, products[0].pk],
            tiers=["gold", "silver"],
            starts_at="2026-06-01T00:00:00Z",
            ends_at="2026-09-01T00:00:00+02:00",
            priority=-32768,
            is_active=False,
        ),
        format="json",
    )

    assert response.status_code == 201, response.content
    promotion = Promotion.objects.get()
    assert response.json() == {
        "id": promotion.pk,
        "code": "summer-mugs",
        "name": "Summer mugs",
        "description": "15 % off mugs",
        "kind": "percentage",
        "value": "15.00",
        "categories": [category.pk],
        "collections": [collection.pk],
        "tags": [tag.pk],
        "products": sorted(p.pk for p in products),
        "tiers": ["gold", "silver"],
        "starts_at": "2026-06-01T00:00:00Z",
        "ends_at": "2026-08-31T22:00:00Z",
        "priority": -32768,
        "is_active": False,
    }
    assert (promotion.value, promotion.tiers) == (Decimal("15.00"), ["gold", "silver"])
    assert set(promotion.products.all()) == set(products)


def test_create_with_only_what_is_required_takes_the_defaults(staff_client):
    """No category, collection, tag or product: the promotion is for every product."""
    response = staff_client.post(LIST_URL, body(kind="fixed", value=2), format="json")

    assert response.status_code == 201, response.content
    assert response.json() | {"id": None} == {
        "id": None,
        "code": "summer-mugs",
        "name": "Summer mugs",
        "description": "",
        "kind": "fixed",
        "value": "2.00",
        "categories": [],
        "collections": [],
        "tags": [],
        "products": [],
        "tiers": [],
        "starts_at": None,
        "ends_at": None,
        "priority": 0,
        "is_active": True,
    }


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("percentage", "0.01"),
        ("percentage", "100"),
        ("percentage", "100.00"),
        ("fixed", "0.01"),
        ("fixed", "150"),
        ("fixed", "9999999999.99"),
    ],
)
def test_values_in_range_are_taken(staff_client, kind, value):
    response = staff_client.post(LIST_URL, body(kind=kind, value=value), format="json")

    assert response.status_code == 201, response.content
    assert Promotion.objects.get().value == Decimal(value)


def test_put_replaces_the_promotion_and_its_fields_left_out_take_their_defaults(
    staff_client, summer
):
    summer.tags.set([TagFactory()])
    summer.tiers = ["gold"]
    summer.priority = 3
    summer.save()

    response = staff_client.put(
        detail_url(summer.pk),
        {"code": "summer", "name": "Summer", "kind": "fixed", "value": "3"},
        format="json",
    )

    assert response.status_code == 200, response.content
    summer.refresh_from_db()
    assert (summer.kind, summer.value, summer.tiers, summer.priority) == (
        "fixed",
        Decimal("3.00"),
        [],
        0,
    )
    assert not summer.tags.exists()
    assert response.json()["tags"] == []


def test_patch_changes_only_what_it_sends(staff_client, summer):
    tag, other = TagFactory(), TagFactory()
    summer.tags.set([tag])
    product = ProductFactory()
    updated_at = summer.updated_at

    response = staff_client.patch(
        detail_url(summer.pk), {"value": "20", "products": [product.pk]}, format="json"
    )

    assert response.status_code == 200, response.content
    summer.refresh_from_db()
    assert (summer.value, summer.name) == (Decimal("20.00"), "Summer")
    assert list(summer.tags.all()) == [tag]  # Not sent: kept.
    assert list(summer.products.all()) == [product]
    assert summer.updated_at > updated_at
    replaced = staff_client.patch(detail_url(summer.pk), {"tags": [other.pk]}, format="json")
    assert replaced.json()["tags"] == [other.pk]  # Sent: replaces.


def test_patch_may_keep_its_own_code(staff_client, summer):
    response = staff_client.patch(detail_url(summer.pk), {"code": "summer"}, format="json")

    assert response.status_code == 200, response.content


def test_delete(staff_client, summer):
    summer.tags.set([TagFactory()])

    response = staff_client.delete(detail_url(summer.pk))

    assert response.status_code == 204
    assert not Promotion.objects.exists()
    assert Tag.objects.count() == 1  # The tag stays.


# --- Refusals: 400, naming the field, nothing changed ----------------------------------------


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"value": "0"}, "value"),
        ({"value": "-1"}, "value"),
        ({"value": "100.01"}, "value"),
        ({"value": "150"}, "value"),
        ({"kind": "fixed", "value": "0"}, "value"),
        ({"kind": "fixed", "value": "1.005"}, "value"),
        ({"kind": "fixed", "value": "10000000000"}, "value"),
        ({"kind": "fixed", "value": "abc"}, "value"),
        ({"kind": "fixed", "value": "NaN"}, "value"),
        ({"value": None}, "value"),
        ({"kind": "free_shipping"}, "kind"),
        ({"kind": None}, "kind"),
        ({"starts_at": "2026-06-01T00:00:00Z", "ends_at": "2026-06-01T00:00:00Z"}, "ends_at"),
        ({"starts_at": "2026-06-02T00:00:00Z", "ends_at": "2026-06-01T00:00:00Z"}, "ends_at"),
        ({"starts_at": "not a date"}, "starts_at"),
        ({"starts_at": "0001-01-01T00:00:00Z"}, "starts_at"),
        ({"ends_at": "9999-12-31T23:59:59-12:00"}, "ends_at"),
        ({"categories": [999999]}, "categories"),
        ({"collections": [999999]}, "collections"),
        ({"tags": [999999]}, "tags"),
        ({"products": [999999]}, "products"),
        ({"products": [0]}, "products"),
        ({"products": ["abc"]}, "products"),
        ({"products": [2**63]}, "products"),
        ({"products": list(range(1, 202))}, "products"),
        ({"tags": "1"}, "tags"),
        ({"tiers": ["platinum"]}, "tiers"),
        ({"tiers": ["gold", "gold"]}, "tiers"),
        ({"tiers": "gold"}, "tiers"),
        ({"priority": 32768}, "priority"),
        ({"priority": -32769}, "priority"),
        ({"code": "not a slug"}, "code"),
        ({"code": "ünïcode"}, "code"),
        ({"code": ""}, "code"),
        ({"code": "c" * 65}, "code"),
        ({"code": "c" * 10_000}, "code"),
        ({"name": ""}, "name"),
        ({"name": "n" * 129}, "name"),
        ({"description": "d" * 256}, "description"),
        ({"is_active": "maybe"}, "is_active"),
    ],
    ids=lambda value: str(value)[:40] if isinstance(value, str) else None,
)
def test_an_invalid_promotion_is_refused_and_nothing_is_created(
    staff_client, summer, values, field
):
    before = snapshot()

    created = staff_client.post(LIST_URL, body(**values), format="json")
    replaced = staff_client.put(detail_url(summer.pk), body(**values), format="json")

    assert_refused(created, field)
    assert_refused(replaced, field)
    assert snapshot() == before


def test_unknown_ids_are_named(staff_client):
    tag = TagFactory()

    error = assert_refused(
        staff_client.post(LIST_URL, body(tags=[tag.pk, 999998, 999999]), format="json"), "tags"
    )

    assert error["fields"]["tags"] == ["No such tags: 999998, 999999."]
    assert not Promotion.objects.exists()


def test_an_id_listed_twice_is_refused(staff_client):
    tag = TagFactory()

    error = assert_refused(
        staff_client.post(LIST_URL, body(tags=[tag.pk, tag.pk]), format="json"), "tags"
    )

    assert error["fields"]["tags"] == [f"Listed twice: {tag.pk}."]


@pytest.mark.parametrize("missing", ["code", "name", "kind", "value"])
def test_a_new_promotion_needs_code_name_kind_and_value(staff_client, missing):
    values = body()
    del values[missing]

    assert_refused(staff_client.post(LIST_URL, values, format="json"), missing)

    assert not Promotion.objects.exists()


def test_a_code_taken_is_refused(staff_client, summer):
    autumn = PromotionFactory(code="autumn")
    before = snapshot()

    created = staff_client.post(LIST_URL, body(code="summer"), format="json")
    moved = staff_client.patch(detail_url(autumn.pk), {"code": "summer"}, format="json")

    error = assert_refused(created, "code")
    assert error["fields"]["code"] == ["A promotion with this code already exists."]
    assert_refused(moved, "code")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("stored", "sent", "field"),
    [
        ({"kind": "fixed", "value": Decimal("150")}, {"kind": "percentage"}, "kind"),
        ({"kind": "percentage", "value": Decimal("15")}, {"value": "101"}, "value"),
        (
            {"starts_at": "2026-06-01T00:00:00Z"},
            {"ends_at": "2026-05-01T00:00:00Z"},
            "ends_at",
        ),
        (
            {"ends_at": "2026-06-01T00:00:00Z"},
            {"starts_at": "2026-07-01T00:00:00Z"},
            "starts_at",
        ),
    ],
    ids=["kind-against-stored-value", "value", "ends-before-stored-start", "starts-after-end"],
)
def test_a_patch_is_checked_with_the_stored_fields_it_leaves_out(staff_client, stored, sent, field):
    promotion = PromotionFactory(**stored)
    before = snapshot()

    error = assert_refused(staff_client.patch(detail_url(promotion.pk), sent, format="json"), field)

    assert list(error["fields"]) == [field]
    assert snapshot() == before


def test_malformed_json_is_a_parse_error(staff_client):
    response = staff_client.post(LIST_URL, "{not json", content_type="application/json")

    assert_error(response, 400, "parse_error")
    assert not Promotion.objects.exists()


# --- Under a race --------------------------------------------------------------------------


def staff_api_client() -> APIClient:
    client = APIClient()
    client.force_authenticate(StaffFactory())
    return client


@pytest.mark.django_db(transaction=True)
def test_a_code_taken_by_a_concurrent_write_is_the_same_400():
    """The serializer finds the code free (the other write has not committed); the insert
    then waits on the unique index, fails once the other commits, and is reported as the
    check would have."""
    client = staff_api_client()

    def take_code(hold) -> None:
        with transaction.atomic():
            PromotionFactory(code="summer-mugs", name="First")
            hold()

    taken, response = run_blocked_behind(
        take_code, lambda: client.post(LIST_URL, body(tags=[]), format="json")
    )

    assert taken.error is None, taken.error
    assert response.error is None, response.error
    error = assert_refused(response.value, "code")
    assert error["fields"]["code"] == ["A promotion with this code already exists."]
    assert list(Promotion.objects.values_list("name", flat=True)) == ["First"]


@pytest.mark.django_db(transaction=True)
def test_a_tag_deleted_by_a_concurrent_write_is_the_same_400():
    """The serializer finds the tag (its deletion has not committed); the promotion's link to
    it waits at commit for the deletion (the deferred foreign key check), fails once it
    commits, and is reported as the check would have: on `tags`."""
    tag = TagFactory()
    client = staff_api_client()

    def delete_tag(hold) -> None:
        with transaction.atomic():
            Tag.objects.filter(pk=tag.pk).delete()
            hold()

    deleted, response = run_blocked_behind(
        delete_tag, lambda: client.post(LIST_URL, body(tags=[tag.pk]), format="json")
    )

    assert deleted.error is None, deleted.error
    assert response.error is None, response.error
    error = assert_refused(response.value, "tags")
    assert error["fields"]["tags"] == [f"No such tag: {tag.pk}."]
    assert not Promotion.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_dates_put_out_of_order_by_a_concurrent_patch_are_a_400_not_a_500():
    """Each PATCH alone keeps the dates in order; the second is checked again with the row
    locked, after the first committed, and refused instead of breaking the check
    constraint."""
    promotion = PromotionFactory(starts_at=None, ends_at=None)
    client = staff_api_client()

    def end_in_june(hold) -> None:
        with transaction.atomic():
            locked = Promotion.objects.select_for_update().get(pk=promotion.pk)
            locked.ends_at = "2026-06-01T00:00:00Z"
            locked.save()
            hold()

    ended, response = run_blocked_behind(
        end_in_june,
        lambda: client.patch(
            detail_url(promotion.pk), {"starts_at": "2026-07-01T00:00:00Z"}, format="json"
        ),
    )

    assert ended.error is None, ended.error
    assert response.error is None, response.error
    assert_refused(response.value, "starts_at")
    promotion.refresh_from_db()
    assert promotion.starts_at is None
