"""Sweeps of the whole API with bad input: whatever the endpoint, the answer is never a 500.

- OPTIONS on every URL under /api/ (from the URL patterns), as an anonymous visitor, a
  customer and staff, with ids that exist and ids that do not;
- a NUL and a lone surrogate in every string field of every JSON write endpoint (from the
  OpenAPI schema), and in a key: 400 `invalid` naming the field, nothing changed;
- a NUL in every query parameter of every read endpoint, and in the headers that reach the
  database.
"""

import json
import re
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.urls import URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from knox.models import AuthToken
from rest_framework.test import APIClient

from storefront.accounts.models import Address, User
from storefront.accounts.tests.factories import AddressFactory, StaffFactory, UserFactory
from storefront.carts.models import Cart, CartItem
from storefront.carts.tests.factories import CartItemFactory, GuestCartFactory
from storefront.catalog.models import (
    Category,
    Collection,
    Product,
    ProductImage,
    ProductVariant,
    Tag,
)
from storefront.catalog.tests.factories import (
    CategoryFactory,
    CollectionFactory,
    ProductFactory,
    ProductImageFactory,
    TagFactory,
    VariantFactory,
)
from storefront.orders import guest_access
from storefront.orders.models import Order, OrderEvent
from storefront.orders.tests.factories import OrderFactory
from storefront.pricing.models import (
    MembershipTier,
    Promotion,
    ShippingMethod,
    ShippingZone,
    TaxRate,
    Voucher,
)
from storefront.webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

# Every object a path can name is created with this id (far above what the sequences hand
# out in a test run); MISSING names nothing.
EXISTING = 900_001
MISSING = 899_999
BAD_STRINGS = {
    "a\x00b": "Null characters are not allowed.",
    "a\ud800b": "Surrogate characters are not allowed: U+D800.",
}
CONVERTER = re.compile(r"<(?:(?P<kind>\w+):)?(?P<name>\w+)>")
# The guest order of build_world, opened by guest_access.access_token of this number.
GUEST_ORDER_NUMBER = "SF-SWEEP-00001"
SCHEMA_PARAMETER = re.compile(r"\{(?P<name>\w+)\}")


def build_world(owner: User) -> Cart:
    """One of each kind of object under id EXISTING, the owner's where that applies; return
    a guest cart."""
    category = CategoryFactory(id=EXISTING)
    CollectionFactory(id=EXISTING)
    TagFactory(id=EXISTING)
    product = ProductFactory(id=EXISTING, category=category)
    variant = VariantFactory(id=EXISTING, product=product)
    ProductImageFactory(id=EXISTING, product=product)
    AddressFactory(id=EXISTING, customer=owner)
    CartItemFactory(id=EXISTING, cart=owner.cart, variant=variant)
    OrderFactory(id=EXISTING, customer=owner)
    ShippingZone.objects.create(id=EXISTING, name="Sweep zone")
    TaxRate.objects.create(id=EXISTING, country="FR", rate=Decimal("0.2000"), name="VAT")
    # One tier per membership (migration 0003 made gold, or a flush removed it): gold again,
    # under the id the paths name.
    MembershipTier.objects.filter(code="gold").delete()
    MembershipTier.objects.create(
        id=EXISTING, code="gold", name="Gold", discount_percentage=Decimal("10")
    )
    Promotion.objects.create(
        id=EXISTING, code="sweep", name="Sweep", kind="percentage", value=Decimal("10")
    ).tags.set([EXISTING])
    Voucher.objects.create(
        id=EXISTING, code="SWEEP", kind="fixed", value=Decimal("5"), usage_limit=10
    )
    WebhookEndpoint.objects.create(
        id=EXISTING, url="https://erp.example.com/hooks", secret="s" * 32, events=["order.placed"]
    )
    OrderFactory(
        number=GUEST_ORDER_NUMBER,
        customer=None,
        email="guest@example.com",
        guest_cart_token=uuid.uuid4(),
        access_token_digest=guest_access.digest(guest_order_token()),
    )
    return GuestCartFactory()


def guest_order_token() -> str:
    return guest_access.access_token(order_number=GUEST_ORDER_NUMBER)


def token_client(user: User | None) -> APIClient:
    """A client authenticated as a real API client is: with a knox token."""
    client = APIClient(raise_request_exception=False)
    if user is not None:
        _, token = AuthToken.objects.create(user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def api_routes(patterns=None, prefix: str = "") -> Iterator[str]:
    """The route of every URL pattern, e.g. "api/carts/<uuid:token>/items/<int:item_id>/"."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from api_routes(pattern.url_patterns, route)
        elif route.startswith("api/"):
            yield route


def concrete_paths(route: str, token: str) -> list[str]:
    """The route with its ids filled in: once with objects that exist, once with none."""

    def fill(ids: int, uuid: str):
        def value(match: re.Match) -> str:
            if match["name"] == "access_token":
                return guest_order_token() if ids == EXISTING else "0" * 64
            return uuid if match["kind"] == "uuid" else str(ids)

        return "/" + CONVERTER.sub(value, route)

    paths = [fill(EXISTING, token), fill(MISSING, "00000000-0000-4000-8000-000000000000")]
    return sorted(set(paths))


def assert_error_shape(response) -> None:
    error = response.json()["error"]
    assert error["status"] == response.status_code
    assert isinstance(error["code"], str) and isinstance(error["message"], str)


# --- OPTIONS ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["anonymous", "customer", "staff"])
def test_options_on_every_api_url_never_answers_500(role):
    customer = UserFactory()
    guest_cart = build_world(owner=customer)
    user = {"anonymous": None, "customer": customer, "staff": StaffFactory()}[role]
    client = token_client(user)
    routes = list(api_routes())
    assert len(routes) > 30, "the URL patterns were not found"

    failures = []
    for route in routes:
        for path in concrete_paths(route, str(guest_cart.token)):
            response = client.options(path)
            if response.status_code >= 500:
                failures.append((path, response.status_code))
            elif response.status_code >= 400:
                assert_error_shape(response)
    assert not failures, failures


def test_options_describes_the_write_body_of_a_customers_own_address():
    customer = UserFactory()
    build_world(owner=customer)
    response = token_client(customer).options(f"/api/me/addresses/{EXISTING}/")
    assert response.status_code == 200
    assert "street" in response.json()["actions"]["PUT"]


def test_options_on_another_customers_address_is_a_404_like_get():
    build_world(owner=UserFactory())
    client = token_client(UserFactory())
    for method in (client.options, client.get):
        response = method(f"/api/me/addresses/{EXISTING}/")
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "Address not found."


# --- Strings that no text column can store ----------------------------------------------


def schema_path(template: str, token: str) -> str:
    """A schema path ("/api/carts/{token}/items/{id}/") naming the objects of build_world."""
    named = {"token": token, "access_token": guest_order_token()}
    return SCHEMA_PARAMETER.sub(lambda match: named.get(match["name"], str(EXISTING)), template)


def snapshot() -> dict:
    """What any write would change: the rows of each model, with their update times."""
    models = [User, Address, Cart, CartItem, Category, Collection, Tag, Product, ProductVariant]
    models += [ProductImage, Order, OrderEvent, ShippingZone, ShippingMethod, TaxRate]
    models += [MembershipTier, Promotion, Promotion.tags.through, Voucher]
    return {model.__name__: sorted(map(str, model.objects.values_list())) for model in models}


def json_write_operations(schema: dict) -> Iterator[tuple[str, str, dict]]:
    """(path template, method, request body schema) of every JSON write in the schema."""
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if method in ("post", "put", "patch") and "application/json" in content:
                yield path, method, content["application/json"]["schema"]


def string_fields(
    schema: dict, components: dict, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[str | int, ...]]:
    """The path of every place in a body schema that takes a string (or any JSON value)."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    for part in schema.get("allOf", []) + schema.get("oneOf", []):
        yield from string_fields(part, components, path)
    kind = schema.get("type")
    if "properties" in schema:
        for name, field in schema["properties"].items():
            if not field.get("readOnly"):
                yield from string_fields(field, components, (*path, name))
    elif kind == "array":
        yield from string_fields(schema["items"], components, (*path, 0))
    elif kind == "string" or (kind is None and "allOf" not in schema and "oneOf" not in schema):
        yield path


def body_at(path: tuple[str | int, ...], value: Any) -> Any:
    """The smallest JSON value holding `value` at `path` (ints are list indexes, all 0)."""
    for key in reversed(path):
        value = [value] if isinstance(key, int) else {key: value}
    return value


def send_json(client: APIClient, method: str, path: str, body: Any):
    """Send `body` as JSON bytes that spell NUL and surrogates as escapes, as clients do."""
    return client.generic(method.upper(), path, json.dumps(body), content_type="application/json")


def error_at(path: tuple[str | int, ...], message: str) -> dict:
    """The `fields` of an error at `path`, as JSON renders it (list indexes become keys)."""
    detail: Any = [message]
    for key in reversed(path):
        detail = {str(key): detail}
    return detail


def test_every_string_field_of_every_json_write_refuses_nul_and_lone_surrogates(settings):
    # Hundreds of requests from one client address: the rate limits off (what they answer is
    # tested on its own), or the guest checkout's would answer 429 midway.
    rates = dict.fromkeys(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    staff = StaffFactory()
    guest_cart = build_world(owner=staff)
    client = token_client(staff)
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    operations = list(json_write_operations(schema))
    assert len(operations) > 15, "the write endpoints were not found"

    before = snapshot()
    failures, fields_tried = [], 0
    for template, method, body_schema in operations:
        path = schema_path(template, str(guest_cart.token))
        for field in string_fields(body_schema, components):
            fields_tried += 1
            for bad, message in BAD_STRINGS.items():
                response = send_json(client, method, path, body_at(field, bad))
                expected = {
                    "status": 400,
                    "code": "invalid",
                    "message": f"{'.'.join(map(str, field))}: {message}",
                    "fields": error_at(field, message),
                }
                if response.status_code != 400 or response.json()["error"] != expected:
                    failures.append((method, path, field, response.status_code))
        for bad, message in BAD_STRINGS.items():
            response = send_json(client, method, path, {bad: "x"})
            if response.status_code != 400 or response.json()["error"]["message"] != (
                f"In a key: {message}"
            ):
                failures.append((method, path, "<key>", response.status_code))
    assert fields_tried > 40
    assert not failures, failures
    assert snapshot() == before


def query_parameters(schema: dict, token: str) -> Iterator[tuple[str, str]]:
    """(path, name) of every query parameter of every GET in the schema, ids filled in."""
    for template, operations in schema["paths"].items():
        path = schema_path(template, token)
        for parameter in operations.get("get", {}).get("parameters", []):
            if parameter["in"] == "query":
                yield path, parameter["name"]


# What a NUL, an extreme number or a date at the ends of the calendar do to any parameter.
EXTREME_QUERY_VALUES = [
    "a\x00b",
    "1e-16384",
    "-1e-99999",
    "1e99999",
    "-1e99999",
    "9" * 400,
    "-9223372036854775809",
    "0001-01-01",
    "9999-12-31",
    "NaN",
]


def test_every_query_parameter_with_a_nul_or_an_extreme_value_is_never_a_500():
    staff = StaffFactory()
    guest_cart = build_world(owner=staff)
    client = token_client(staff)
    schema = SchemaGenerator().get_schema(request=None, public=True)
    parameters = list(query_parameters(schema, str(guest_cart.token)))
    names = {name for _, name in parameters}
    assert {"min_price", "max_price", "page", "limit", "date_from", "placed_after"} <= names

    failures = []
    for path, name in parameters:
        for value in EXTREME_QUERY_VALUES:
            response = client.get(path, {name: value})
            if response.status_code >= 500:
                failures.append((path, name, value, response.status_code))
            elif response.status_code >= 400:
                assert_error_shape(response)
    assert not failures, failures


@pytest.mark.parametrize("search", ["a\x00b", "%00"])
def test_a_product_search_with_a_nul_is_a_400(search):
    response = APIClient().get("/api/products/", {"search": search.replace("%00", "\x00")})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"search": ["Null characters are not allowed."]}


def test_a_surrogate_encoded_in_a_query_string_is_replaced_not_a_500():
    # Percent-decoding turns bytes that are not UTF-8 (an encoded surrogate) into U+FFFD.
    response = APIClient().get("/api/products/?search=%ED%A0%80")
    assert response.status_code == 200


def test_an_api_token_with_a_nul_is_a_401():
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION="Token abc\x00def")
    response = client.get("/api/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_an_idempotency_key_with_a_nul_is_a_400():
    customer = UserFactory()
    CartItemFactory(cart=customer.cart)
    client = token_client(customer)
    body = {
        "shipping_address": "1 Main St",
        "billing_address": "1 Main St",
        "phone_number": "+1 555 0100",
    }
    response = client.post("/api/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k\x00")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["Idempotency-Key"]
    assert not customer.orders.exists()
