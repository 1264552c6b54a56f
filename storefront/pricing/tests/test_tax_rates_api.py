"""/api/tax-rates/ (storefront/pricing/api/taxes.py): staff write the tax rate of each tax
class in a country or region; every refusal is a 400 in the error shape that changes
nothing."""

from decimal import Decimal

import pytest
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import StaffFactory
from storefront.catalog.tests.helpers import assert_error
from storefront.pricing.models import TaxClass, TaxRate
from storefront.pricing.tests.staff import EVERY_VERB, assert_staff_only
from tests.concurrency import run_blocked_behind

pytestmark = pytest.mark.django_db

LIST_URL = "/api/tax-rates/"


def detail_url(rate_id: int) -> str:
    return f"/api/tax-rates/{rate_id}/"


def make_rate(country: str, rate: str, tax_class: str = TaxClass.STANDARD, **values) -> TaxRate:
    return TaxRate.objects.create(
        country=country, tax_class=tax_class, rate=Decimal(rate), **values
    )


def snapshot() -> list:
    """Every rate as stored: compared before and after a refusal."""
    return list(TaxRate.objects.order_by("pk").values())


def body(**values) -> dict:
    return {"country": "FR", "tax_class": "standard", "rate": "0.2000", "name": "VAT", **values}


@pytest.fixture
def france() -> TaxRate:
    return make_rate("FR", "0.2000", name="VAT")


# --- Reads ---------------------------------------------------------------------------------


def test_list_is_paginated_by_country_region_and_class(staff_client, france):
    make_rate("US", "0.0725", region="CA", name="Sales tax")
    reduced = make_rate("FR", "0.0550", TaxClass.REDUCED, name="VAT")
    make_rate("DE", "0.1900", name="MwSt")

    page = staff_client.get(LIST_URL).json()

    assert page["count"] == 4
    assert [(r["country"], r["region"], r["tax_class"]) for r in page["results"]] == [
        ("DE", "", "standard"),
        ("FR", "", "reduced"),
        ("FR", "", "standard"),
        ("US", "CA", "standard"),
    ]
    assert page["results"][1] == {
        "id": reduced.pk,
        "country": "FR",
        "region": "",
        "tax_class": "reduced",
        "rate": "0.0550",
        "name": "VAT",
    }


def test_list_takes_two_queries_whatever_the_number_of_rates(
    staff_client, django_assert_num_queries
):
    for code in ["FR", "DE", "IT", "ES", "JP", "BR"]:
        make_rate(code, "0.2000")
        make_rate(code, "0.0500", TaxClass.REDUCED)

    # count, rates
    with django_assert_num_queries(2):
        response = staff_client.get(LIST_URL, {"page_size": 5})

    assert len(response.json()["results"]) == 5


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"country": "FR"}, [("FR", "reduced"), ("FR", "standard")]),
        ({"country": "fr"}, [("FR", "reduced"), ("FR", "standard")]),
        ({"tax_class": "standard"}, [("DE", "standard"), ("FR", "standard")]),
        ({"country": "FR", "tax_class": "reduced"}, [("FR", "reduced")]),
        ({"country": "JP"}, []),
        ({"country": ""}, [("DE", "standard"), ("FR", "reduced"), ("FR", "standard")]),
    ],
)
def test_list_filters_by_country_and_tax_class(staff_client, france, query, expected):
    make_rate("FR", "0.0550", TaxClass.REDUCED)
    make_rate("DE", "0.1900")

    response = staff_client.get(LIST_URL, query)

    assert response.status_code == 200, response.content
    assert [(r["country"], r["tax_class"]) for r in response.json()["results"]] == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"country": "XX"}, "country"),
        ({"country": "FRA"}, "country"),
        ({"tax_class": "luxury"}, "tax_class"),
        ({"region": "CA"}, "region"),
        ({"ordering": "rate"}, "ordering"),
    ],
)
def test_a_bad_filter_or_unknown_query_parameter_is_refused(staff_client, france, query, field):
    error = assert_error(staff_client.get(LIST_URL, query), 400, "invalid")
    assert list(error["fields"]) == [field]


def test_retrieve(staff_client, france):
    response = staff_client.get(detail_url(france.pk))

    assert response.json() == {
        "id": france.pk,
        "country": "FR",
        "region": "",
        "tax_class": "standard",
        "rate": "0.2000",
        "name": "VAT",
    }


def test_unknown_id_is_404_in_the_error_shape(staff_client):
    error = assert_error(staff_client.get(detail_url(999999)), 404, "not_found")
    assert error["message"] == "No such tax rate."
    assert_error(staff_client.patch(detail_url(999999), {}, format="json"), 404, "not_found")
    assert_error(staff_client.put(detail_url(999999), body(), format="json"), 404, "not_found")
    assert_error(staff_client.delete(detail_url(999999)), 404, "not_found")


# --- Who may ---------------------------------------------------------------------------------


@EVERY_VERB
def test_anonymous_gets_401_and_customers_403(api_client, customer_client, france, verb, path):
    url = LIST_URL if path == "list" else detail_url(france.pk)
    assert_staff_only(
        api_client, customer_client, verb=verb, url=url, body=body(), snapshot=snapshot
    )


# --- Writes ----------------------------------------------------------------------------------


def test_create_a_country_rate(staff_client):
    response = staff_client.post(LIST_URL, body(country="fr", rate="0.2"), format="json")

    assert response.status_code == 201, response.content
    rate = TaxRate.objects.get()
    assert response.json() == {
        "id": rate.pk,
        "country": "FR",
        "region": "",
        "tax_class": "standard",
        "rate": "0.2000",
        "name": "VAT",
    }
    assert (rate.country.code, rate.region, rate.rate) == ("FR", "", Decimal("0.2000"))


def test_create_with_only_a_country_and_a_rate_takes_the_defaults(staff_client):
    response = staff_client.post(LIST_URL, {"country": "DE", "rate": 0.19}, format="json")

    assert response.status_code == 201, response.content
    assert response.json() | {"id": None} == {
        "id": None,
        "country": "DE",
        "region": "",
        "tax_class": "standard",
        "rate": "0.1900",
        "name": "",
    }


@pytest.mark.parametrize("rate", ["0", "1", "0.0000", "1.0000", "0.0725"])
def test_rates_from_0_to_1_inclusive_are_taken(staff_client, rate):
    response = staff_client.post(LIST_URL, body(rate=rate), format="json")

    assert response.status_code == 201, response.content
    assert TaxRate.objects.get().rate == Decimal(rate)


def test_a_region_rate_next_to_the_country_rate(staff_client):
    make_rate("US", "0.0000", name="No federal sales tax")

    response = staff_client.post(
        LIST_URL, body(country="US", region=" CA ", rate="0.0725", name="Sales tax"), format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["region"] == "CA"  # stripped
    assert sorted(TaxRate.objects.values_list("region", "rate")) == [
        ("", Decimal("0.0000")),
        ("CA", Decimal("0.0725")),
    ]


def test_each_tax_class_of_a_place_has_its_own_rate(staff_client, france):
    reduced = staff_client.post(LIST_URL, body(tax_class="reduced", rate="0.055"), format="json")
    zero = staff_client.post(LIST_URL, body(tax_class="zero", rate="0"), format="json")

    assert (reduced.status_code, zero.status_code) == (201, 201), zero.content
    assert TaxRate.objects.filter(country="FR").count() == 3


def test_put_replaces_the_rate_and_its_fields_left_out_take_their_defaults(staff_client):
    rate = make_rate("US", "0.0725", region="CA", name="Sales tax")

    response = staff_client.put(
        detail_url(rate.pk), {"country": "US", "rate": "0.0600"}, format="json"
    )

    assert response.status_code == 200, response.content
    rate.refresh_from_db()
    assert (rate.region, rate.tax_class, rate.rate, rate.name) == (
        "",
        "standard",
        Decimal("0.0600"),
        "",
    )
    assert response.json()["rate"] == "0.0600"


def test_patch_changes_only_the_fields_sent(staff_client, france):
    updated_at = france.updated_at

    response = staff_client.patch(detail_url(france.pk), {"rate": "0.21"}, format="json")

    assert response.status_code == 200, response.content
    france.refresh_from_db()
    assert (france.country.code, france.tax_class, france.rate, france.name) == (
        "FR",
        "standard",
        Decimal("0.2100"),
        "VAT",
    )
    assert france.updated_at > updated_at
    assert response.json()["rate"] == "0.2100"


def test_patch_may_keep_the_rate_in_its_own_place(staff_client, france):
    """The duplicate check leaves out the rate being changed."""
    response = staff_client.patch(
        detail_url(france.pk), {"country": "FR", "tax_class": "standard"}, format="json"
    )

    assert response.status_code == 200, response.content


def test_delete(staff_client, france):
    response = staff_client.delete(detail_url(france.pk))

    assert response.status_code == 204
    assert not TaxRate.objects.exists()


# --- Refusals: 400, naming the field, nothing changed ----------------------------------------


def assert_refused(response, field: str) -> dict:
    error = assert_error(response, 400, "invalid")
    assert field in error["fields"], error
    return error


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"country": "XX"}, "country"),
        ({"country": "FRA"}, "country"),
        ({"country": ""}, "country"),
        ({"country": None}, "country"),
        ({"rate": "-0.0001"}, "rate"),
        ({"rate": "1.0001"}, "rate"),
        ({"rate": "2"}, "rate"),
        ({"rate": "0.12345"}, "rate"),
        ({"rate": "abc"}, "rate"),
        ({"rate": "NaN"}, "rate"),
        ({"rate": "Infinity"}, "rate"),
        ({"rate": ""}, "rate"),
        ({"rate": None}, "rate"),
        ({"region": "R" * 129}, "region"),
        ({"region": "bad\x00region"}, "region"),
        ({"tax_class": "luxury"}, "tax_class"),
        ({"tax_class": "Standard"}, "tax_class"),
        ({"tax_class": None}, "tax_class"),
        ({"name": "N" * 129}, "name"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_an_invalid_new_rate_is_refused_and_nothing_is_created(staff_client, france, values, field):
    before = snapshot()

    assert_refused(
        staff_client.post(LIST_URL, body(**{"country": "DE", **values}), format="json"), field
    )

    assert snapshot() == before


@pytest.mark.parametrize("missing", ["country", "rate"])
def test_a_new_rate_needs_a_country_and_a_rate(staff_client, missing):
    values = body()
    del values[missing]

    assert_refused(staff_client.post(LIST_URL, values, format="json"), missing)

    assert not TaxRate.objects.exists()


@pytest.mark.parametrize(
    "values",
    [{"rate": "1.5"}, {"country": "ZZ"}, {"tax_class": "luxury"}, {"region": "R" * 129}],
)
def test_an_invalid_change_is_refused_and_changes_nothing(staff_client, france, values):
    before = snapshot()

    patched = staff_client.patch(
        detail_url(france.pk), {"name": "Changed", **values}, format="json"
    )
    replaced = staff_client.put(
        detail_url(france.pk), body(name="Changed", **values), format="json"
    )

    assert_refused(patched, next(iter(values)))
    assert_refused(replaced, next(iter(values)))
    assert snapshot() == before


def test_a_place_and_class_that_already_has_a_rate_is_refused(staff_client, france):
    before = snapshot()

    response = staff_client.post(LIST_URL, body(country="fr", rate="0.19"), format="json")

    error = assert_refused(response, "tax_class")
    assert error["fields"]["tax_class"] == [
        f"FR already has a standard rate (0.2000, id {france.pk}): change that one."
    ]
    assert snapshot() == before


def test_a_region_differing_only_in_case_is_the_same_place(staff_client):
    """Quotes compare regions ignoring case: "ca" and "CA" would both apply to an address."""
    california = make_rate("US", "0.0725", region="CA")
    before = snapshot()

    response = staff_client.post(
        LIST_URL, body(country="US", region="ca", rate="0.08"), format="json"
    )

    error = assert_refused(response, "tax_class")
    assert error["fields"]["tax_class"] == [
        f"US, region 'CA', already has a standard rate (0.0725, id {california.pk}): "
        "change that one."
    ]
    assert snapshot() == before


def test_moving_a_rate_onto_a_place_that_has_one_is_refused(staff_client, france):
    reduced = make_rate("FR", "0.0550", TaxClass.REDUCED)
    germany = make_rate("DE", "0.1900")
    before = snapshot()

    # A PATCH is checked with the stored fields it leaves out.
    reclassed = staff_client.patch(detail_url(reduced.pk), {"tax_class": "standard"}, format="json")
    moved = staff_client.patch(detail_url(germany.pk), {"country": "FR"}, format="json")
    replaced = staff_client.put(detail_url(germany.pk), body(), format="json")

    assert_refused(reclassed, "tax_class")
    assert_refused(moved, "tax_class")
    assert_refused(replaced, "tax_class")
    assert snapshot() == before


def test_malformed_json_is_a_parse_error(staff_client):
    response = staff_client.post(LIST_URL, "{not json", content_type="application/json")

    assert_error(response, 400, "parse_error")
    assert not TaxRate.objects.exists()


# --- Under a race: the database's unique constraint, reported as the same 400 ---------------


@pytest.mark.django_db(transaction=True)
def test_a_place_taken_by_a_concurrent_write_is_the_same_400():
    """The serializer finds FR's standard rate free (the other write has not committed); the
    insert then waits on the unique index, fails once the other commits, and is reported as
    the check would have: on `tax_class`, naming the rate that took it."""
    client = APIClient()
    client.force_authenticate(StaffFactory())
    taken_by: list[TaxRate] = []

    def take_france(hold) -> None:
        with transaction.atomic():
            taken_by.append(make_rate("FR", "0.2000", name="VAT"))
            hold()

    taken, response = run_blocked_behind(
        take_france, lambda: client.post(LIST_URL, body(rate="0.1900"), format="json")
    )

    assert taken.error is None, taken.error
    assert response.error is None, response.error
    error = assert_refused(response.value, "tax_class")
    assert error["fields"]["tax_class"] == [
        f"FR already has a standard rate (0.2000, id {taken_by[0].pk}): change that one."
    ]
    assert list(TaxRate.objects.values_list("rate", flat=True)) == [Decimal("0.2000")]


@pytest.mark.django_db(transaction=True)
def test_a_region_taken_in_another_case_by_a_concurrent_write_is_the_same_400():
    """The unique index upper-cases the region, as the check and quotes compare it: "ca"
    racing "CA" is refused, so a Californian address has one rate to take."""
    client = APIClient()
    client.force_authenticate(StaffFactory())

    def take_california(hold) -> None:
        with transaction.atomic():
            make_rate("US", "0.0725", region="CA", name="Sales tax")
            hold()

    taken, response = run_blocked_behind(
        take_california,
        lambda: client.post(LIST_URL, body(country="US", region="ca"), format="json"),
    )

    assert taken.error is None, taken.error
    assert response.error is None, response.error
    assert_refused(response.value, "tax_class")
    assert list(TaxRate.objects.values_list("region", "rate")) == [("CA", Decimal("0.0725"))]


@pytest.mark.django_db(transaction=True)
def test_a_patch_into_a_place_taken_by_a_concurrent_write_is_the_same_400():
    germany = make_rate("DE", "0.1900")
    client = APIClient()
    client.force_authenticate(StaffFactory())

    def take_france(hold) -> None:
        with transaction.atomic():
            make_rate("FR", "0.2000")
            hold()

    taken, response = run_blocked_behind(
        take_france,
        lambda: client.patch(detail_url(germany.pk), {"country": "FR"}, format="json"),
    )

    assert taken.error is None, taken.error
    assert response.error is None, response.error
    assert_refused(response.value, "tax_class")
    germany.refresh_from_db()
    assert germany.country.code == "DE"


# --- Schema ----------------------------------------------------------------------------------


def test_the_schema_documents_country_with_the_addresses_country_codes():
    """taxes.py points `country` at the CountryEnum component by hand (one name for the
    choice set), and `tax_class` at the one TaxClassEnum the products' field uses too."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    for name in ("TaxRate", "TaxRateRequest", "PatchedTaxRateRequest"):
        properties = components[name]["properties"]
        assert properties["country"]["allOf"] == [{"$ref": "#/components/schemas/CountryEnum"}]
        assert properties["tax_class"]["allOf"] == [{"$ref": "#/components/schemas/TaxClassEnum"}]
    assert components["TaxClassEnum"]["enum"] == ["standard", "reduced", "zero"]
    for name in ("Product", "ProductWriteRequest"):
        product = components[name]["properties"]["tax_class"]
        assert product == {"$ref": "#/components/schemas/TaxClassEnum"}, name
    rate = components["TaxRateRequest"]["properties"]["rate"]
    assert rate["pattern"] == r"^\d{1,1}(?:\.\d{1,4})?$"
    assert "403" in schema["paths"]["/api/tax-rates/"]["get"]["responses"]
