"""/api/membership-tiers/ (storefront/pricing/api/tiers.py): staff read the three tiers and
change their names and percentages, never the set of tiers; every refusal is a 400 in the
error shape that changes nothing, and a change invalidates the catalog's cached responses
when it commits."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import TestCase
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.catalog import cache as catalog_cache
from storefront.catalog.tests.factories import VariantFactory
from storefront.catalog.tests.helpers import LIST_URL as PRODUCTS_URL
from storefront.catalog.tests.helpers import assert_error
from storefront.pricing.models import MembershipTier
from storefront.pricing.tests.factories import membership_tiers
from storefront.pricing.tests.staff import EVERY_VERB, assert_staff_only

pytestmark = pytest.mark.django_db

LIST_URL = "/api/membership-tiers/"


def detail_url(tier_id: int) -> str:
    return f"/api/membership-tiers/{tier_id}/"


def snapshot() -> list:
    """Every tier as stored: compared before and after a refusal."""
    return list(MembershipTier.objects.order_by("pk").values())


def committed():
    """Run the on-commit callbacks of the writes inside, as their commit would: a test's own
    transaction never commits, and the catalog cache is invalidated on commit."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def catalog_version() -> str | None:
    return cache.get(catalog_cache.VERSION_KEY)


@pytest.fixture
def tiers() -> dict[str, MembershipTier]:
    return membership_tiers()


@pytest.fixture
def silver(tiers) -> MembershipTier:
    return tiers["silver"]


# --- Reads ---------------------------------------------------------------------------------


def test_list_shows_the_three_tiers_smallest_discount_first(staff_client, tiers):
    page = staff_client.get(LIST_URL).json()

    assert page["count"] == 3
    assert page["results"] == [
        {
            "id": tiers["bronze"].pk,
            "code": "bronze",
            "name": "Bronze",
            "discount_percentage": "0.00",
        },
        {
            "id": tiers["silver"].pk,
            "code": "silver",
            "name": "Silver",
            "discount_percentage": "5.00",
        },
        {"id": tiers["gold"].pk, "code": "gold", "name": "Gold", "discount_percentage": "10.00"},
    ]


@pytest.mark.parametrize("page_size", [1, 3])
def test_list_takes_two_queries_whatever_it_shows(
    staff_client, tiers, django_assert_num_queries, page_size
):
    # count, tiers
    with django_assert_num_queries(2):
        response = staff_client.get(LIST_URL, {"page_size": page_size})

    assert len(response.json()["results"]) == page_size


def test_retrieve(staff_client, silver):
    response = staff_client.get(detail_url(silver.pk))

    assert response.json() == {
        "id": silver.pk,
        "code": "silver",
        "name": "Silver",
        "discount_percentage": "5.00",
    }


def test_unknown_id_is_404_in_the_error_shape(staff_client, tiers):
    error = assert_error(staff_client.get(detail_url(999999)), 404, "not_found")
    assert error["message"] == "No such membership tier."
    assert_error(staff_client.patch(detail_url(999999), {}, format="json"), 404, "not_found")
    assert_error(staff_client.put(detail_url(999999), {}, format="json"), 404, "not_found")


@pytest.mark.parametrize("query", [{"code": "gold"}, {"ordering": "name"}])
def test_an_unknown_query_parameter_is_refused(staff_client, tiers, query):
    error = assert_error(staff_client.get(LIST_URL, query), 400, "invalid")
    assert list(error["fields"]) == list(query)


# --- Who may ---------------------------------------------------------------------------------


@EVERY_VERB
def test_anonymous_gets_401_and_customers_403(api_client, customer_client, silver, verb, path):
    url = LIST_URL if path == "list" else detail_url(silver.pk)
    body = {"name": "Changed", "discount_percentage": "50"}
    assert_staff_only(api_client, customer_client, verb=verb, url=url, body=body, snapshot=snapshot)


def test_staff_can_neither_add_nor_delete_a_tier(staff_client, silver):
    before = snapshot()

    added = staff_client.post(
        LIST_URL, {"code": "platinum", "name": "Platinum", "discount_percentage": "20"}
    )
    deleted = staff_client.delete(detail_url(silver.pk))

    assert_error(added, 405, "method_not_allowed")
    assert_error(deleted, 405, "method_not_allowed")
    assert snapshot() == before


# --- Writes ----------------------------------------------------------------------------------


def test_patch_changes_the_percentage(staff_client, silver):
    updated_at = silver.updated_at

    response = staff_client.patch(
        detail_url(silver.pk), {"discount_percentage": "7.5"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["discount_percentage"] == "7.50"
    silver.refresh_from_db()
    assert (silver.name, silver.discount_percentage) == ("Silver", Decimal("7.50"))
    assert silver.updated_at > updated_at


def test_put_replaces_name_and_percentage(staff_client, silver):
    response = staff_client.put(
        detail_url(silver.pk), {"name": "Argent", "discount_percentage": 6}, format="json"
    )

    assert response.status_code == 200, response.content
    silver.refresh_from_db()
    assert (silver.code, silver.name, silver.discount_percentage) == (
        "silver",
        "Argent",
        Decimal("6.00"),
    )


def test_the_code_is_read_only(staff_client, silver):
    response = staff_client.patch(
        detail_url(silver.pk), {"code": "platinum", "name": "Argent"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["code"] == "silver"
    silver.refresh_from_db()
    assert (silver.code, silver.name) == ("silver", "Argent")


@pytest.mark.parametrize("percentage", ["0", "100", "0.01", "99.99", "100.00"])
def test_percentages_from_0_to_100_inclusive_are_taken(staff_client, silver, percentage):
    response = staff_client.patch(
        detail_url(silver.pk), {"discount_percentage": percentage}, format="json"
    )

    assert response.status_code == 200, response.content
    silver.refresh_from_db()
    assert silver.discount_percentage == Decimal(percentage)


# --- Refusals: 400, naming the field, nothing changed ----------------------------------------


def assert_refused(response, field: str) -> dict:
    error = assert_error(response, 400, "invalid")
    assert field in error["fields"], error
    return error


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"discount_percentage": "-0.01"}, "discount_percentage"),
        ({"discount_percentage": "100.01"}, "discount_percentage"),
        ({"discount_percentage": "101"}, "discount_percentage"),
        ({"discount_percentage": "1000"}, "discount_percentage"),
        ({"discount_percentage": "5.125"}, "discount_percentage"),
        ({"discount_percentage": "abc"}, "discount_percentage"),
        ({"discount_percentage": "NaN"}, "discount_percentage"),
        ({"discount_percentage": "Infinity"}, "discount_percentage"),
        ({"discount_percentage": ""}, "discount_percentage"),
        ({"discount_percentage": None}, "discount_percentage"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": None}, "name"),
        ({"name": "N" * 65}, "name"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_an_invalid_change_is_refused_and_changes_nothing(staff_client, silver, values, field):
    before = snapshot()

    patched = staff_client.patch(detail_url(silver.pk), values, format="json")
    body = {"name": "Argent", "discount_percentage": "6", **values}
    replaced = staff_client.put(detail_url(silver.pk), body, format="json")

    assert_refused(patched, field)
    assert_refused(replaced, field)
    assert snapshot() == before


@pytest.mark.parametrize("missing", ["name", "discount_percentage"])
def test_put_needs_both_fields(staff_client, silver, missing):
    body = {"name": "Argent", "discount_percentage": "6"}
    del body[missing]
    before = snapshot()

    assert_refused(staff_client.put(detail_url(silver.pk), body, format="json"), missing)

    assert snapshot() == before


def test_the_percentage_error_says_the_range(staff_client, silver):
    error = assert_refused(
        staff_client.patch(detail_url(silver.pk), {"discount_percentage": "150"}, format="json"),
        "discount_percentage",
    )

    assert error["fields"]["discount_percentage"] == [
        "A percentage is from 0 to 100 (10.00 is 10 % off)."
    ]


# --- The catalog's cached responses ---------------------------------------------------------


def test_a_tier_change_invalidates_the_catalog_cache_when_it_commits(staff_client, silver):
    cache.set(catalog_cache.VERSION_KEY, "v1")

    with committed():
        response = staff_client.patch(
            detail_url(silver.pk), {"discount_percentage": "7"}, format="json"
        )
        assert catalog_version() == "v1"  # Not before the commit.

    assert response.status_code == 200, response.content
    assert catalog_version() not in (None, "v1")


def test_a_cached_product_list_shows_the_new_member_price_after_a_tier_change(
    staff_client, silver, django_assert_num_queries
):
    """The catalog shows a silver member the silver price (storefront/catalog); its cached
    list is not served once the change commits."""
    VariantFactory(price=Decimal("20.00"))
    member = APIClient()
    member.force_authenticate(UserFactory(membership="silver"))
    first = member.get(PRODUCTS_URL).json()
    with django_assert_num_queries(0):
        member.get(PRODUCTS_URL)  # A cache hit.

    with committed():
        staff_client.patch(detail_url(silver.pk), {"discount_percentage": "25"}, format="json")
    again = member.get(PRODUCTS_URL).json()

    assert first["results"][0]["price"] == "19.00"  # 5 % off 20.00
    assert again["results"][0]["price"] == "15.00"  # 25 % off


@pytest.mark.parametrize(
    "body",
    [{"discount_percentage": "150"}, {"discount_percentage": "5.00", "name": "Silver"}],
    ids=["refused", "unchanged"],
)
def test_a_write_that_changes_nothing_keeps_the_catalog_cache(staff_client, silver, body):
    cache.set(catalog_cache.VERSION_KEY, "v1")

    with committed():
        staff_client.patch(detail_url(silver.pk), body, format="json")

    assert catalog_version() == "v1"


@pytest.mark.django_db(transaction=True)
def test_a_committed_tier_change_bumps_the_catalog_version():
    """A real commit (transaction=True): the after-commit hook bumps the version, and no
    pending mark outlives it."""
    silver = membership_tiers()["silver"]
    client = APIClient()
    client.force_authenticate(StaffFactory())
    cache.set(catalog_cache.VERSION_KEY, "v1")

    response = client.patch(detail_url(silver.pk), {"discount_percentage": "8"}, format="json")

    assert response.status_code == 200, response.content
    assert catalog_version() not in (None, "v1")
    assert not cache.get(catalog_cache.PENDING_KEY)
    assert MembershipTier.objects.get(code="silver").discount_percentage == Decimal("8.00")
