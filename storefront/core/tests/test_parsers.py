"""The API's JSON parser: bodies too deep, numbers out of range and unstorable strings are a
400 in the error shape, on every JSON endpoint, anonymous or not, and change nothing."""

import io

import pytest
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.test import APIClient

from storefront.accounts.models import User
from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.carts.models import CartItem
from storefront.carts.tests.factories import GuestCartFactory
from storefront.catalog.models import Product
from storefront.catalog.tests.factories import CategoryFactory, VariantFactory
from storefront.core.api.parsers import MAX_JSON_DEPTH, JSONParser

pytestmark = pytest.mark.django_db


def nested(depth: int) -> bytes:
    """A JSON object whose `variant_id` is `depth` - 1 nested arrays: `depth` levels in all."""
    return b'{"variant_id": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


def parse(raw: bytes):
    return JSONParser().parse(io.BytesIO(raw), "application/json", {})


@pytest.fixture
def endpoints():
    """(client, path) of JSON endpoints: anonymous, guest, customer and staff ones."""
    customer, staff = UserFactory(), StaffFactory()
    customer_client, staff_client = APIClient(), APIClient()
    customer_client.force_authenticate(customer)
    staff_client.force_authenticate(staff)
    guest_cart = GuestCartFactory()
    return [
        (APIClient(), "/api/auth/register/"),
        (APIClient(), "/api/auth/token/"),
        (APIClient(), f"/api/carts/{guest_cart.token}/items/"),
        (customer_client, "/api/cart/items/"),
        (customer_client, "/api/orders/"),
        (customer_client, "/api/me/addresses/"),
        (staff_client, "/api/products/"),
        (staff_client, "/api/categories/"),
    ]


def post_raw(client: APIClient, path: str, raw: bytes):
    return client.generic("POST", path, raw, content_type="application/json")


def assert_nothing_written():
    assert CartItem.objects.count() == 0
    assert Product.objects.count() == 0
    # The fixture's customer and staff user only.
    assert User.objects.count() == 2


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_a_body_nested_1000_levels_or_more_is_a_parse_error_on_every_json_endpoint(
    endpoints, depth
):
    for client, path in endpoints:
        response = post_raw(client, path, nested(depth))

        assert response.status_code == 400, (path, response.content)
        assert response.json()["error"] == {
            "status": 400,
            "code": "parse_error",
            "message": f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.",
        }
    assert_nothing_written()


def test_a_body_just_past_the_depth_limit_is_refused_though_python_could_parse_it(endpoints):
    for client, path in endpoints:
        response = post_raw(client, path, nested(MAX_JSON_DEPTH + 1))
        assert response.status_code == 400, path
        assert response.json()["error"]["code"] == "parse_error"
    assert_nothing_written()


def test_a_body_at_the_depth_limit_reaches_the_view():
    # 32 levels parse; the view then judges the value (not an int: 400 on variant_id).
    assert isinstance(parse(nested(MAX_JSON_DEPTH))["variant_id"], list)
    response = post_raw(APIClient(), "/api/auth/token/", nested(MAX_JSON_DEPTH))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_a_deep_product_write_body_is_refused_before_any_serializer_walks_it():
    staff_client = APIClient()
    staff_client.force_authenticate(StaffFactory())
    attributes = b"[" * 5_000 + b"]" * 5_000
    body = (
        b'{"name": "Shirt", "slug": "shirt", "category": %d, "variants": [{"sku": "S", '
        b'"price": "1.00", "attributes": {"Size": %s}}]}' % (CategoryFactory().pk, attributes)
    )
    response = post_raw(staff_client, "/api/products/", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert Product.objects.count() == 0


@pytest.mark.parametrize("number", [b"1e999", b"-1e400"])
def test_a_number_too_large_for_a_float_is_a_parse_error(number):
    staff_client = APIClient()
    staff_client.force_authenticate(StaffFactory())
    variant = VariantFactory(attributes={"Size": "M"})
    body = b'{"variants": [{"id": %d, "attributes": {"Weight": %s}}]}' % (variant.pk, number)

    response = staff_client.generic(
        "PATCH", f"/api/products/{variant.product_id}/", body, content_type="application/json"
    )

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "parse_error"
    assert error["message"] == f"JSON parse error - Number out of range: {number.decode()}"
    variant.refresh_from_db()
    assert variant.attributes == {"Size": "M"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (rb'"a\u0000b"', "Null characters are not allowed."),
        (rb'"\ud800"', "Surrogate characters are not allowed: U+D800."),
        (rb'"\udfff x"', "Surrogate characters are not allowed: U+DFFF."),
    ],
)
def test_a_top_level_string_that_text_cannot_store_is_refused(raw, message):
    with pytest.raises(ValidationError) as raised:
        parse(raw)
    assert raised.value.detail == {"non_field_errors": [message]}


def test_an_unstorable_value_is_reported_where_it_is():
    with pytest.raises(ValidationError) as raised:
        parse(rb'{"variants": [{"sku": "A"}, {"attributes": {"Color": ["red", "\u0000"]}}]}')
    assert raised.value.detail == {
        "variants": {1: {"attributes": {"Color": {1: ["Null characters are not allowed."]}}}}
    }


def test_an_unstorable_key_is_reported_at_its_object():
    with pytest.raises(ValidationError) as raised:
        parse(rb'{"variants": [{"attributes": {"\ud83d": "M"}}]}')
    assert raised.value.detail == {
        "variants": {0: {"attributes": ["In a key: Surrogate characters are not allowed: U+D83D."]}}
    }


def test_a_surrogate_pair_is_one_character_and_is_kept():
    assert parse(rb'{"name": "\ud83d\ude00", "\ud83d\ude00": 1}') == {"name": "😀", "😀": 1}


def test_ordinary_json_parses_as_before():
    raw = b'{"a": [1, 2.5, -3e10, true, null, "t\\u00e9xt"], "b": {"c": "\\n"}}'
    assert parse(raw) == {"a": [1, 2.5, -3e10, True, None, "téxt"], "b": {"c": "\n"}}


@pytest.mark.parametrize("raw", [b"{", b"NaN", b'{"a": Infinity}', b'"\xed\xa0\x80"'])
def test_malformed_json_is_still_a_parse_error(raw):
    with pytest.raises(ParseError):
        parse(raw)


def test_an_unstorable_string_is_a_400_naming_the_field_and_changes_nothing():
    response = post_raw(
        APIClient(),
        "/api/auth/register/",
        rb'{"email": "ada@example.com", "password": "a long passphrase", "first_name": "A\u0000"}',
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "status": 400,
        "code": "invalid",
        "message": "first_name: Null characters are not allowed.",
        "fields": {"first_name": ["Null characters are not allowed."]},
    }
    assert not User.objects.exists()
