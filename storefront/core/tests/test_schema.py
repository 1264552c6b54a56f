"""The OpenAPI schema documents how every operation fails (storefront/core/api/schema.py)."""

import re

import pytest
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from storefront.core.api.schema import NOT_BLANK_PATTERN

ERROR_REF = {"$ref": "#/components/schemas/Error"}
PUBLIC_READS = [
    "/api/products/",
    "/api/products/{id}/",
    "/api/categories/",
    "/api/categories/{id}/",
    "/api/collections/",
    "/api/collections/{id}/",
    "/api/tags/",
    "/api/tags/{id}/",
]


@pytest.fixture(scope="module")
def schema() -> dict:
    GENERATOR_STATS.reset()
    generated = SchemaGenerator().get_schema(request=None, public=True)
    assert not GENERATOR_STATS, "drf-spectacular warned while generating the schema"
    return generated


def operations(schema: dict):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method.upper(), operation


def test_the_schema_is_valid_openapi(schema):
    validate_schema(schema)


def test_openapi_schema_of_the_whole_api_has_no_warnings(db, tmp_path):
    # --fail-on-warn turns any drf-spectacular warning (an undocumented view, an enum clash)
    # into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "s.yaml")
    assert "/api/orders/" in (tmp_path / "s.yaml").read_text()


def test_api_docs_render_with_local_assets(db, client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    # Every script and stylesheet is served by the shop itself: no absolute URL, so no CDN.
    # (Not a substring search for "cdn": the page's random CSRF token can contain it.)
    assets = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert any(asset.endswith(".js") for asset in assets), assets
    assert [asset for asset in assets if "//" in asset] == []


def test_every_error_answer_is_documented_in_the_one_error_shape(schema):
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                body = response["content"]["application/json"]["schema"]
                assert body == ERROR_REF, (method, path, status)
                assert response["description"], (method, path, status)
    error = schema["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"status", "code", "message"}


def test_every_operation_documents_what_its_shape_implies(schema):
    for path, method, operation in operations(schema):
        statuses = set(operation["responses"])
        where = (method, path)
        assert {"414", "431", "503"} <= statuses, where  # gunicorn's refusals; an outage
        if method in {"POST", "PUT", "PATCH"}:
            assert {"400", "415"} <= statuses, where
        if "{" in path:
            assert "404" in statuses, where
        public = path in {
            "/",
            "/api/",
            "/api/health/",
            "/api/auth/register/",
            "/api/auth/token/",
            "/api/auth/password-reset/",
            "/api/auth/password-reset/confirm/",
            "/api/auth/verify-email/",
            "/api/carts/{token}/checkout/",
            "/api/carts/{token}/quote/",
            "/api/guest-orders/{access_token}/",
            "/api/guest-orders/{access_token}/cancel/",
            "/api/guest-orders/{access_token}/pay/",
            # Signed by Stripe, or answered with the client secret (the sandbox's 3-D Secure).
            "/api/payments/stripe/webhook/",
            "/api/payments/sandbox/confirm/",
        }
        assert ("401" in statuses) != public, where


@pytest.mark.parametrize(
    ("path", "method", "status", "codes"),
    [
        ("/api/orders/", "post", "400", ["invalid", "empty_cart", "payment_method_unavailable"]),
        ("/api/orders/", "post", "409", ["out_of_stock"]),
        ("/api/orders/", "post", "422", ["idempotency_key_reused"]),
        ("/api/orders/{order_id}/pay/", "post", "402", ["payment_declined"]),
        ("/api/orders/{order_id}/pay/", "post", "409", ["payment_not_allowed"]),
        ("/api/orders/{order_id}/status/", "post", "409", ["payment_required"]),
        ("/api/cart/items/", "post", "400", ["cart_lines_limit_exceeded"]),
        ("/api/cart/merge/", "post", "404", ["not_found"]),
        ("/api/auth/token/", "post", "400", ["invalid_credentials"]),
        ("/api/auth/token/", "post", "429", ["throttled"]),
        ("/api/auth/register/", "post", "429", ["throttled"]),
        ("/api/carts/", "post", "429", ["throttled"]),
        ("/api/auth/password-reset/", "post", "429", ["throttled"]),
        ("/api/auth/password-reset/confirm/", "post", "400", ["invalid", "invalid_token"]),
        ("/api/auth/verify-email/", "post", "400", ["invalid", "invalid_token"]),
        ("/api/auth/verify-email/resend/", "post", "429", ["throttled"]),
        ("/api/me/password/", "post", "429", ["throttled"]),
        ("/api/orders/", "post", "403", ["email_not_verified"]),
        ("/api/carts/{token}/checkout/", "post", "409", ["out_of_stock"]),
        ("/api/carts/{token}/checkout/", "post", "422", ["idempotency_key_reused"]),
        ("/api/carts/{token}/checkout/", "post", "429", ["throttled"]),
        ("/api/orders/", "post", "400", ["invalid", "shipping_method_unavailable"]),
        ("/api/orders/", "post", "409", ["out_of_stock", "price_changed"]),
        ("/api/carts/{token}/checkout/", "post", "409", ["out_of_stock", "price_changed"]),
        ("/api/checkout/quote/", "post", "400", ["invalid", "shipping_method_unavailable"]),
        ("/api/carts/{token}/quote/", "post", "404", ["not_found"]),
        ("/api/carts/{token}/quote/", "post", "429", ["throttled"]),
        ("/api/guest-orders/{access_token}/pay/", "post", "402", ["payment_declined"]),
        ("/api/guest-orders/{access_token}/", "get", "404", ["not_found"]),
        ("/api/products/", "get", "400", ["invalid"]),
        ("/api/categories/", "get", "400", ["invalid"]),
        ("/api/products/", "get", "404", ["not_found"]),
        ("/api/products/", "post", "403", ["permission_denied"]),
        ("/api/membership-tiers/", "get", "403", ["permission_denied"]),
        ("/api/membership-tiers/{id}/", "patch", "400", ["invalid"]),
        ("/api/promotions/", "post", "400", ["invalid"]),
        ("/api/promotions/{id}/", "put", "404", ["not_found"]),
        ("/api/vouchers/", "post", "400", ["invalid"]),
        ("/api/vouchers/{id}/", "patch", "401", ["not_authenticated"]),
    ],
)
def test_operations_document_the_codes_they_answer(schema, path, method, status, codes):
    description = schema["paths"][path][method]["responses"][status]["description"]
    for code in codes:
        assert f"`{code}`" in description


def test_public_catalog_reads_need_no_authentication_and_writes_do(schema):
    for path in PUBLIC_READS:
        assert {} in schema["paths"][path]["get"]["security"], path
    for path, method in [("/api/products/", "post"), ("/api/products/{id}/", "patch")]:
        assert {} not in schema["paths"][path][method]["security"], path
    assert {} not in schema["paths"]["/api/orders/"]["get"]["security"]


def test_the_cart_item_patch_requires_its_quantity(schema):
    for path in ("/api/cart/items/{item_id}/", "/api/carts/{token}/items/{item_id}/"):
        body = schema["paths"][path]["patch"]["requestBody"]
        assert body["required"] is True
        name = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert schema["components"]["schemas"][name]["required"] == ["quantity"]


def test_checkout_addresses_are_an_object_text_with_its_limit_or_an_address_id(schema):
    components = schema["components"]["schemas"]
    fields = components["PlaceOrderRequest"]["properties"]
    for name in ("shipping_address", "billing_address"):
        postal, text, address_id = fields[name]["oneOf"]
        assert postal == {"$ref": "#/components/schemas/PostalAddressRequest"}
        assert (text["type"], text["minLength"], text["maxLength"]) == ("string", 1, 2000)
        assert (address_id["type"], address_id["minimum"]) == ("integer", 1)
    assert set(components["PlaceOrderRequest"]["required"]) == {"shipping_address", "phone_number"}
    postal = components["PostalAddressRequest"]
    assert set(postal["required"]) == {"full_name", "line1", "city", "postal_code", "country"}
    [country] = postal["properties"]["country"]["allOf"]
    assert len(components[country["$ref"].rsplit("/", 1)[1]]["enum"]) == 249  # ISO 3166-1
    # A guest has no address book: an object or text.
    guest = components["GuestCheckoutRequest"]["properties"]["shipping_address"]["oneOf"]
    assert guest == fields["shipping_address"]["oneOf"][:2]


def test_request_shapes_say_what_the_server_refuses(schema):
    components = schema["components"]["schemas"]
    product = components["ProductWriteRequest"]["properties"]
    assert product["variants"]["minItems"] == 1  # allow_empty=False
    # A price: 1-10 digits, optionally 1-2 decimals, no sign (min_value 0); never "" or ".".
    assert components["VariantWriteRequest"]["properties"]["price"]["pattern"] == (
        r"^\d{1,10}(?:\.\d{1,2})?$"
    )
    [key] = schema["paths"]["/api/orders/"]["post"]["parameters"]
    assert (key["name"], key["schema"]["maxLength"]) == ("Idempotency-Key", 255)
    products = schema["paths"]["/api/products/"]["get"]["parameters"]
    parameters = {p["name"]: p["schema"]["anyOf"][0] for p in products if "anyOf" in p["schema"]}
    assert parameters["page_size"]["minimum"] == 1
    assert parameters["min_price"]["pattern"] == r"^([0-9]{1,50}(\.[0-9]{1,2})?)?$"
    # Stripped, then not blank: at least one character that str.strip keeps.
    assert components["AddressRequest"]["properties"]["street"]["pattern"] == NOT_BLANK_PATTERN
    assert re.search(NOT_BLANK_PATTERN, "\x1f\x85 \t") is None
    assert all(re.search(NOT_BLANK_PATTERN, text) for text in ("a", " a ", "\ufeffa"))


def test_an_empty_optional_query_parameter_is_documented_as_taken(schema):
    # `?placed_after=` reads as no bound, so the schema says "a date, or empty".
    parameters = {p["name"]: p for p in schema["paths"]["/api/orders/"]["get"]["parameters"]}
    assert parameters["placed_after"]["schema"]["anyOf"] == [
        {"type": "string", "format": "date"},
        {"type": "string", "maxLength": 0},
    ]


def test_membership_tiers_are_read_and_updated_never_added_or_deleted(schema):
    """The tiers are the accounts' memberships (storefront/pricing/api/tiers.py): no POST
    and no DELETE is documented (the server answers them 405)."""
    assert set(schema["paths"]["/api/membership-tiers/"]) == {"get"}
    assert set(schema["paths"]["/api/membership-tiers/{id}/"]) == {"get", "put", "patch"}
    for path in ("/api/promotions/", "/api/vouchers/"):
        assert set(schema["paths"][path]) == {"get", "post"}
        assert set(schema["paths"][path.rstrip("/") + "/{id}/"]) == {
            "get",
            "put",
            "patch",
            "delete",
        }


def test_discounts_name_the_memberships_with_the_accounts_enum(schema):
    """tiers.py and promotions.py point tier codes and `tiers` at the one MembershipEnum
    (a second name for the same three memberships would be a drf-spectacular warning)."""
    components = schema["components"]["schemas"]
    membership = {"$ref": "#/components/schemas/MembershipEnum"}
    for name in ("Promotion", "PromotionRequest", "Voucher", "PatchedVoucherRequest"):
        assert components[name]["properties"]["tiers"]["items"] == membership, name
    assert components["MembershipTier"]["properties"]["code"]["allOf"] == [membership]
    assert components["MembershipEnum"]["enum"] == ["bronze", "silver", "gold"]
    assert components["VoucherRequest"]["properties"]["code"]["pattern"] == "^[A-Za-z0-9_-]+$"
