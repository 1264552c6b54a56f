import pytest

from storefront.accounts.models import Address
from storefront.accounts.tests.factories import AddressFactory
from storefront.accounts.tests.helpers import assert_error

LIST_URL = "/api/me/addresses/"

pytestmark = pytest.mark.django_db

NEW_ADDRESS = {
    "full_name": "Ada Lovelace",
    "street": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
    "phone": "+44 20 7946 0000",
}


def detail_url(address_or_id) -> str:
    return f"{LIST_URL}{getattr(address_or_id, 'pk', address_or_id)}/"


def snapshot() -> list[dict]:
    return list(Address.objects.order_by("pk").values())


# --- Listing -----------------------------------------------------------------------------


def test_list_answers_only_the_customers_addresses_oldest_first(
    customer_client, customer, other_customer
):
    first = AddressFactory(customer=customer)
    AddressFactory(customer=other_customer)
    second = AddressFactory(customer=customer)

    response = customer_client.get(LIST_URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [first.pk, second.pk]


def test_list_row_has_the_documented_fields(customer_client, customer):
    address = AddressFactory(customer=customer, country="FR", is_default_billing=True)

    row = customer_client.get(LIST_URL).json()["results"][0]

    assert row == {
        "id": address.pk,
        "full_name": address.full_name,
        "line1": address.line1,
        "line2": "",
        "street": address.line1,
        "city": address.city,
        "postal_code": address.postal_code,
        "region": "",
        "country": "FR",
        "phone": address.phone,
        "is_default_shipping": False,
        "is_default_billing": True,
    }


def test_list_takes_two_queries_however_many_addresses(
    customer_client, customer, django_assert_num_queries
):
    AddressFactory.create_batch(5, customer=customer)

    with django_assert_num_queries(2):  # count + page
        response = customer_client.get(LIST_URL)

    assert len(response.json()["results"]) == 5


def test_list_of_staff_shows_only_their_own_addresses(api_client, staff, customer):
    AddressFactory(customer=customer)
    api_client.force_authenticate(staff)

    assert api_client.get(LIST_URL).json()["count"] == 0


# --- Creating ----------------------------------------------------------------------------


def test_create_adds_an_address_to_the_customers_book(customer_client, customer):
    response = customer_client.post(LIST_URL, NEW_ADDRESS)

    assert response.status_code == 201
    address = Address.objects.get()
    assert address.customer == customer
    assert response.json() == {
        "id": address.pk,
        **NEW_ADDRESS,
        "line1": NEW_ADDRESS["street"],  # the former name `street` still sets it
        "line2": "",
        "region": "",
        "is_default_shipping": False,
        "is_default_billing": False,
    }


def test_create_upper_cases_a_lower_case_country_code(customer_client):
    response = customer_client.post(LIST_URL, {**NEW_ADDRESS, "country": "de"})

    assert response.status_code == 201
    assert response.json()["country"] == "DE"
    assert Address.objects.get().country.code == "DE"


def test_create_ignores_a_customer_field(customer_client, customer, other_customer):
    response = customer_client.post(LIST_URL, {**NEW_ADDRESS, "customer": other_customer.pk})

    assert response.status_code == 201
    assert Address.objects.get().customer == customer


def test_create_as_default_shipping_takes_the_flag_from_the_previous_default(
    customer_client, customer
):
    old = AddressFactory(customer=customer, is_default_shipping=True, is_default_billing=True)

    response = customer_client.post(LIST_URL, {**NEW_ADDRESS, "is_default_shipping": True})

    assert response.status_code == 201
    old.refresh_from_db()
    assert old.is_default_shipping is False
    assert old.is_default_billing is True  # the other kind of default is untouched
    assert Address.objects.get(pk=response.json()["id"]).is_default_shipping is True


def test_create_as_default_leaves_other_customers_defaults_alone(customer_client, other_customer):
    theirs = AddressFactory(customer=other_customer, is_default_shipping=True)

    customer_client.post(LIST_URL, {**NEW_ADDRESS, "is_default_shipping": True})

    theirs.refresh_from_db()
    assert theirs.is_default_shipping is True


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"country": "XX"}, "country"),
        ({"country": "France"}, "country"),
        ({"country": "FRA"}, "country"),
        ({"country": 250}, "country"),
        ({"country": ""}, "country"),
        ({"street": ""}, "street"),
        ({"city": None}, "city"),
        ({"postal_code": "1" * 21}, "postal_code"),
        ({"phone": "not a phone"}, "phone"),
        ({"is_default_shipping": "sometimes"}, "is_default_shipping"),
    ],
    ids=[
        "unknown-country",
        "country-name",
        "country-alpha3",
        "country-number",
        "country-blank",
        "street-blank",
        "city-null",
        "postal-code-too-long",
        "bad-phone",
        "flag-not-boolean",
    ],
)
def test_create_rejects_bad_input_and_stores_nothing(customer_client, changes, field):
    response = customer_client.post(LIST_URL, {**NEW_ADDRESS, **changes}, format="json")

    assert_error(response, 400, "invalid", field=field)
    assert not Address.objects.exists()


@pytest.mark.parametrize("missing", ["street", "city", "postal_code", "country"])
def test_create_requires_the_postal_fields(customer_client, missing):
    payload = {key: value for key, value in NEW_ADDRESS.items() if key != missing}

    response = customer_client.post(LIST_URL, payload)

    assert_error(response, 400, "invalid", field=missing)
    assert not Address.objects.exists()


def test_create_takes_line1_line2_and_region(customer_client):
    payload = {**NEW_ADDRESS, "line2": "Flat 3", "region": "Greater London"}
    payload["line1"] = payload.pop("street")

    response = customer_client.post(LIST_URL, payload)

    assert response.status_code == 201
    body = response.json()
    assert (body["line1"], body["street"]) == (payload["line1"], payload["line1"])
    address = Address.objects.get()
    assert (address.line1, address.line2, address.region) == (
        payload["line1"],
        "Flat 3",
        "Greater London",
    )


@pytest.mark.parametrize("line1", [NEW_ADDRESS["street"], "2 Other St"])
def test_a_write_with_both_street_and_line1_is_refused(customer_client, customer, line1):
    created = customer_client.post(LIST_URL, {**NEW_ADDRESS, "line1": line1})
    address = AddressFactory(customer=customer)
    patched = customer_client.patch(detail_url(address), {"street": "x", "line1": line1})

    for response in (created, patched):
        assert_error(response, 400, "invalid", field="street")
    assert Address.objects.count() == 1
    address.refresh_from_db()
    assert address.line1 != "x"


def test_the_request_schema_says_line1_or_street_never_both(api_client):
    components = api_client.get("/api/schema/?format=json").json()["components"]["schemas"]
    both = {"required": ["line1", "street"]}
    assert components["AddressRequest"]["not"] == both
    assert components["AddressRequest"]["anyOf"] == [
        {"required": ["line1"]},
        {"required": ["street"]},
    ]
    assert components["PatchedAddressRequest"]["not"] == both
    assert "anyOf" not in components["PatchedAddressRequest"]


def test_create_without_street_or_line1_names_both(customer_client):
    payload = {key: value for key, value in NEW_ADDRESS.items() if key != "street"}
    del payload["city"]

    response = customer_client.post(LIST_URL, payload)

    fields = assert_error(response, 400, "invalid", field="line1")["fields"]
    assert set(fields) == {"line1", "street", "city"}
    assert not Address.objects.exists()


def test_patch_through_either_name_changes_line1(customer_client, customer):
    address = AddressFactory(customer=customer)

    customer_client.patch(detail_url(address), {"street": "3 Old Name St"})
    address.refresh_from_db()
    assert address.line1 == "3 Old Name St"
    customer_client.patch(detail_url(address), {"line1": "4 New Name St"})
    address.refresh_from_db()
    assert address.line1 == "4 New Name St"


# --- One address -------------------------------------------------------------------------


def test_detail_answers_the_customers_address(customer_client, customer):
    address = AddressFactory(customer=customer)

    response = customer_client.get(detail_url(address))

    assert response.status_code == 200
    assert response.json()["id"] == address.pk


def test_put_replaces_the_fields_sent(customer_client, customer):
    address = AddressFactory(customer=customer, is_default_billing=True)

    response = customer_client.put(detail_url(address), NEW_ADDRESS)

    assert response.status_code == 200
    address.refresh_from_db()
    assert {key: response.json()[key] for key in NEW_ADDRESS} == NEW_ADDRESS
    assert (address.line1, address.city, address.country.code) == (
        NEW_ADDRESS["street"],
        "London",
        "GB",
    )
    assert address.is_default_billing is True  # optional fields not sent keep their value


def test_put_with_missing_fields_is_rejected_and_changes_nothing(customer_client, customer):
    address = AddressFactory(customer=customer)
    before = snapshot()

    response = customer_client.put(detail_url(address), {"city": "Paris"})

    assert_error(response, 400, "invalid", field="street")
    assert snapshot() == before


def test_patch_changes_only_the_fields_sent(customer_client, customer):
    address = AddressFactory(customer=customer, city="Lyon", country="FR")

    response = customer_client.patch(detail_url(address), {"city": "Marseille"})

    assert response.status_code == 200
    address.refresh_from_db()
    assert (address.city, address.country.code) == ("Marseille", "FR")


def test_patch_to_default_billing_takes_the_flag_from_the_previous_default(
    customer_client, customer
):
    old = AddressFactory(customer=customer, is_default_billing=True)
    new = AddressFactory(customer=customer)

    response = customer_client.patch(detail_url(new), {"is_default_billing": True})

    assert response.status_code == 200
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.is_default_billing, new.is_default_billing) == (False, True)


def test_patch_of_the_current_default_keeps_it(customer_client, customer):
    address = AddressFactory(customer=customer, is_default_shipping=True)

    response = customer_client.patch(detail_url(address), {"is_default_shipping": True})

    assert response.status_code == 200
    address.refresh_from_db()
    assert address.is_default_shipping is True


def test_patch_with_an_invalid_country_changes_nothing(customer_client, customer):
    address = AddressFactory(customer=customer)
    before = snapshot()

    response = customer_client.patch(detail_url(address), {"country": "ZZ", "city": "Nowhere"})

    assert_error(response, 400, "invalid", field="country")
    assert snapshot() == before


def test_delete_removes_the_address(customer_client, customer):
    address = AddressFactory(customer=customer)
    kept = AddressFactory(customer=customer)

    response = customer_client.delete(detail_url(address))

    assert response.status_code == 204
    assert list(Address.objects.all()) == [kept]


# --- Someone else's address, unknown ids, anonymous --------------------------------------


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_another_customers_address_answers_404_and_is_untouched(
    customer_client, other_customer, method
):
    theirs = AddressFactory(customer=other_customer)
    before = snapshot()

    response = getattr(customer_client, method)(detail_url(theirs), NEW_ADDRESS)

    assert_error(response, 404, "not_found")
    assert snapshot() == before


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_staff_gets_404_for_a_customers_address_here(api_client, staff, customer, method):
    theirs = AddressFactory(customer=customer)
    api_client.force_authenticate(staff)
    before = snapshot()

    response = getattr(api_client, method)(detail_url(theirs), {"city": "Staffville"})

    assert_error(response, 404, "not_found")
    assert snapshot() == before


@pytest.mark.parametrize("address_id", ["999999", "99999999999999999999999"])
def test_unknown_address_id_answers_404(customer_client, address_id):
    assert_error(customer_client.get(detail_url(address_id)), 404, "not_found")


def test_non_numeric_address_id_answers_404_in_the_error_shape(customer_client):
    assert_error(customer_client.get(detail_url("abc")), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", LIST_URL),
        ("post", LIST_URL),
        ("get", detail_url(1)),
        ("put", detail_url(1)),
        ("patch", detail_url(1)),
        ("delete", detail_url(1)),
    ],
)
def test_addresses_answer_401_to_anonymous(api_client, customer, method, url):
    AddressFactory(customer=customer)
    before = snapshot()

    response = getattr(api_client, method)(url, NEW_ADDRESS)

    assert_error(response, 401, "not_authenticated")
    assert snapshot() == before
