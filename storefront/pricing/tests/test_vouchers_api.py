"""/api/vouchers/ (storefront/pricing/api/vouchers.py): staff write the codes customers enter
at checkout; every refusal is a 400 in the error shape that changes nothing, and no write
ever breaks the usage limit a checkout counts against."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import F
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import StaffFactory
from storefront.catalog.tests.helpers import assert_error
from storefront.orders.models import Order
from storefront.orders.tests.factories import OrderFactory
from storefront.pricing.models import Voucher
from storefront.pricing.tests.factories import VoucherFactory
from storefront.pricing.tests.staff import EVERY_VERB, assert_staff_only
from tests.concurrency import run_blocked_behind

pytestmark = pytest.mark.django_db

LIST_URL = "/api/vouchers/"
# The contract of the issue: every field a voucher shows, by these names.
FIELDS = {
    "id",
    "code",
    "name",
    "kind",
    "value",
    "min_subtotal",
    "starts_at",
    "ends_at",
    "usage_limit",
    "per_customer_limit",
    "tiers",
    "times_used",
    "is_active",
}


def detail_url(voucher_id: int) -> str:
    return f"/api/vouchers/{voucher_id}/"


def snapshot() -> list:
    """Every voucher as stored: compared before and after a refusal."""
    return list(Voucher.objects.order_by("pk").values())


def body(**values) -> dict:
    return {"code": "summer10", "name": "Summer", "kind": "percentage", "value": "10", **values}


def assert_refused(response, field: str) -> dict:
    error = assert_error(response, 400, "invalid")
    assert field in error["fields"], error
    return error


@pytest.fixture
def summer() -> Voucher:
    return VoucherFactory(code="SUMMER", name="Summer")


# --- Reads ---------------------------------------------------------------------------------


def test_list_is_paginated_by_code_in_the_contracts_shape(staff_client):
    welcome = VoucherFactory(
        code="WELCOME",
        name="Welcome",
        kind="fixed",
        value=Decimal("5"),
        min_subtotal=Decimal("30"),
        usage_limit=100,
        per_customer_limit=1,
        tiers=["bronze"],
        times_used=3,
        starts_at="2026-01-01T00:00:00Z",
    )
    VoucherFactory(code="AUTUMN")
    VoucherFactory(code="SHIPFREE", kind="free_shipping", value=Decimal("0"))

    page = staff_client.get(LIST_URL).json()

    assert page["count"] == 3
    assert [v["code"] for v in page["results"]] == ["AUTUMN", "SHIPFREE", "WELCOME"]
    assert set(page["results"][2]) == FIELDS
    assert page["results"][2] == {
        "id": welcome.pk,
        "code": "WELCOME",
        "name": "Welcome",
        "kind": "fixed",
        "value": "5.00",
        "min_subtotal": "30.00",
        "starts_at": "2026-01-01T00:00:00Z",
        "ends_at": None,
        "usage_limit": 100,
        "per_customer_limit": 1,
        "tiers": ["bronze"],
        "times_used": 3,
        "is_active": True,
    }


@pytest.mark.parametrize("vouchers", [2, 8])
def test_list_takes_two_queries_whatever_the_number_of_vouchers(
    staff_client, django_assert_num_queries, vouchers
):
    VoucherFactory.create_batch(vouchers)

    # count, vouchers
    with django_assert_num_queries(2):
        response = staff_client.get(LIST_URL, {"page_size": 5})

    assert len(response.json()["results"]) == min(vouchers, 5)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"code": "summer"}, ["SUMMER"]),
        ({"code": "SUMMER"}, ["SUMMER"]),
        ({"code": "SUMM"}, []),
        ({"code": ""}, ["OFF", "SHIP", "SUMMER"]),
        ({"is_active": "false"}, ["OFF"]),
        ({"is_active": "true"}, ["SHIP", "SUMMER"]),
        ({"kind": "free_shipping"}, ["SHIP"]),
        ({"kind": "percentage", "is_active": "true"}, ["SUMMER"]),
    ],
)
def test_list_filters_by_code_is_active_and_kind(staff_client, summer, query, expected):
    VoucherFactory(code="OFF", is_active=False)
    VoucherFactory(code="SHIP", kind="free_shipping", value=Decimal("0"))

    response = staff_client.get(LIST_URL, query)

    assert response.status_code == 200, response.content
    assert [v["code"] for v in response.json()["results"]] == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"is_active": "yes please"}, "is_active"),
        ({"kind": "bogus"}, "kind"),
        ({"code": "a\x00b"}, "code"),
        ({"name": "Summer"}, "name"),
    ],
)
def test_a_bad_filter_or_unknown_query_parameter_is_refused(staff_client, summer, query, field):
    error = assert_error(staff_client.get(LIST_URL, query), 400, "invalid")
    assert list(error["fields"]) == [field]


def test_retrieve(staff_client, summer):
    response = staff_client.get(detail_url(summer.pk))

    assert response.status_code == 200
    assert set(response.json()) == FIELDS
    assert response.json()["code"] == "SUMMER"


def test_unknown_id_is_404_in_the_error_shape(staff_client):
    error = assert_error(staff_client.get(detail_url(999999)), 404, "not_found")
    assert error["message"] == "No such voucher."
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


def test_create_stores_the_code_upper_cased(staff_client):
    response = staff_client.post(
        LIST_URL,
        body(
            code=" Summer-10_b ",
            min_subtotal="50",
            usage_limit=100,
            per_customer_limit=1,
            tiers=["silver", "gold"],
            starts_at="2026-06-01T00:00:00Z",
            ends_at="2026-09-01T00:00:00Z",
        ),
        format="json",
    )

    assert response.status_code == 201, response.content
    voucher = Voucher.objects.get()
    assert response.json() == {
        "id": voucher.pk,
        "code": "SUMMER-10_B",
        "name": "Summer",
        "kind": "percentage",
        "value": "10.00",
        "min_subtotal": "50.00",
        "starts_at": "2026-06-01T00:00:00Z",
        "ends_at": "2026-09-01T00:00:00Z",
        "usage_limit": 100,
        "per_customer_limit": 1,
        "tiers": ["silver", "gold"],
        "times_used": 0,
        "is_active": True,
    }
    assert voucher.code == "SUMMER-10_B"


def test_a_free_shipping_voucher_without_a_value_is_worth_0(staff_client):
    response = staff_client.post(
        LIST_URL, {"code": "shipfree", "kind": "free_shipping"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json() | {"id": None} == {
        "id": None,
        "code": "SHIPFREE",
        "name": "",
        "kind": "free_shipping",
        "value": "0.00",
        "min_subtotal": None,
        "starts_at": None,
        "ends_at": None,
        "usage_limit": None,
        "per_customer_limit": None,
        "tiers": [],
        "times_used": 0,
        "is_active": True,
    }


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("percentage", "0.01"),
        ("percentage", "100"),
        ("fixed", "0.01"),
        ("fixed", "9999999999.99"),
        ("free_shipping", "0"),
        ("free_shipping", "0.00"),
    ],
)
def test_values_that_fit_the_kind_are_taken(staff_client, kind, value):
    response = staff_client.post(LIST_URL, body(kind=kind, value=value), format="json")

    assert response.status_code == 201, response.content
    assert Voucher.objects.get().value == Decimal(value)


def test_times_used_is_never_written(staff_client, summer):
    Voucher.objects.filter(pk=summer.pk).update(times_used=2)

    created = staff_client.post(LIST_URL, body(times_used=7), format="json")
    patched = staff_client.patch(detail_url(summer.pk), {"times_used": 0}, format="json")

    assert (created.status_code, patched.status_code) == (201, 200)
    assert created.json()["times_used"] == 0
    assert patched.json()["times_used"] == 2
    assert Voucher.objects.get(pk=summer.pk).times_used == 2


def test_put_replaces_the_voucher_and_its_fields_left_out_take_their_defaults(staff_client):
    voucher = VoucherFactory(code="OLD", usage_limit=5, tiers=["gold"], min_subtotal=10)

    response = staff_client.put(
        detail_url(voucher.pk), {"code": "new", "kind": "fixed", "value": "4"}, format="json"
    )

    assert response.status_code == 200, response.content
    voucher.refresh_from_db()
    assert (voucher.code, voucher.kind, voucher.value, voucher.name) == (
        "NEW",
        "fixed",
        Decimal("4.00"),
        "",
    )
    assert (voucher.usage_limit, voucher.tiers, voucher.min_subtotal) == (None, [], None)


def test_patch_changes_only_what_it_sends(staff_client, summer):
    updated_at = summer.updated_at

    response = staff_client.patch(detail_url(summer.pk), {"usage_limit": 10}, format="json")

    assert response.status_code == 200, response.content
    summer.refresh_from_db()
    assert (summer.usage_limit, summer.code, summer.value) == (10, "SUMMER", Decimal("10.00"))
    assert summer.updated_at > updated_at


def test_patch_may_change_the_case_of_its_own_code(staff_client, summer):
    response = staff_client.patch(detail_url(summer.pk), {"code": "summer"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["code"] == "SUMMER"


def test_a_usage_limit_down_to_the_uses_counted_is_taken(staff_client, summer):
    Voucher.objects.filter(pk=summer.pk).update(times_used=3, usage_limit=10)

    response = staff_client.patch(detail_url(summer.pk), {"usage_limit": 3}, format="json")

    assert response.status_code == 200, response.content
    assert Voucher.objects.get(pk=summer.pk).usage_limit == 3


def test_a_usage_limit_below_the_uses_counted_is_refused(staff_client, summer):
    Voucher.objects.filter(pk=summer.pk).update(times_used=3, usage_limit=10)
    before = snapshot()

    patched = staff_client.patch(detail_url(summer.pk), {"usage_limit": 2}, format="json")
    replaced = staff_client.put(
        detail_url(summer.pk), body(code="SUMMER", usage_limit=1), format="json"
    )

    error = assert_refused(patched, "usage_limit")
    assert error["fields"]["usage_limit"] == [
        "Already used 3 times: the limit may not be below that."
    ]
    assert_refused(replaced, "usage_limit")
    assert snapshot() == before


def test_deleting_a_voucher_orders_used_keeps_their_code(staff_client, summer):
    order = OrderFactory(voucher=summer, voucher_code="SUMMER")
    Voucher.objects.filter(pk=summer.pk).update(times_used=1)

    response = staff_client.delete(detail_url(summer.pk))

    assert response.status_code == 204
    assert not Voucher.objects.exists()
    order = Order.objects.get(pk=order.pk)
    assert (order.voucher, order.voucher_code) == (None, "SUMMER")


# --- Refusals: 400, naming the field, nothing changed ----------------------------------------


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"code": ""}, "code"),
        ({"code": "   "}, "code"),
        ({"code": None}, "code"),
        ({"code": "summer 10"}, "code"),
        ({"code": "summer.10"}, "code"),
        ({"code": "ünï"}, "code"),
        ({"code": "straße"}, "code"),  # "ß".upper() is "SS": checked before upper-casing.
        ({"code": "c" * 65}, "code"),
        ({"code": "c" * 10_000}, "code"),
        ({"code": "SUMMER"}, "code"),
        ({"code": "Summer"}, "code"),
        ({"kind": "bogus"}, "kind"),
        ({"kind": None}, "kind"),
        ({"value": "0"}, "value"),
        ({"value": "-1"}, "value"),
        ({"value": "100.01"}, "value"),
        ({"value": "abc"}, "value"),
        ({"value": "NaN"}, "value"),
        ({"value": None}, "value"),
        ({"kind": "fixed", "value": "0"}, "value"),
        ({"kind": "fixed", "value": "1.005"}, "value"),
        ({"kind": "fixed", "value": "10000000000"}, "value"),
        ({"kind": "free_shipping", "value": "5"}, "value"),
        ({"kind": "free_shipping", "value": "0.01"}, "value"),
        ({"min_subtotal": "-0.01"}, "min_subtotal"),
        ({"min_subtotal": "1.001"}, "min_subtotal"),
        ({"min_subtotal": "10000000000"}, "min_subtotal"),
        ({"usage_limit": 0}, "usage_limit"),
        ({"usage_limit": -1}, "usage_limit"),
        ({"usage_limit": 2**31}, "usage_limit"),
        ({"usage_limit": "many"}, "usage_limit"),
        ({"per_customer_limit": 0}, "per_customer_limit"),
        ({"per_customer_limit": 2**31}, "per_customer_limit"),
        ({"starts_at": "2026-06-01T00:00:00Z", "ends_at": "2026-06-01T00:00:00Z"}, "ends_at"),
        ({"starts_at": "2026-06-02T00:00:00Z", "ends_at": "2026-06-01T00:00:00Z"}, "ends_at"),
        ({"ends_at": "yesterday"}, "ends_at"),
        ({"starts_at": "0001-01-01T00:00:00+01:00"}, "starts_at"),
        ({"tiers": ["platinum"]}, "tiers"),
        ({"tiers": ["gold", "silver", "gold"]}, "tiers"),
        ({"tiers": None}, "tiers"),
        ({"name": "n" * 129}, "name"),
        ({"is_active": "maybe"}, "is_active"),
    ],
    ids=lambda value: str(value)[:40] if isinstance(value, str) else None,
)
def test_an_invalid_voucher_is_refused_and_nothing_is_created(staff_client, summer, values, field):
    other = VoucherFactory(code="OTHER")
    before = snapshot()

    created = staff_client.post(LIST_URL, body(**values), format="json")
    replaced = staff_client.put(detail_url(other.pk), body(**values), format="json")

    assert_refused(created, field)
    assert_refused(replaced, field)
    assert snapshot() == before


def test_a_code_taken_in_another_case_is_refused(staff_client, summer):
    error = assert_refused(staff_client.post(LIST_URL, body(code="sUmMeR"), format="json"), "code")

    assert error["fields"]["code"] == [
        "A voucher with this code already exists (codes are compared ignoring case)."
    ]
    assert Voucher.objects.count() == 1


@pytest.mark.parametrize("missing", ["code", "kind"])
def test_a_new_voucher_needs_a_code_and_a_kind(staff_client, missing):
    values = body()
    del values[missing]

    assert_refused(staff_client.post(LIST_URL, values, format="json"), missing)

    assert not Voucher.objects.exists()


def test_a_percentage_or_fixed_voucher_needs_a_value(staff_client):
    """A value left out is 0, which only free shipping takes."""
    error = assert_refused(
        staff_client.post(LIST_URL, {"code": "x", "kind": "fixed"}, format="json"), "value"
    )

    assert error["fields"]["value"] == ["Must be greater than 0."]


@pytest.mark.parametrize(
    ("stored", "sent", "field"),
    [
        ({"kind": "fixed", "value": Decimal("150")}, {"kind": "percentage"}, "kind"),
        ({"kind": "percentage", "value": Decimal("10")}, {"kind": "free_shipping"}, "kind"),
        ({"kind": "free_shipping", "value": Decimal("0")}, {"value": "5"}, "value"),
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
    ids=["percentage-of-150", "free-shipping-worth-10", "value", "ends", "starts"],
)
def test_a_patch_is_checked_with_the_stored_fields_it_leaves_out(staff_client, stored, sent, field):
    voucher = VoucherFactory(**stored)
    before = snapshot()

    error = assert_refused(staff_client.patch(detail_url(voucher.pk), sent, format="json"), field)

    assert list(error["fields"]) == [field]
    assert snapshot() == before


# --- Under a race --------------------------------------------------------------------------


def staff_api_client() -> APIClient:
    client = APIClient()
    client.force_authenticate(StaffFactory())
    return client


@pytest.mark.django_db(transaction=True)
def test_a_code_taken_by_a_concurrent_write_is_the_same_400():
    """The serializer finds SUMMER10 free (the other write has not committed); the insert
    then waits on the unique index, fails once the other commits, and is reported as the
    check would have, though the codes were sent in different cases."""
    client = staff_api_client()

    def take_code(hold) -> None:
        with transaction.atomic():
            VoucherFactory(code="SUMMER10", name="First")
            hold()

    taken, response = run_blocked_behind(
        take_code, lambda: client.post(LIST_URL, body(code="summer10"), format="json")
    )

    assert taken.error is None, taken.error
    assert response.error is None, response.error
    assert_refused(response.value, "code")
    assert list(Voucher.objects.values_list("code", "name")) == [("SUMMER10", "First")]


@pytest.mark.django_db(transaction=True)
def test_a_use_claimed_by_a_concurrent_checkout_refuses_a_lower_limit_with_a_400():
    """The serializer sees 2 uses and takes a limit of 2; a checkout claiming a third holds
    the voucher's row meanwhile. The write locks the row before checking again, so it waits
    for the checkout, then sees 3 uses and refuses: 400 on usage_limit, not the check
    constraint's IntegrityError (a 500)."""
    voucher = VoucherFactory(code="SUMMER", usage_limit=10, times_used=2)
    client = staff_api_client()

    def claim_a_use(hold) -> None:
        with transaction.atomic():
            claimed = Voucher.objects.filter(pk=voucher.pk, times_used__lt=F("usage_limit")).update(
                times_used=F("times_used") + 1
            )
            assert claimed == 1
            hold()

    claimed, response = run_blocked_behind(
        claim_a_use,
        lambda: client.patch(detail_url(voucher.pk), {"usage_limit": 2}, format="json"),
    )

    assert claimed.error is None, claimed.error
    assert response.error is None, response.error
    error = assert_refused(response.value, "usage_limit")
    assert error["fields"]["usage_limit"] == [
        "Already used 3 times: the limit may not be below that."
    ]
    voucher.refresh_from_db()
    assert (voucher.times_used, voucher.usage_limit) == (3, 10)
