"""Every catalog read is exact right after the write commits (issue 13).

The product list filters, sorts and counts on columns PostgreSQL derives (`min_price`,
`in_stock`: the triggers of migration 0005; `search_vector`: a stored generated column), and
customers' reads are cached whole. Each test writes through the public API (a checkout, a
cancellation, a staff edit through the API or the admin, a category move), then reads as
an anonymous visitor and a customer would: the detail, the list and its filters show the
write at once. Each runs with the response cache on (every URL read once before the write,
so an entry exists) and off. Tests run on committed transactions (transaction=True), so the
after-commit invalidations run as they do in production; concurrent writers and readers run
on real threads, each on its own connection.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from storefront.accounts.models import User
from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import CartItem
from storefront.catalog import cache as catalog_cache
from storefront.catalog import stock
from storefront.catalog.models import Product, ProductVariant
from storefront.catalog.tests.factories import CategoryFactory, product_with
from storefront.catalog.tests.helpers import (
    LIST_URL,
    assert_derived_columns_exact,
    derived_column_mismatches,
    detail_url,
)
from storefront.catalog.tests.test_admin import variant_list_edit
from storefront.orders.models import OrderItem
from tests.concurrency import run_concurrently
from tests.helpers import CHECKOUT

pytestmark = pytest.mark.django_db(transaction=True)

CACHE_ON = 60


@pytest.fixture(params=[CACHE_ON, 0], ids=["cache-on", "cache-off"])
def response_cache(request, settings) -> bool:
    """settings.CATALOG_CACHE_SECONDS: 60 (on) or 0 (off); whether the cache is on."""
    settings.CATALOG_CACHE_SECONDS = request.param
    return request.param > 0


class Shop:
    """The catalog as customers read it: every read is made by an anonymous visitor and by
    a customer, who must be answered alike. Remembers the URLs read, so that a test can
    check that the cache holds an entry for each before it writes."""

    def __init__(self, customer_client: APIClient) -> None:
        self.clients = [APIClient(), customer_client]
        self.read: list[tuple[str, dict]] = []

    def get(self, path: str, params: dict | None = None) -> tuple[int, dict]:
        params = params or {}
        answers = [client.get(path, params) for client in self.clients]
        statuses = {answer.status_code for answer in answers}
        assert len(statuses) == 1, statuses
        bodies = [answer.json() for answer in answers]
        assert bodies[0] == bodies[1]
        if (path, params) not in self.read:
            self.read.append((path, params))
        return answers[0].status_code, bodies[0]

    def detail(self, product: Product) -> dict | None:
        """The product's detail, None when it is not found (404)."""
        status, body = self.get(detail_url(product.pk))
        assert status in (200, 404), body
        return body if status == 200 else None

    def listed(self, **params) -> list[int]:
        """The ids the list shows with these filters, in order (one page of 100)."""
        status, body = self.get(LIST_URL, {**params, "page_size": "100"})
        assert status == 200, body
        # A test's catalog fits on one page: the count is exact and counts what is listed.
        assert (body["count"], body["count_is_exact"], body["next"]) == (
            len(body["results"]),
            True,
            None,
        )
        return [product["id"] for product in body["results"]]

    def entry(self, product: Product, **params) -> dict | None:
        """The product as the list shows it with these filters, None when not listed."""
        status, body = self.get(LIST_URL, {**params, "page_size": "100"})
        assert status == 200, body
        return next((item for item in body["results"] if item["id"] == product.pk), None)

    def assert_cached(self, cache_on: bool) -> None:
        """With the cache on, every URL read so far is answered from it (no query), so the
        reads after the write are made with an entry in place."""
        if not cache_on:
            return
        for path, params in self.read:
            with CaptureQueriesContext(connection) as queries:
                response = self.clients[0].get(path, params)
            assert response.status_code in (200, 404)
            if response.status_code == 200:
                assert len(queries) == 0, (path, params)


@pytest.fixture
def shop(customer_client) -> Shop:
    return Shop(customer_client)


@pytest.fixture
def admin_client(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("admin@example.com", "pw-for-tests-only"))
    return client


def variants_of(product: Product) -> list[ProductVariant]:
    return list(product.variants.order_by("pk"))


def stock_in(body: dict) -> dict[int, int]:
    return {variant["id"]: variant["stock_quantity"] for variant in body["variants"]}


def assert_self_consistent(body: dict) -> None:
    """What one product document must show, whenever it was read: `in_stock` and `price`
    are those of the variants it lists."""
    stocks = [variant["stock_quantity"] for variant in body["variants"]]
    prices = [Decimal(variant["price"]) for variant in body["variants"]]
    assert body["in_stock"] is any(units > 0 for units in stocks), body
    assert body["price"] == (str(min(prices)) if prices else None), body


def assert_every_read_says(shop: Shop, product: Product, *, in_stock: bool) -> dict:
    """The detail, the list, and the `in_stock=true|false` filters agree that `product` is
    (or is not) in stock; return its detail."""
    detail = shop.detail(product)
    assert detail is not None
    assert detail["in_stock"] is in_stock
    assert_self_consistent(detail)
    assert shop.entry(product) == detail
    assert (product.pk in shop.listed(in_stock="true")) is in_stock
    assert (product.pk in shop.listed(in_stock="false")) is not in_stock
    return detail


def add_to_cart(client: APIClient, variant: ProductVariant, quantity: int = 1) -> None:
    response = client.post(
        "/api/cart/items/", {"variant_id": variant.pk, "quantity": quantity}, format="json"
    )
    assert response.status_code == 201, response.content


def checkout(client: APIClient, variant: ProductVariant, quantity: int = 1) -> int:
    """Put `quantity` units of `variant` in the client's cart and check out; the order id."""
    add_to_cart(client, variant, quantity)
    response = client.post("/api/orders/", CHECKOUT, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def patch_product(client: APIClient, product: Product, body: dict) -> dict:
    response = client.patch(detail_url(product.pk), body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def sync_variants(client: APIClient, *lines: dict) -> None:
    """Staff sync stock and prices by SKU (PATCH /api/variants/stock/)."""
    response = client.patch("/api/variants/stock/", {"items": list(lines)}, format="json")
    assert response.status_code == 200, response.content


def set_stock_in_admin(admin_client: Client, variant: ProductVariant, units: int) -> None:
    """Staff set the variant's stock from the admin's variant list (its price unchanged)."""
    variant.refresh_from_db()
    response = admin_client.post(
        "/admin/catalog/productvariant/",
        variant_list_edit(variant, price=str(variant.price), stock=str(units)),
    )
    assert response.status_code == 302, response.content


# --- Checkout and cancellation ------------------------------------------------------------


def test_checkout_of_the_last_unit_takes_the_product_out_of_stock_in_every_read(
    response_cache, shop, customer_client
):
    product = product_with(1, 0)
    last, _ = variants_of(product)
    assert_every_read_says(shop, product, in_stock=True)
    shop.assert_cached(response_cache)

    checkout(customer_client, last)

    detail = assert_every_read_says(shop, product, in_stock=False)
    assert set(stock_in(detail).values()) == {0}
    assert_derived_columns_exact()


def test_a_sale_that_leaves_units_changes_the_stock_shown_but_not_in_stock(
    response_cache, shop, customer_client
):
    product = product_with(3, 0)
    sold, _ = variants_of(product)
    assert_every_read_says(shop, product, in_stock=True)
    shop.assert_cached(response_cache)

    checkout(customer_client, sold, quantity=2)

    detail = assert_every_read_says(shop, product, in_stock=True)
    assert stock_in(detail)[sold.pk] == 1
    assert stock_in(shop.entry(product, in_stock="true"))[sold.pk] == 1
    assert_derived_columns_exact()


@pytest.mark.parametrize("canceller", ["customer", "staff"])
def test_cancelling_the_order_of_the_last_unit_puts_it_back_in_stock_in_every_read(
    response_cache, shop, customer_client, staff_client, canceller
):
    product = product_with(1)
    [last] = variants_of(product)
    order_id = checkout(customer_client, last)
    assert_every_read_says(shop, product, in_stock=False)
    shop.assert_cached(response_cache)

    client = customer_client if canceller == "customer" else staff_client
    response = client.post(f"/api/orders/{order_id}/cancel/", {"note": "Changed my mind"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"

    detail = assert_every_read_says(shop, product, in_stock=True)
    assert stock_in(detail) == {last.pk: 1}
    assert_derived_columns_exact()


# --- Staff edits of stock and prices -------------------------------------------------------


def test_a_staff_stock_edit_through_the_api_shows_in_every_read(response_cache, shop, staff_client):
    product = product_with(4, 0)
    stocked, empty = variants_of(product)
    assert_every_read_says(shop, product, in_stock=True)
    shop.assert_cached(response_cache)

    patch_product(
        staff_client,
        product,
        {"variants": [{"id": stocked.pk, "stock_quantity": 0}, {"id": empty.pk}]},
    )
    assert_every_read_says(shop, product, in_stock=False)
    assert_derived_columns_exact()
    shop.assert_cached(response_cache)

    patch_product(
        staff_client,
        product,
        {"variants": [{"id": stocked.pk}, {"id": empty.pk, "stock_quantity": 7}]},
    )
    detail = assert_every_read_says(shop, product, in_stock=True)
    assert stock_in(detail) == {stocked.pk: 0, empty.pk: 7}
    assert_derived_columns_exact()


def test_a_staff_stock_edit_in_the_admin_shows_in_every_read(response_cache, shop, admin_client):
    product = product_with(2)
    [variant] = variants_of(product)
    assert_every_read_says(shop, product, in_stock=True)
    shop.assert_cached(response_cache)

    set_stock_in_admin(admin_client, variant, 0)
    assert_every_read_says(shop, product, in_stock=False)
    assert_derived_columns_exact()
    shop.assert_cached(response_cache)

    set_stock_in_admin(admin_client, variant, 9)
    detail = assert_every_read_says(shop, product, in_stock=True)
    assert stock_in(detail) == {variant.pk: 9}
    assert_derived_columns_exact()


def test_a_stock_and_price_sync_by_sku_shows_in_every_read(response_cache, shop, staff_client):
    product = product_with(3, 0, prices=("10.00", "12.00"))
    other = product_with(5, prices=("11.00",))
    stocked, empty = variants_of(product)
    assert assert_every_read_says(shop, product, in_stock=True)["price"] == "10.00"
    assert price_reads(shop, product, other)["ordering=price"] == [product.pk, other.pk]
    shop.assert_cached(response_cache)

    # The only variant in stock runs out and becomes the dearest: 12.00 is the lowest price.
    sync_variants(staff_client, {"sku": stocked.sku, "stock_quantity": 0, "price": "15.00"})
    assert assert_every_read_says(shop, product, in_stock=False)["price"] == "12.00"
    reads = price_reads(shop, product, other)
    assert (reads["ordering=price"], reads["max_price=11"], reads["12 to 12"]) == (
        [other.pk, product.pk],
        False,
        True,
    )
    assert_derived_columns_exact()
    shop.assert_cached(response_cache)

    sync_variants(staff_client, {"sku": empty.sku, "stock_quantity": 4})
    detail = assert_every_read_says(shop, product, in_stock=True)
    assert stock_in(detail) == {stocked.pk: 0, empty.pk: 4}
    assert_derived_columns_exact()


def price_reads(shop: Shop, product: Product, other: Product) -> dict:
    """What the list's price reads say of `product` (and `other`, priced 11.00)."""
    return {
        "price": shop.entry(product)["price"],
        "detail": shop.detail(product)["price"],
        "ordering=price": [
            pk for pk in shop.listed(ordering="price") if pk in (product.pk, other.pk)
        ],
        "ordering=-price": [
            pk for pk in shop.listed(ordering="-price") if pk in (product.pk, other.pk)
        ],
        "max_price=11": product.pk in shop.listed(max_price="11"),
        "min_price=12": product.pk in shop.listed(min_price="12"),
        "12 to 12": product.pk in shop.listed(min_price="12", max_price="12.00"),
    }


@pytest.mark.parametrize("editor", ["api", "admin"])
def test_a_price_edit_shows_in_the_price_filters_and_ordering_at_once(
    response_cache, shop, staff_client, admin_client, editor
):
    product = product_with(5, 5, prices=("10.00", "12.00"))
    other = product_with(5, prices=("11.00",))
    cheap, dear = variants_of(product)
    assert price_reads(shop, product, other) == {
        "price": "10.00",
        "detail": "10.00",
        "ordering=price": [product.pk, other.pk],
        "ordering=-price": [other.pk, product.pk],
        "max_price=11": True,
        "min_price=12": False,
        "12 to 12": False,
    }
    shop.assert_cached(response_cache)

    if editor == "api":
        patch_product(
            staff_client,
            product,
            {"variants": [{"id": cheap.pk, "price": "15.00"}, {"id": dear.pk}]},
        )
    else:
        # The variant list writes the variant alone (no save of the product row).
        response = admin_client.post(
            "/admin/catalog/productvariant/", variant_list_edit(cheap, price="15.00", stock="5")
        )
        assert response.status_code == 302, response.content

    assert price_reads(shop, product, other) == {
        "price": "12.00",
        "detail": "12.00",
        "ordering=price": [other.pk, product.pk],
        "ordering=-price": [product.pk, other.pk],
        "max_price=11": False,
        "min_price=12": True,
        "12 to 12": True,
    }
    assert_derived_columns_exact()


def test_adding_and_deleting_variants_changes_the_lowest_price_in_every_read(
    response_cache, shop, staff_client
):
    product = product_with(5, 5, prices=("12.00", "14.00"))
    other = product_with(5, prices=("11.00",))
    low, high = variants_of(product)
    assert price_reads(shop, product, other)["price"] == "12.00"
    shop.assert_cached(response_cache)

    # A cheaper variant added: 9.00 is the lowest price.
    patch_product(
        staff_client,
        product,
        {"variants": [{"id": low.pk}, {"id": high.pk}, {"sku": "NEW-CHEAP", "price": "9.00"}]},
    )
    added = price_reads(shop, product, other)
    assert (added["price"], added["detail"], added["ordering=price"]) == (
        "9.00",
        "9.00",
        [product.pk, other.pk],
    )
    assert (added["max_price=11"], added["min_price=12"]) == (True, False)
    assert_derived_columns_exact()
    shop.assert_cached(response_cache)

    # Only the dearest kept: 14.00.
    patch_product(staff_client, product, {"variants": [{"id": high.pk}]})
    deleted = price_reads(shop, product, other)
    assert (deleted["price"], deleted["detail"], deleted["ordering=price"]) == (
        "14.00",
        "14.00",
        [other.pk, product.pk],
    )
    assert (deleted["max_price=11"], deleted["min_price=12"], deleted["12 to 12"]) == (
        False,
        True,
        False,
    )
    assert_derived_columns_exact()


def test_a_product_whose_last_variant_is_deleted_has_no_price_and_no_stock(
    response_cache, shop, admin_client
):
    product = product_with(3, prices=("8.00",))
    other = product_with(5, prices=("11.00",))
    [variant] = variants_of(product)
    assert assert_every_read_says(shop, product, in_stock=True)["price"] == "8.00"
    assert product.pk in shop.listed(min_price="0")
    assert shop.listed(ordering="price")[:2] == [product.pk, other.pk]
    shop.assert_cached(response_cache)

    # The API refuses a product without variants; the admin deletes a variant on its own.
    response = admin_client.post(
        f"/admin/catalog/productvariant/{variant.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302, response.content

    detail = assert_every_read_says(shop, product, in_stock=False)
    assert (detail["price"], detail["variants"]) == (None, [])
    assert product.pk not in shop.listed(min_price="0")
    assert product.pk not in shop.listed(max_price="100")
    assert shop.listed(ordering="price")[-1] == product.pk
    assert shop.listed(ordering="-price")[-1] == product.pk
    assert_derived_columns_exact()


# --- Publishing, category moves, search ----------------------------------------------------


def visible_in(shop: Shop, product: Product, name_word: str) -> dict[str, bool]:
    """Whether each customer read shows `product`."""
    return {
        "detail": shop.detail(product) is not None,
        "list": product.pk in shop.listed(),
        "in_stock=true": product.pk in shop.listed(in_stock="true"),
        "price": product.pk in shop.listed(min_price="1", max_price="100"),
        "category": product.pk in shop.listed(category=product.category.slug),
        "ordering=price": product.pk in shop.listed(ordering="price"),
        "search": product.pk in shop.listed(search=name_word),
    }


def test_unpublishing_hides_the_product_from_every_read_at_once_and_republishing_shows_it(
    response_cache, shop, staff_client
):
    product = product_with(3, name="Velvet Armchair", category=CategoryFactory(slug="seating"))
    everywhere = dict.fromkeys(visible_in(shop, product, "armchair"), True)
    nowhere = dict.fromkeys(everywhere, False)
    assert visible_in(shop, product, "armchair") == everywhere
    shop.assert_cached(response_cache)

    patch_product(staff_client, product, {"is_published": False})
    assert visible_in(shop, product, "armchair") == nowhere
    # The staff read is never cached, and still shows it.
    assert staff_client.get(detail_url(product.pk)).status_code == 200

    patch_product(staff_client, product, {"is_published": True})
    assert visible_in(shop, product, "armchair") == everywhere
    assert_derived_columns_exact()


def test_a_category_move_moves_the_product_between_ancestor_filters_at_once(
    response_cache, shop, staff_client
):
    # Apparel > Tops (the product's); Outlet > Clearance. Tops moves under Clearance.
    apparel, outlet = CategoryFactory(slug="apparel"), CategoryFactory(slug="outlet")
    tops = CategoryFactory(slug="tops", parent=apparel)
    clearance = CategoryFactory(slug="clearance", parent=outlet)
    product = product_with(2, category=tops)

    def filters() -> dict[str, bool]:
        return {
            slug: product.pk in shop.listed(category=slug)
            for slug in ("apparel", "tops", "outlet", "clearance")
        }

    assert filters() == {"apparel": True, "tops": True, "outlet": False, "clearance": False}
    shop.assert_cached(response_cache)

    response = staff_client.patch(
        f"/api/categories/{tops.pk}/", {"parent": clearance.pk}, format="json"
    )
    assert response.status_code == 200, response.content

    assert filters() == {"apparel": False, "tops": True, "outlet": True, "clearance": True}
    assert shop.detail(product)["category"]["slug"] == "tops"


def test_a_renamed_product_is_found_by_its_new_name_and_no_longer_by_its_old(
    response_cache, shop, staff_client
):
    product = product_with(2, name="Plain Sweater")
    other = product_with(2, name="Striped Scarf")

    def found() -> dict[str, bool]:
        return {
            text: product.pk in shop.listed(search=text)
            for text in ("sweater", "swea", "hood", "hoodie", "cozy hood", "scarf")
        }

    assert found() == {
        "sweater": True,
        "swea": True,
        "hood": False,
        "hoodie": False,
        "cozy hood": False,
        "scarf": False,
    }
    shop.assert_cached(response_cache)

    patch_product(staff_client, product, {"name": "Cozy Hoodie"})

    assert found() == {
        "sweater": False,
        "swea": False,
        "hood": True,
        "hoodie": True,
        "cozy hood": True,
        "scarf": False,
    }
    assert shop.listed(search="scarf") == [other.pk]
    assert shop.entry(product, search="hood")["name"] == "Cozy Hoodie"


# --- Concurrent writers and readers on real threads ----------------------------------------

ROUNDS = 6
READERS = 2
MAX_READS = 150


@dataclass
class Read:
    """One response a reader thread got: when it was asked and answered (monotonic clock),
    and whether it showed the product with stock."""

    started: float
    ended: float
    kind: str
    body: dict
    shows_stock: bool


def countdown(count: int) -> tuple[threading.Event, Callable[[], None]]:
    """An event set once `count` calls of the returned function have been made."""
    done, lock, left = threading.Event(), threading.Lock(), [count]

    def one_done() -> None:
        with lock:
            left[0] -= 1
            if left[0] == 0:
                done.set()

    return done, one_done


def poll(product: Product, done: threading.Event) -> Callable[[], list[Read]]:
    """A reader: the detail and the `in_stock=true` list, in turn, until the writers are
    done, then once more each."""
    url, params = detail_url(product.pk), {"in_stock": "true", "page_size": "100"}

    def reads() -> list[Read]:
        client, seen, last = APIClient(), [], 2
        while last and len(seen) < MAX_READS:
            if done.is_set():
                last -= 1
            for kind in ("detail", "list"):
                started = time.monotonic()
                response = client.get(url) if kind == "detail" else client.get(LIST_URL, params)
                ended = time.monotonic()
                assert response.status_code == 200, response.content
                body = response.json()
                if kind == "detail":
                    shows = any(units > 0 for units in stock_in(body).values())
                else:
                    shows = product.pk in [item["id"] for item in body["results"]]
                seen.append(Read(started, ended, kind, body, shows))
        return seen

    return reads


def assert_reads_consistent(reads: list[Read], *, monotonic: bool) -> None:
    """What each response may show while the last units sell: every product document in it
    self-consistent (in_stock and price those of its own variants). Two responses may show
    different moments; only stock that never comes back in the test is ordered: with
    `monotonic`, a response asked after another was answered never shows stock that one
    showed gone (it reads a later snapshot of the database)."""
    for read in reads:
        documents = [read.body] if read.kind == "detail" else read.body["results"]
        for document in documents:
            assert_self_consistent(document)
    if not monotonic:
        return
    gone = [read for read in reads if not read.shows_stock]
    for later in reads:
        stale = [read for read in gone if read.ended < later.started]
        assert not (later.shows_stock and stale), (later, stale[0])


def buyer(variant: ProductVariant) -> APIClient:
    customer = UserFactory()
    CartItem.objects.create(cart=customer.cart, variant=variant, quantity=1)
    client = APIClient()
    client.force_authenticate(customer)
    return client


def checking_out(client: APIClient, *, then: Callable[[], None]) -> Callable[[], int]:
    """A checkout of the client's cart (its answer's status), then `then()`."""

    def run() -> int:
        try:
            return client.post("/api/orders/", CHECKOUT, format="json").status_code
        finally:
            then()

    return run


def test_concurrent_checkouts_of_the_last_units_of_both_variants_leave_every_read_exact(
    response_cache,
):
    """Two buyers for the last unit of each of a product's two variants, at the same instant,
    while readers poll: two orders, no oversell, and the product out of stock everywhere."""
    for _ in range(ROUNDS):
        product = product_with(1, 1)
        first, second = variants_of(product)
        buyers = [buyer(variant) for variant in (first, first, second, second)]
        done, one_done = countdown(len(buyers))
        shop = Shop(APIClient())
        assert_every_read_says(shop, product, in_stock=True)
        shop.assert_cached(response_cache)

        outcomes = run_concurrently(
            [checking_out(client, then=one_done) for client in buyers]
            + [poll(product, done)] * READERS
        )

        assert [outcome.error for outcome in outcomes] == [None] * len(outcomes)
        assert sorted(outcome.value for outcome in outcomes[: len(buyers)]) == [201, 201, 409, 409]
        for variant in (first, second):
            variant.refresh_from_db()
            sold = sum(OrderItem.objects.filter(variant=variant).values_list("quantity", flat=True))
            assert (sold, variant.stock_quantity) == (1, 0)
        product.refresh_from_db()
        assert product.in_stock is False
        assert_derived_columns_exact()
        reads = [read for outcome in outcomes[len(buyers) :] for read in outcome.value]
        assert_reads_consistent(reads, monotonic=not response_cache)
        assert_every_read_says(shop, product, in_stock=False)


def restock_in_admin(variant: ProductVariant, units: int) -> Callable[[], int]:
    client = Client()
    client.force_login(User.objects.filter(is_superuser=True).get())
    form = variant_list_edit(variant, price=str(variant.price), stock=str(units))
    return lambda: client.post("/admin/catalog/productvariant/", form).status_code


def restock_through_the_api(variant: ProductVariant, units: int) -> Callable[[], int]:
    client = APIClient()
    client.force_authenticate(User.objects.filter(is_superuser=True).get())
    others = variant.product.variants.exclude(pk=variant.pk).values_list("pk", flat=True)
    body = {
        "variants": [{"id": variant.pk, "stock_quantity": units}, *({"id": pk} for pk in others)]
    }
    return lambda: client.patch(detail_url(variant.product_id), body, format="json").status_code


def restock_by_sync(variant: ProductVariant, units: int) -> Callable[[], int]:
    client = APIClient()
    client.force_authenticate(User.objects.filter(is_superuser=True).get())
    body = {"items": [{"sku": variant.sku, "stock_quantity": units}]}
    return lambda: client.patch("/api/variants/stock/", body, format="json").status_code


def sell_last_unit(variant: ProductVariant) -> Callable[[], int]:
    client = buyer(variant)
    return lambda: client.post("/api/orders/", CHECKOUT, format="json").status_code


def empty_in_admin(variant: ProductVariant) -> Callable[[], int]:
    return restock_in_admin(variant, 0)


@pytest.mark.parametrize(
    ("restock", "run_out"),
    [
        pytest.param(restock_in_admin, sell_last_unit, id="admin-restock-vs-checkout"),
        pytest.param(restock_through_the_api, sell_last_unit, id="api-restock-vs-checkout"),
        pytest.param(restock_by_sync, sell_last_unit, id="sync-restock-vs-checkout"),
        pytest.param(restock_in_admin, empty_in_admin, id="admin-restock-vs-admin-zero"),
    ],
)
def test_two_variants_crossing_zero_in_opposite_directions_at_once_leave_it_in_stock(
    response_cache, admin_client, restock, run_out
):
    """Variant A restocked 0 -> 5 while variant B's last unit goes (a checkout, or staff
    setting it to 0), at the same instant: the product has stock, and every read says so."""
    for _ in range(ROUNDS):
        product = product_with(0, 1)
        restocked, emptied = variants_of(product)
        shop = Shop(APIClient())
        assert_every_read_says(shop, product, in_stock=True)
        shop.assert_cached(response_cache)
        writes = [restock(restocked, 5), run_out(emptied)]

        outcomes = run_concurrently(writes)

        assert [outcome.error for outcome in outcomes] == [None, None]
        assert outcomes[0].value in (200, 302)
        assert outcomes[1].value in (201, 302)
        product.refresh_from_db()
        assert product.in_stock is True
        assert derived_column_mismatches() == []
        detail = assert_every_read_says(shop, product, in_stock=True)
        assert stock_in(detail) == {restocked.pk: 5, emptied.pk: 0}


# --- Between the COMMIT and its invalidation ------------------------------------------------

# The suite's Redis, database 12, through the production backend (its incr_many and
# decr_many): the pending marks as production keeps them.
ON_REDIS = {
    "default": {
        "BACKEND": "storefront.core.cache.RedisCache",
        "LOCATION": settings.REDIS_URL.rsplit("/", 1)[0] + "/12",
    }
}


@pytest.fixture(params=["local-memory", "redis"])
def cache_backend(request, settings):
    """The response cache in local memory (the suite's default) or on Redis."""
    if request.param == "redis":
        settings.CACHES = ON_REDIS
        caches["default"].clear()
    yield request.param
    if request.param == "redis":
        caches["default"].clear()


def read_in_another_process(path: str, seen: list) -> None:
    """GET `path` as an anonymous visitor on another thread and connection; append the body."""

    def read() -> None:
        try:
            seen.append(APIClient().get(path).json())
        finally:
            connection.close()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()


@pytest.mark.parametrize(("units", "bought"), [(1, 1), (3, 1)], ids=["sells-out", "sells-one"])
def test_a_read_after_the_commit_of_a_sale_but_before_its_invalidation_is_exact(
    response_cache, cache_backend, shop, customer_client, units, bought
):
    """Another process reads the detail once the sale has committed but before the selling
    process has run its after-commit hooks (a hook registered first runs first): the
    database has the new stock, so must the read. Selling out marks the whole catalog
    pending; selling one of three, only the product."""
    product = product_with(units)
    [variant] = variants_of(product)
    assert_every_read_says(shop, product, in_stock=True)
    shop.assert_cached(response_cache)
    add_to_cart(customer_client, variant, bought)
    seen = []

    with transaction.atomic():
        transaction.on_commit(lambda: read_in_another_process(detail_url(product.pk), seen))
        response = customer_client.post("/api/orders/", CHECKOUT, format="json")
        assert response.status_code == 201, response.content

    assert [stock_in(body) for body in seen] == [{variant.pk: units - bought}]
    assert [body["in_stock"] for body in seen] == [units > bought]
    # Once the hooks have run, the cache serves again, the new stock.
    assert stock_in(assert_every_read_says(shop, product, in_stock=units > bought)) == {
        variant.pk: units - bought
    }
    shop.assert_cached(response_cache)


def test_a_staff_price_edit_is_exact_between_its_commit_and_its_invalidation(
    response_cache, cache_backend, shop
):
    """A catalog write through the ORM (its signals mark the whole catalog pending)."""
    product = product_with(5)
    [variant] = variants_of(product)
    assert_every_read_says(shop, product, in_stock=True)
    shop.assert_cached(response_cache)
    seen = []

    with transaction.atomic():
        transaction.on_commit(lambda: read_in_another_process(detail_url(product.pk), seen))
        variant.price = Decimal("12.34")
        variant.save()

    assert [body["variants"][0]["price"] for body in seen] == ["12.34"]


@pytest.mark.parametrize("response_cache", [CACHE_ON], indirect=True)
def test_a_mark_left_by_a_rolled_back_sale_costs_misses_until_it_expires(
    response_cache, monkeypatch, settings, shop, customer_client
):
    """A transaction that marks and then rolls back never lowers its mark: its product is
    read from the database (exactly) until the mark expires, then served from the cache
    again."""
    settings.CACHES = ON_REDIS
    caches["default"].clear()
    monkeypatch.setattr(catalog_cache, "PENDING_SECONDS", 1)
    product = product_with(3)
    [variant] = variants_of(product)
    assert_every_read_says(shop, product, in_stock=True)
    shop.assert_cached(response_cache)

    with pytest.raises(RuntimeError), transaction.atomic():
        stock.sell(lines=[(ProductVariant.objects.select_for_update().get(pk=variant.pk), 1)])
        raise RuntimeError("rolled back")

    with CaptureQueriesContext(connection) as read:
        assert stock_in(shop.detail(product)) == {variant.pk: 3}
    assert len(read) > 0, "served from the cache while marked"
    time.sleep(1.1)
    shop.detail(product)
    with CaptureQueriesContext(connection) as read:
        assert stock_in(shop.detail(product)) == {variant.pk: 3}
    assert len(read) == 0, "still marked after PENDING_SECONDS"
    caches["default"].clear()
