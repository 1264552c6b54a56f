"""GET /api/variants/?sku=... (SKU lookup) and PATCH /api/variants/stock/ (stock sync)."""

from decimal import Decimal
from functools import partial

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator

from storefront.catalog import services
from storefront.catalog.models import Product, ProductVariant
from storefront.catalog.tests.factories import ProductFactory, VariantFactory
from storefront.catalog.tests.helpers import LIST_URL, assert_error, detail_url, ids
from storefront.notifications.models import LowStockAlert, OutboxMessage
from tests.concurrency import deadlocks_detected, run_concurrently

pytestmark = pytest.mark.django_db

LOOKUP_URL = "/api/variants/"
SYNC_URL = "/api/variants/stock/"
SHAPE = {"id", "sku", "product_id", "price", "list_price", "currency", "stock_quantity"}


def lookup(client, skus: str):
    return client.get(LOOKUP_URL, {"sku": skus})


def sync(client, items):
    return client.patch(SYNC_URL, {"items": items}, format="json")


def skus(response) -> list[str]:
    return [variant["sku"] for variant in response.json()]


def state(*variants: ProductVariant) -> dict:
    """Everything a sync could change: the variants' stock and price, their products' derived
    columns, the low-stock alerts and the outbox."""
    return {
        "variants": list(
            ProductVariant.objects.filter(pk__in=[v.pk for v in variants])
            .order_by("pk")
            .values_list("pk", "stock_quantity", "price", "updated_at")
        ),
        "products": list(
            Product.objects.filter(variants__in=variants)
            .distinct()
            .order_by("pk")
            .values_list("pk", "min_price", "in_stock", "updated_at")
        ),
        "alerts": list(LowStockAlert.objects.values_list("pk", "variant_id", "resolved_at")),
        "outbox": OutboxMessage.objects.count(),
    }


@pytest.fixture
def cache_on(settings):
    settings.CATALOG_CACHE_SECONDS = 60


# --- Lookup --------------------------------------------------------------------------------


def test_lookup_answers_the_variants_of_the_skus_in_their_order(api_client):
    first = VariantFactory(sku="ABC-1", price=Decimal("12.50"), stock_quantity=3)
    second = VariantFactory(sku="ABC-2")

    response = lookup(api_client, "ABC-2,ABC-1")

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": second.pk,
            "sku": "ABC-2",
            "product_id": second.product_id,
            "price": "19.99",
            "list_price": "19.99",
            "currency": "USD",
            "stock_quantity": 10,
        },
        {
            "id": first.pk,
            "sku": "ABC-1",
            "product_id": first.product_id,
            "price": "12.50",
            "list_price": "12.50",
            "currency": "USD",
            "stock_quantity": 3,
        },
    ]


def test_unknown_skus_are_absent_and_matching_is_exact(api_client):
    VariantFactory(sku="ABC-1")

    response = lookup(api_client, "NOPE,abc-1,ABC-1, ABC-1,ABC-")

    assert response.status_code == 200
    assert skus(response) == ["ABC-1"]


def test_a_sku_sent_twice_is_answered_once(api_client):
    VariantFactory(sku="ABC-1")

    assert skus(lookup(api_client, "ABC-1,ABC-1")) == ["ABC-1"]


@pytest.mark.parametrize("client_name", ["api_client", "customer_client"])
def test_customers_and_visitors_see_only_purchasable_variants(request, client_name):
    VariantFactory(sku="ON-SALE")
    VariantFactory(sku="HIDDEN", product=ProductFactory(is_published=False))

    response = lookup(request.getfixturevalue(client_name), "ON-SALE,HIDDEN")

    assert skus(response) == ["ON-SALE"]


def test_staff_see_variants_of_unpublished_products(staff_client):
    VariantFactory(sku="ON-SALE")
    VariantFactory(sku="HIDDEN", product=ProductFactory(is_published=False))

    assert skus(lookup(staff_client, "ON-SALE,HIDDEN")) == ["ON-SALE", "HIDDEN"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({}, "This field is required."),
        ({"sku": ""}, "This field may not be blank."),
        ({"sku": ","}, "An empty SKU: two commas in a row, or a comma at an end."),
        ({"sku": "A,,B"}, "An empty SKU: two commas in a row, or a comma at an end."),
        ({"sku": "A,"}, "An empty SKU: two commas in a row, or a comma at an end."),
        ({"sku": ",".join(f"S-{n}" for n in range(101))}, "At most 100 SKUs; 101 were sent."),
        ({"sku": "A," + "x" * 65}, "SKUs have at most 64 characters (SKU 2)."),
        ({"sku": "A\x00B"}, "Null characters are not allowed."),
    ],
)
def test_a_bad_sku_parameter_answers_400_on_sku(api_client, query, message):
    error = assert_error(api_client.get(LOOKUP_URL, query), 400, "invalid")

    assert error["fields"] == {"sku": [message]}
    assert error["message"] == f"sku: {message}"


def test_100_skus_of_64_characters_are_taken(api_client):
    sku = "x" * 64
    VariantFactory(sku=sku)
    many = [sku] + [f"{n:064d}" for n in range(99)]

    response = lookup(api_client, ",".join(many))

    assert response.status_code == 200
    assert skus(response) == [sku]


def test_an_unknown_query_parameter_answers_400_naming_it(api_client):
    error = assert_error(api_client.get(LOOKUP_URL, {"sku": "A", "skus": "B"}), 400, "invalid")

    assert list(error["fields"]) == ["skus"]


@pytest.mark.parametrize("client_name", ["api_client", "customer_client", "staff_client"])
@pytest.mark.parametrize("count", [1, 100])
def test_lookup_costs_one_query_whatever_the_number_of_skus(
    request, django_assert_num_queries, client_name, count
):
    client = request.getfixturevalue(client_name)
    variants = [VariantFactory() for _ in range(count)]

    with django_assert_num_queries(1):
        response = lookup(client, ",".join(v.sku for v in variants))

    assert len(response.json()) == count


# --- Sync: permissions ---------------------------------------------------------------------


def test_sync_needs_credentials(api_client):
    variant = VariantFactory()
    before = state(variant)

    assert_error(
        sync(api_client, [{"sku": variant.sku, "stock_quantity": 1}]), 401, "not_authenticated"
    )
    assert state(variant) == before


def test_customers_may_not_sync(customer_client):
    variant = VariantFactory()
    before = state(variant)

    response = sync(customer_client, [{"sku": variant.sku, "stock_quantity": 1}])

    assert_error(response, 403, "permission_denied")
    assert state(variant) == before


def test_get_on_the_sync_is_not_allowed(staff_client):
    assert_error(staff_client.get(SYNC_URL), 405, "method_not_allowed")


# --- Sync: what it changes -----------------------------------------------------------------


def test_sync_sets_stock_and_prices_and_answers_the_variants_in_line_order(staff_client):
    product = ProductFactory()
    cheap = VariantFactory(product=product, sku="A-1", price=Decimal("10.00"), stock_quantity=8)
    dear = VariantFactory(product=product, sku="A-2", price=Decimal("30.00"), stock_quantity=0)
    other = VariantFactory(sku="B-1", price=Decimal("5.00"), stock_quantity=7)

    response = sync(
        staff_client,
        [
            {"sku": "A-2", "stock_quantity": 12, "price": "4.5"},
            {"sku": "B-1", "price": "6.00"},
            {"sku": "A-1", "stock_quantity": 9},
        ],
    )

    assert response.status_code == 200, response.content
    assert response.json() == [
        {
            "id": dear.pk,
            "sku": "A-2",
            "product_id": product.pk,
            "price": "4.50",
            "list_price": "4.50",
            "currency": "USD",
            "stock_quantity": 12,
        },
        {
            "id": other.pk,
            "sku": "B-1",
            "product_id": other.product_id,
            "price": "6.00",
            "list_price": "6.00",
            "currency": "USD",
            "stock_quantity": 7,
        },
        {
            "id": cheap.pk,
            "sku": "A-1",
            "product_id": product.pk,
            "price": "10.00",
            "list_price": "10.00",
            "currency": "USD",
            "stock_quantity": 9,
        },
    ]
    stored = dict(ProductVariant.objects.values_list("sku", "stock_quantity"))
    assert stored == {"A-1": 9, "A-2": 12, "B-1": 7}
    prices = dict(ProductVariant.objects.values_list("sku", "price"))
    assert prices == {"A-1": Decimal("10.00"), "A-2": Decimal("4.50"), "B-1": Decimal("6.00")}


def test_sync_leaves_product_min_price_and_in_stock_exact(staff_client):
    product = ProductFactory()
    VariantFactory(product=product, sku="A-1", price=Decimal("10.00"), stock_quantity=3)
    VariantFactory(product=product, sku="A-2", price=Decimal("30.00"), stock_quantity=0)

    response = sync(
        staff_client,
        [{"sku": "A-1", "stock_quantity": 0, "price": "40.00"}, {"sku": "A-2", "price": "25.00"}],
    )
    assert response.status_code == 200, response.content
    product.refresh_from_db()
    assert (product.min_price, product.in_stock) == (Decimal("25.00"), False)

    sync(staff_client, [{"sku": "A-2", "stock_quantity": 4}])
    product.refresh_from_db()
    assert (product.min_price, product.in_stock) == (Decimal("25.00"), True)


def test_stock_falling_below_the_threshold_opens_a_low_stock_alert(
    staff_client, settings, django_capture_on_commit_callbacks
):
    settings.LOW_STOCK_THRESHOLD = 5
    low = VariantFactory(sku="LOW", stock_quantity=10)
    fine = VariantFactory(sku="FINE", stock_quantity=10)

    with django_capture_on_commit_callbacks(execute=True):
        response = sync(
            staff_client,
            [{"sku": "LOW", "stock_quantity": 4}, {"sku": "FINE", "stock_quantity": 5}],
        )

    assert response.status_code == 200, response.content
    alert = LowStockAlert.objects.get()
    assert (alert.variant_id, alert.stock_quantity, alert.resolved_at) == (low.pk, 4, None)
    assert OutboxMessage.objects.filter(kind=OutboxMessage.Kind.LOW_STOCK).count() == 1
    assert not LowStockAlert.objects.filter(variant=fine).exists()


def test_restocking_a_low_variant_resolves_its_alert(staff_client, settings):
    settings.LOW_STOCK_THRESHOLD = 5
    VariantFactory(sku="LOW", stock_quantity=10)
    sync(staff_client, [{"sku": "LOW", "stock_quantity": 1}])

    sync(staff_client, [{"sku": "LOW", "stock_quantity": 20}])

    assert LowStockAlert.objects.get().resolved_at is not None


def test_staff_may_sync_variants_of_unpublished_products(staff_client):
    hidden = VariantFactory(sku="HIDDEN", product=ProductFactory(is_published=False))

    response = sync(staff_client, [{"sku": "HIDDEN", "stock_quantity": 2}])

    assert skus(response) == ["HIDDEN"]
    hidden.refresh_from_db()
    assert hidden.stock_quantity == 2


def test_the_variants_then_their_products_are_locked_in_ascending_id_before_any_write(staff_client):
    variants = [VariantFactory() for _ in range(3)]
    lines = [{"sku": v.sku, "price": "1.00", "stock_quantity": 1} for v in reversed(variants)]

    with CaptureQueriesContext(connection) as captured:
        response = sync(staff_client, lines)

    assert response.status_code == 200, response.content
    statements = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
    variants_lock, products_lock, price_update = statements[:3]
    assert variants_lock.startswith('SELECT "catalog_productvariant"."id"')
    assert variants_lock.endswith('ORDER BY "catalog_productvariant"."id" ASC FOR NO KEY UPDATE')
    assert products_lock.startswith('SELECT "catalog_product"."id"')
    assert products_lock.endswith("ORDER BY 1 ASC FOR NO KEY UPDATE")  # 1: its id
    assert price_update.startswith('UPDATE "catalog_productvariant" SET "price" = CASE')


# --- Sync: what readers see right after ----------------------------------------------------


def test_the_product_list_and_detail_show_a_sync_at_once(
    api_client,
    staff_client,
    cache_on,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
):
    variant = VariantFactory(sku="MUG", price=Decimal("10.00"), stock_quantity=10)
    product = variant.product
    list_before = api_client.get(LIST_URL).json()
    api_client.get(detail_url(product.pk))
    with django_assert_num_queries(0):  # Both are cached now.
        api_client.get(LIST_URL)
        api_client.get(detail_url(product.pk))

    with django_capture_on_commit_callbacks(execute=True):
        sync(staff_client, [{"sku": "MUG", "stock_quantity": 3, "price": "12.00"}])

    [row] = api_client.get(LIST_URL).json()["results"]
    assert list_before["results"][0]["price"] == "10.00"
    assert row["price"] == "12.00"
    assert row["variants"][0]["stock_quantity"] == 3
    detail = api_client.get(detail_url(product.pk)).json()
    assert (detail["price"], detail["variants"][0]["stock_quantity"]) == ("12.00", 3)


def test_a_price_sync_moves_a_product_out_of_a_cached_price_filter(
    api_client, staff_client, cache_on, django_capture_on_commit_callbacks
):
    variant = VariantFactory(sku="MUG", price=Decimal("5.00"))
    assert ids(api_client.get(LIST_URL, {"max_price": "10"})) == [variant.product_id]

    with django_capture_on_commit_callbacks(execute=True):
        sync(staff_client, [{"sku": "MUG", "price": "50.00"}])

    assert ids(api_client.get(LIST_URL, {"max_price": "10"})) == []
    assert ids(api_client.get(LIST_URL, {"min_price": "10"})) == [variant.product_id]


def test_a_stock_sync_emptying_a_variant_moves_its_product_out_of_in_stock_lists(
    api_client, staff_client, cache_on, django_capture_on_commit_callbacks
):
    variant = VariantFactory(sku="MUG", stock_quantity=2)
    assert ids(api_client.get(LIST_URL, {"in_stock": "true"})) == [variant.product_id]

    with django_capture_on_commit_callbacks(execute=True):
        sync(staff_client, [{"sku": "MUG", "stock_quantity": 0}])

    assert ids(api_client.get(LIST_URL, {"in_stock": "true"})) == []
    assert ids(api_client.get(LIST_URL, {"in_stock": "false"})) == [variant.product_id]


def test_a_stock_only_sync_keeps_other_products_cached(
    api_client,
    staff_client,
    cache_on,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
):
    synced = VariantFactory(sku="MUG", stock_quantity=10)
    other = VariantFactory(sku="CUP", stock_quantity=10)
    for variant in (synced, other):
        api_client.get(detail_url(variant.product_id))

    with django_capture_on_commit_callbacks(execute=True):
        sync(staff_client, [{"sku": "MUG", "stock_quantity": 7}])

    with django_assert_num_queries(0):
        api_client.get(detail_url(other.product_id))
    detail = api_client.get(detail_url(synced.product_id)).json()
    assert detail["variants"][0]["stock_quantity"] == 7


# --- Sync: refusals, nothing changed -------------------------------------------------------


@pytest.fixture
def stocked(settings) -> ProductVariant:
    """A variant that the good line of a refused request would take below the threshold."""
    settings.LOW_STOCK_THRESHOLD = 5
    return VariantFactory(sku="GOOD", price=Decimal("10.00"), stock_quantity=10)


GOOD_LINE = {"sku": "GOOD", "stock_quantity": 1, "price": "99.00"}


def assert_refused(response, stocked: ProductVariant, before: dict) -> dict:
    error = assert_error(response, 400, "invalid")
    assert state(stocked) == before
    return error


def test_an_unknown_sku_refuses_the_whole_request(staff_client, stocked):
    before = state(stocked)

    response = sync(staff_client, [GOOD_LINE, {"sku": "NOPE", "stock_quantity": 1}])

    error = assert_refused(response, stocked, before)
    assert error["fields"] == {"items": {"1": {"sku": ["No variant has this SKU."]}}}
    assert error["message"] == "items.1.sku: No variant has this SKU."


def test_every_unknown_sku_is_named(staff_client, stocked):
    lines = [{"sku": "NOPE-1", "price": "1"}, GOOD_LINE, {"sku": "good", "price": "1"}]

    error = assert_error(sync(staff_client, lines), 400, "invalid")

    assert set(error["fields"]["items"]) == {"0", "2"}


def test_a_sku_listed_twice_refuses_the_whole_request(staff_client, stocked):
    before = state(stocked)
    lines = [GOOD_LINE, {"sku": "GOOD", "stock_quantity": 3}, {"sku": "GOOD", "price": "1"}]

    error = assert_refused(sync(staff_client, lines), stocked, before)

    assert error["fields"] == {
        "items": {
            "1": {"sku": ["Listed twice: already at items.0."]},
            "2": {"sku": ["Listed twice: already at items.0."]},
        }
    }


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"sku": "GOOD", "stock_quantity": -1}, "stock_quantity"),
        ({"sku": "GOOD", "stock_quantity": 2**31}, "stock_quantity"),
        ({"sku": "GOOD", "stock_quantity": "many"}, "stock_quantity"),
        ({"sku": "GOOD", "price": "-0.01"}, "price"),
        ({"sku": "GOOD", "price": "1.001"}, "price"),
        ({"sku": "GOOD", "price": "12345678901.00"}, "price"),
        ({"sku": "GOOD", "price": "NaN"}, "price"),
        ({"stock_quantity": 1}, "sku"),
        ({"sku": "", "stock_quantity": 1}, "sku"),
        ({"sku": "x" * 65, "stock_quantity": 1}, "sku"),
        ({"sku": "GOOD"}, "non_field_errors"),
        ("GOOD", "non_field_errors"),
    ],
)
def test_a_bad_line_refuses_the_whole_request_naming_it(staff_client, stocked, line, field):
    before = state(stocked)

    response = sync(staff_client, [GOOD_LINE, GOOD_LINE | {"sku": "OTHER"}, line])

    error = assert_refused(response, stocked, before)
    assert list(error["fields"]) == ["items"]
    assert list(error["fields"]["items"]) == ["2"]
    assert list(error["fields"]["items"]["2"]) == [field]


def test_every_bad_line_is_named_as_docs_catalog_md_shows(staff_client, stocked):
    lines = [GOOD_LINE] + [{"sku": f"S-{n}", "price": "1"} for n in range(1, 4)]
    lines[1] = {"sku": "S-1", "stock_quantity": -1}
    lines.append({"sku": "S-4"})

    error = assert_error(sync(staff_client, lines), 400, "invalid")

    minimum = "Ensure this value is greater than or equal to 0."
    assert error["message"] == f"items.1.stock_quantity: {minimum}"
    assert error["fields"] == {
        "items": {
            "1": {"stock_quantity": [minimum]},
            "4": {"non_field_errors": ["Send stock_quantity, price or both."]},
        }
    }


def test_a_line_with_neither_field_says_what_to_send(staff_client, stocked):
    error = assert_error(sync(staff_client, [{"sku": "GOOD"}]), 400, "invalid")

    assert error["message"] == "items.0: Send stock_quantity, price or both."


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"items": []}, {"items": ["This list may not be empty."]}),
        (
            {"items": [GOOD_LINE] * 1001},
            {"items": ["Ensure this field has no more than 1000 elements."]},
        ),
        ({}, {"items": ["This field is required."]}),
        ({"items": GOOD_LINE}, {"items": ['Expected a list of items but got type "dict".']}),
        (
            [GOOD_LINE],
            {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
        ),
    ],
)
def test_a_bad_body_refuses_the_whole_request(staff_client, stocked, body, fields):
    before = state(stocked)

    response = staff_client.patch(SYNC_URL, body, format="json")

    assert assert_refused(response, stocked, before)["fields"] == fields


def test_1000_lines_are_taken(staff_client):
    product = ProductFactory()
    variants = ProductVariant.objects.bulk_create(
        ProductVariant(product=product, sku=f"BULK-{n}", price=1, stock_quantity=9)
        for n in range(1000)
    )

    response = sync(staff_client, [{"sku": v.sku, "stock_quantity": 8} for v in variants])

    assert response.status_code == 200, response.content
    assert len(response.json()) == 1000
    assert set(ProductVariant.objects.values_list("stock_quantity", flat=True)) == {8}


def test_a_form_body_is_refused(staff_client, stocked):
    response = staff_client.patch(
        SYNC_URL, "items=GOOD", content_type="application/x-www-form-urlencoded"
    )

    assert_error(response, 415, "unsupported_media_type")


# --- Sync: query budget --------------------------------------------------------------------

# SAVEPOINT (the test's transaction holds the request's), the variants' lock, the products'
# lock, the price UPDATE, set_stock's lock and UPDATE, check_low_stock's resolving UPDATE
# (the stock is at or above the threshold), the stock.changed webhook events (one statement,
# storefront/webhooks), RELEASE SAVEPOINT; then the staff member's tier percentage, for the
# answer's `price`.
SYNC_QUERIES = 10


@pytest.mark.parametrize("count", [1, 50])
def test_sync_costs_a_fixed_number_of_queries(staff_client, django_assert_num_queries, count):
    variants = [VariantFactory(stock_quantity=10) for _ in range(count)]
    lines = [{"sku": v.sku, "stock_quantity": 20, "price": "3.00"} for v in variants]

    with django_assert_num_queries(SYNC_QUERIES):
        response = sync(staff_client, lines)

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("count", [1, 50])
def test_sync_into_low_stock_costs_a_fixed_number_of_queries(
    staff_client, settings, django_assert_num_queries, count
):
    settings.LOW_STOCK_THRESHOLD = 5
    variants = [VariantFactory(stock_quantity=10) for _ in range(count)]
    lines = [{"sku": v.sku, "stock_quantity": 2} for v in variants]

    # No price UPDATE and no resolving one; the alerts' insert, their ids and the outbox.
    with django_assert_num_queries(SYNC_QUERIES - 2 + 3):
        response = sync(staff_client, lines)

    assert response.status_code == 200, response.content
    assert LowStockAlert.objects.count() == count


# --- Sync: concurrency ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_crossing_syncs_of_the_same_products_never_deadlock():
    """Each sync changes a price of one product and empties or refills a variant of the
    other, the other sync the reverse: both make the triggers lock both products, in
    opposite orders unless the sync locks them first."""
    one, two = ProductFactory(), ProductFactory()
    for product, prefix in ((one, "ONE"), (two, "TWO")):
        for n in (1, 2):
            VariantFactory(product=product, sku=f"{prefix}-{n}", stock_quantity=5)
    deadlocks_before = deadlocks_detected()

    for round_ in range(20):
        price, units = ("1.00", 0) if round_ % 2 else ("2.00", 5)
        lines = [
            [{"sku": "TWO-1", "price": Decimal(price)}, {"sku": "ONE-1", "stock_quantity": units}],
            [{"sku": "ONE-2", "price": Decimal(price)}, {"sku": "TWO-2", "stock_quantity": units}],
        ]
        outcomes = run_concurrently([partial(services.sync_variants, lines=one) for one in lines])
        assert [outcome.error for outcome in outcomes] == [None, None]

    assert deadlocks_detected() == deadlocks_before
    assert Product.objects.filter(in_stock=True, min_price=Decimal("1.00")).count() == 2


# --- Schema --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator(urlconf="storefront.catalog.tests.schema_urls").get_schema(
        request=None, public=True
    )


def test_the_schema_documents_the_lookup(schema):
    operation = schema["paths"][LOOKUP_URL]["get"]
    [parameter] = operation["parameters"]

    assert (parameter["name"], parameter["required"]) == ("sku", True)
    assert parameter["schema"]["pattern"] == r"^[^,]{1,64}(,[^,]{1,64}){0,99}$"
    assert {} in operation["security"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/VariantStock"},
    }
    assert set(schema["components"]["schemas"]["VariantStock"]["properties"]) == SHAPE
    assert "400" in operation["responses"]


def test_the_schema_documents_the_sync(schema):
    operation = schema["paths"][SYNC_URL]["patch"]
    body = operation["requestBody"]

    assert body["required"] is True
    assert list(body["content"]) == ["application/json"]
    items = schema["components"]["schemas"]["StockSyncRequest"]["properties"]["items"]
    assert (items["minItems"], items["maxItems"]) == (1, 1000)
    line = schema["components"]["schemas"]["StockLineRequest"]
    assert line["required"] == ["sku"]
    assert line["properties"]["stock_quantity"]["maximum"] == 2**31 - 1
    assert {} not in operation["security"]
    assert {"400", "401", "403", "415"} <= set(operation["responses"])
