"""/api/shipping-zones/ (storefront/pricing/api/zones.py): staff write zones with their
countries and methods; every refusal is a 400 in the error shape that changes nothing."""

from decimal import Decimal

import pytest
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import StaffFactory
from storefront.catalog.tests.helpers import assert_error
from storefront.pricing.models import ShippingMethod, ShippingZone, ShippingZoneCountry
from storefront.pricing.tests.staff import EVERY_VERB, assert_staff_only
from tests.concurrency import run_blocked_behind

pytestmark = pytest.mark.django_db

LIST_URL = "/api/shipping-zones/"


def detail_url(zone_id: int) -> str:
    return f"/api/shipping-zones/{zone_id}/"


def make_zone(name: str, countries=(), *, rest_of_world: bool = False, methods=()):
    """A zone with `countries` (codes) and `methods` ({code, ...} field values)."""
    zone = ShippingZone.objects.create(name=name, rest_of_world=rest_of_world)
    for code in countries:
        ShippingZoneCountry.objects.create(zone=zone, country=code)
    for values in methods:
        ShippingMethod.objects.create(
            zone=zone, **{"name": values["code"].title(), "price": Decimal("5.00"), **values}
        )
    return zone


def snapshot() -> list:
    """Every zone, country and method as stored: compared before and after a refusal."""
    return [
        list(ShippingZone.objects.order_by("pk").values_list("pk", "name", "rest_of_world")),
        list(ShippingZoneCountry.objects.order_by("pk").values_list("pk", "zone", "country")),
        list(ShippingMethod.objects.order_by("pk").values()),
    ]


def method(code: str = "standard", **values) -> dict:
    return {"code": code, "name": code.title(), "price": "4.99", **values}


@pytest.fixture
def europe():
    return make_zone(
        "Europe",
        ["FR", "DE"],
        methods=[
            {"code": "eu-standard", "price": Decimal("6.00"), "position": 1},
            {"code": "eu-express", "price": Decimal("19.00"), "min_days": 1, "max_days": 2},
        ],
    )


# --- Reads ---------------------------------------------------------------------------------


def test_list_is_paginated_sorted_by_name_with_countries_and_methods(staff_client, europe):
    make_zone("Asia", ["JP"])

    body = staff_client.get(LIST_URL).json()

    assert body["count"] == 2
    assert [zone["name"] for zone in body["results"]] == ["Asia", "Europe"]
    express, standard = europe.methods.order_by("code")
    assert body["results"][1] == {
        "id": europe.pk,
        "name": "Europe",
        "rest_of_world": False,
        "countries": ["DE", "FR"],
        "methods": [
            # By position, then price and code.
            {
                "id": express.pk,
                "code": "eu-express",
                "name": "Eu-Express",
                "price": "19.00",
                "free_shipping_threshold": None,
                "min_days": 1,
                "max_days": 2,
                "is_active": True,
                "position": 0,
                "weight_bands": [],
            },
            {
                "id": standard.pk,
                "code": "eu-standard",
                "name": "Eu-Standard",
                "price": "6.00",
                "free_shipping_threshold": None,
                "min_days": 1,
                "max_days": 5,
                "is_active": True,
                "position": 1,
                "weight_bands": [],
            },
        ],
    }


def test_list_takes_four_queries_whatever_the_number_of_zones(
    staff_client, django_assert_num_queries
):
    for n in range(6):
        make_zone(f"Zone {n}", [["FR", "DE", "IT", "ES", "JP", "BR"][n]], methods=[method(f"m{n}")])

    # count, zones, their countries, their methods
    with django_assert_num_queries(4):
        response = staff_client.get(LIST_URL, {"page_size": 5})

    assert len(response.json()["results"]) == 5


def test_retrieve(staff_client, europe):
    body = staff_client.get(detail_url(europe.pk)).json()

    assert (body["name"], body["countries"]) == ("Europe", ["DE", "FR"])
    assert [m["code"] for m in body["methods"]] == ["eu-express", "eu-standard"]


def test_unknown_id_is_404_in_the_error_shape(staff_client):
    error = assert_error(staff_client.get(detail_url(999999)), 404, "not_found")
    assert error["message"] == "No such shipping zone."
    assert_error(staff_client.patch(detail_url(999999), {}, format="json"), 404, "not_found")
    assert_error(staff_client.delete(detail_url(999999)), 404, "not_found")


def test_unknown_query_parameter_is_refused(staff_client):
    error = assert_error(staff_client.get(LIST_URL, {"country": "FR"}), 400, "invalid")
    assert "country" in error["fields"]


# --- Who may ---------------------------------------------------------------------------------


@EVERY_VERB
def test_anonymous_gets_401_and_customers_403(api_client, customer_client, europe, verb, path):
    url = LIST_URL if path == "list" else detail_url(europe.pk)
    assert_staff_only(api_client, customer_client, verb=verb, url=url, body={}, snapshot=snapshot)


# --- Writes ----------------------------------------------------------------------------------


def test_create_a_zone_with_countries_and_methods(staff_client):
    body = {
        "name": "Europe",
        "countries": ["fr", "DE"],
        "methods": [
            method(
                "eu-standard",
                price="6.00",
                free_shipping_threshold="75.00",
                min_days=3,
                max_days=5,
            ),
            method("eu-express", price=19, min_days=1, max_days=2, is_active=False, position=2),
        ],
    }

    response = staff_client.post(LIST_URL, body, format="json")

    assert response.status_code == 201, response.content
    created = response.json()
    zone = ShippingZone.objects.get()
    assert created["id"] == zone.pk
    assert created["countries"] == ["DE", "FR"]  # stored upper, sorted
    assert sorted(zone.countries.values_list("country", flat=True)) == ["DE", "FR"]
    standard = zone.methods.get(code="eu-standard")
    assert (standard.price, standard.free_shipping_threshold) == (Decimal("6.00"), Decimal("75"))
    assert (standard.min_days, standard.max_days, standard.is_active) == (3, 5, True)
    express = zone.methods.get(code="eu-express")
    assert (express.price, express.is_active, express.position) == (Decimal("19.00"), False, 2)
    assert [m["price"] for m in created["methods"]] == ["6.00", "19.00"]


def test_create_a_rest_of_the_world_zone(staff_client):
    response = staff_client.post(
        LIST_URL,
        {"name": "International", "rest_of_world": True, "methods": [method("international")]},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["rest_of_world"] is True
    assert response.json()["countries"] == []


def test_put_replaces_countries_and_methods_and_deletes_those_not_sent(staff_client, europe):
    standard = europe.methods.get(code="eu-standard")
    body = {
        "name": "Western Europe",
        "countries": ["FR", "BE"],
        "methods": [
            {"id": standard.pk, **method("eu-standard", price="7.00")},
            method("eu-economy", price="3.00", min_days=5, max_days=10),
        ],
    }

    response = staff_client.put(detail_url(europe.pk), body, format="json")

    assert response.status_code == 200, response.content
    europe.refresh_from_db()
    assert europe.name == "Western Europe"
    assert sorted(europe.countries.values_list("country", flat=True)) == ["BE", "FR"]
    assert sorted(europe.methods.values_list("code", flat=True)) == ["eu-economy", "eu-standard"]
    standard.refresh_from_db()
    # Updated in place; what PUT left out takes its default.
    assert (standard.price, standard.position) == (Decimal("7.00"), 0)
    by_code = {m["code"]: m for m in response.json()["methods"]}
    assert (by_code["eu-standard"]["id"], by_code["eu-standard"]["price"]) == (standard.pk, "7.00")


def test_put_without_methods_deletes_them_all(staff_client, europe):
    response = staff_client.put(
        detail_url(europe.pk), {"name": "Europe", "countries": ["FR"]}, format="json"
    )

    assert response.status_code == 200, response.content
    assert not ShippingMethod.objects.exists()
    assert list(europe.countries.values_list("country", flat=True)) == ["FR"]


def test_patch_without_methods_or_countries_leaves_them(staff_client, europe):
    response = staff_client.patch(detail_url(europe.pk), {"name": "EU"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["name"] == "EU"
    assert response.json()["countries"] == ["DE", "FR"]
    assert europe.methods.count() == 2


def test_patch_of_a_method_changes_only_the_fields_sent(staff_client, europe):
    standard = europe.methods.get(code="eu-standard")
    express = europe.methods.get(code="eu-express")

    response = staff_client.patch(
        detail_url(europe.pk),
        {
            "methods": [
                {"id": standard.pk, "free_shipping_threshold": "50.00"},
                {"id": express.pk},
                method("eu-pickup", price="0"),
            ]
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    standard.refresh_from_db()
    assert (standard.price, standard.free_shipping_threshold, standard.position) == (
        Decimal("6.00"),
        Decimal("50.00"),
        1,
    )
    pickup = europe.methods.get(code="eu-pickup")
    assert (pickup.min_days, pickup.max_days, pickup.is_active) == (1, 5, True)  # defaults
    assert europe.methods.count() == 3


def test_patch_with_methods_deletes_those_not_listed(staff_client, europe):
    standard = europe.methods.get(code="eu-standard")

    response = staff_client.patch(
        detail_url(europe.pk), {"methods": [{"id": standard.pk}]}, format="json"
    )

    assert response.status_code == 200, response.content
    assert list(europe.methods.values_list("code", flat=True)) == ["eu-standard"]


def test_a_deleted_method_gives_its_code_to_a_new_one_in_the_same_write(staff_client, europe):
    response = staff_client.patch(
        detail_url(europe.pk), {"methods": [method("eu-express", price="25.00")]}, format="json"
    )

    assert response.status_code == 200, response.content
    assert list(europe.methods.values_list("code", "price")) == [("eu-express", Decimal("25.00"))]


def test_a_zone_gives_up_a_country_another_zone_then_takes(staff_client, europe):
    asia = make_zone("Asia", ["JP"])

    given_up = staff_client.patch(detail_url(europe.pk), {"countries": ["DE"]}, format="json")
    assert given_up.status_code == 200
    response = staff_client.patch(detail_url(asia.pk), {"countries": ["JP", "FR"]}, format="json")

    assert response.status_code == 200, response.content
    assert ShippingZoneCountry.objects.get(country="FR").zone == asia


def test_delete_removes_the_zone_its_countries_and_methods(staff_client, europe):
    response = staff_client.delete(detail_url(europe.pk))

    assert response.status_code == 204
    assert snapshot() == [[], [], []]


# --- Refusals: 400, naming the field, nothing changed ----------------------------------------


def assert_refused(response, field: str) -> dict:
    error = assert_error(response, 400, "invalid")
    assert field in error["fields"], error
    return error


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X" * 129}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "Asia", "countries": ["XX"]}, "countries"),
        ({"name": "Asia", "countries": ["FRA"]}, "countries"),
        ({"name": "Asia", "countries": ["JP", "jp"]}, "countries"),
        ({"name": "Asia", "countries": "JP"}, "countries"),
        ({"name": "Asia", "methods": [method(price="-0.01")]}, "methods"),
        ({"name": "Asia", "methods": [method(price="10000000000.00")]}, "methods"),
        ({"name": "Asia", "methods": [method(price="4.999")]}, "methods"),
        ({"name": "Asia", "methods": [method(price="NaN")]}, "methods"),
        ({"name": "Asia", "methods": [method(free_shipping_threshold="-1")]}, "methods"),
        ({"name": "Asia", "methods": [method(free_shipping_threshold="1e12")]}, "methods"),
        ({"name": "Asia", "methods": [method(min_days=6, max_days=5)]}, "methods"),
        ({"name": "Asia", "methods": [method(min_days=1, max_days=366)]}, "methods"),
        ({"name": "Asia", "methods": [method(min_days=-1)]}, "methods"),
        ({"name": "Asia", "methods": [method("not a slug")]}, "methods"),
        ({"name": "Asia", "methods": [method("a" * 65)]}, "methods"),
        ({"name": "Asia", "methods": [method(name="N" * 129)]}, "methods"),
        ({"name": "Asia", "methods": [method(position=40000)]}, "methods"),
        ({"name": "Asia", "methods": [method("dup"), method("dup")]}, "methods"),
        ({"name": "Asia", "methods": [{"id": 1, **method()}]}, "methods"),
        ({"name": "Asia", "methods": [method()] * 101}, "methods"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_an_invalid_new_zone_is_refused_and_nothing_is_created(staff_client, europe, body, field):
    before = snapshot()

    assert_refused(staff_client.post(LIST_URL, body, format="json"), field)

    assert snapshot() == before


def test_the_error_names_the_method_and_its_field(staff_client):
    response = staff_client.post(
        LIST_URL,
        {"name": "Asia", "methods": [method("ok"), method("late", min_days=6, max_days=5)]},
        format="json",
    )

    error = assert_refused(response, "methods")
    assert error["fields"]["methods"] == [{}, {"min_days": ["Must be at most max_days (5)."]}]
    assert error["message"] == "methods[1].min_days: Must be at most max_days (5)."


def test_a_country_already_in_another_zone_is_refused(staff_client, europe):
    before = snapshot()

    response = staff_client.post(LIST_URL, {"name": "France", "countries": ["fr"]}, format="json")

    error = assert_refused(response, "countries")
    assert error["fields"]["countries"] == ["Already in another shipping zone: FR (Europe)."]
    assert snapshot() == before


def test_a_rest_of_the_world_zone_that_lists_countries_is_refused(staff_client, europe):
    before = snapshot()

    created = staff_client.post(
        LIST_URL, {"name": "World", "rest_of_world": True, "countries": ["JP"]}, format="json"
    )
    # Becoming the rest of the world while keeping its countries: named on rest_of_world.
    patched = staff_client.patch(detail_url(europe.pk), {"rest_of_world": True}, format="json")

    assert_refused(created, "countries")
    assert_refused(patched, "rest_of_world")
    assert snapshot() == before


def test_a_second_rest_of_the_world_zone_is_refused(staff_client, europe):
    make_zone("International", rest_of_world=True)
    before = snapshot()

    created = staff_client.post(LIST_URL, {"name": "World", "rest_of_world": True}, format="json")
    patched = staff_client.put(
        detail_url(europe.pk), {"name": "Europe", "rest_of_world": True}, format="json"
    )

    error = assert_refused(created, "rest_of_world")
    assert error["fields"]["rest_of_world"] == [
        "The zone 'International' is already the rest of the world."
    ]
    assert_refused(patched, "rest_of_world")
    assert snapshot() == before


def test_a_method_code_used_by_another_zone_is_refused(staff_client, europe):
    asia = make_zone("Asia", ["JP"], methods=[method("jp-standard")])
    before = snapshot()

    created = staff_client.post(
        LIST_URL, {"name": "Africa", "methods": [method("eu-express")]}, format="json"
    )
    renamed = staff_client.patch(
        detail_url(asia.pk),
        {"methods": [{"id": asia.methods.get().pk, "code": "eu-standard"}]},
        format="json",
    )

    error = assert_refused(created, "methods")
    assert error["fields"]["methods"] == [
        {"code": ["Already the code of a method of the zone 'Europe'."]}
    ]
    assert_refused(renamed, "methods")
    assert snapshot() == before


def test_a_zone_name_already_used_is_refused(staff_client, europe):
    asia = make_zone("Asia")
    before = snapshot()

    assert_refused(staff_client.post(LIST_URL, {"name": "Europe"}, format="json"), "name")
    assert_refused(
        staff_client.patch(detail_url(asia.pk), {"name": "Europe"}, format="json"), "name"
    )
    assert snapshot() == before


def test_a_method_id_of_another_zone_is_refused(staff_client, europe):
    asia = make_zone("Asia", ["JP"], methods=[method("jp-standard")])
    stranger = europe.methods.get(code="eu-standard")
    before = snapshot()

    response = staff_client.patch(
        detail_url(asia.pk), {"methods": [{"id": stranger.pk, "price": "1.00"}]}, format="json"
    )

    error = assert_refused(response, "methods")
    assert error["fields"]["methods"] == [{"id": ["Not a method of this shipping zone."]}]
    assert snapshot() == before


def test_a_method_listed_twice_is_refused(staff_client, europe):
    standard = europe.methods.get(code="eu-standard")
    before = snapshot()

    response = staff_client.patch(
        detail_url(europe.pk),
        {"methods": [{"id": standard.pk}, {"id": standard.pk}]},
        format="json",
    )

    assert_refused(response, "methods")
    assert snapshot() == before


def test_a_patch_is_checked_against_the_stored_days(staff_client, europe):
    express = europe.methods.get(code="eu-express")  # 1-2 days
    before = snapshot()

    response = staff_client.patch(
        detail_url(europe.pk),
        {
            "methods": [
                {"id": express.pk, "min_days": 3},
                {"id": europe.methods.get(code="eu-standard").pk},
            ]
        },
        format="json",
    )

    error = assert_refused(response, "methods")
    assert error["fields"]["methods"][0] == {"min_days": ["Must be at most max_days (2)."]}
    assert snapshot() == before


def test_a_new_method_in_a_patch_needs_its_code_name_and_price(staff_client, europe):
    before = snapshot()

    response = staff_client.patch(
        detail_url(europe.pk), {"methods": [{"min_days": 2}]}, format="json"
    )

    error = assert_refused(response, "methods")
    assert set(error["fields"]["methods"][0]) == {"code", "name", "price"}
    assert snapshot() == before


def test_a_refused_put_changes_nothing_it_was_valid_for(staff_client, europe):
    """The name and countries are fine, a method is not: the zone stays as it was."""
    before = snapshot()

    response = staff_client.put(
        detail_url(europe.pk),
        {"name": "Renamed", "countries": ["IT"], "methods": [method(price="-1")]},
        format="json",
    )

    assert_refused(response, "methods")
    assert snapshot() == before


# --- Under a race: the database's constraints, reported as the same 400 --------------------


@pytest.mark.django_db(transaction=True)
def test_a_country_taken_by_a_concurrent_write_is_the_same_400():
    """The serializer finds FR free (the other write has not committed); the insert then
    waits on the unique index, fails once the other commits, and is reported as the check
    would have: on `countries`, naming the zone that took it."""
    europe = make_zone("Europe", ["DE"])
    client = APIClient()
    client.force_authenticate(StaffFactory())

    def take_france(hold) -> None:
        with transaction.atomic():
            ShippingZoneCountry.objects.create(zone=europe, country="FR")
            hold()

    taken, response = run_blocked_behind(
        take_france,
        lambda: client.post(LIST_URL, {"name": "France", "countries": ["FR"]}, format="json"),
    )

    assert taken.error is None, taken.error
    assert response.error is None, response.error
    error = assert_refused(response.value, "countries")
    assert error["fields"]["countries"] == ["Already in another shipping zone: FR (Europe)."]
    assert list(ShippingZone.objects.values_list("name", flat=True)) == ["Europe"]


@pytest.mark.django_db(transaction=True)
def test_a_rest_of_the_world_taken_by_a_concurrent_write_is_the_same_400():
    client = APIClient()
    client.force_authenticate(StaffFactory())

    def take_the_world(hold) -> None:
        with transaction.atomic():
            make_zone("International", rest_of_world=True)
            hold()

    taken, response = run_blocked_behind(
        take_the_world,
        lambda: client.post(LIST_URL, {"name": "World", "rest_of_world": True}, format="json"),
    )

    assert taken.error is None, taken.error
    error = assert_refused(response.value, "rest_of_world")
    assert "International" in error["message"]
    assert list(ShippingZone.objects.values_list("name", flat=True)) == ["International"]


def test_the_schema_documents_countries_with_the_addresses_country_codes():
    """zones.py points `countries` at the CountryEnum component by hand (one name for the
    choice set): it must exist and hold every ISO 3166-1 code."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    for name in ("ShippingZone", "ShippingZoneRequest", "PatchedShippingZoneRequest"):
        countries = components[name]["properties"]["countries"]
        assert countries["items"] == {"$ref": "#/components/schemas/CountryEnum"}, name
    assert len(components["CountryEnum"]["enum"]) == 249
    price = components["ShippingZoneMethodRequest"]["properties"]["price"]
    assert price["pattern"] == r"^\d{1,10}(?:\.\d{1,2})?$"
    assert "403" in schema["paths"]["/api/shipping-zones/"]["get"]["responses"]
