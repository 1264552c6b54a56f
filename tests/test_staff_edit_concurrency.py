"""Staff writing a product while customers check out its variants, on PostgreSQL, real threads.

A checkout locks its variants and, at COMMIT, checks its deferred foreign keys against the
product row (FOR KEY SHARE). A staff edit that held the product FOR UPDATE and then waited
for one of those variants closed a cycle: `deadlock detected`, and a 500 for one side. The
lock order (docs/checkout.md, "Lock order") keeps every writer out of such cycles; these
tests count the deadlocks PostgreSQL detected, so a retry hiding one would not pass them.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from storefront.accounts.models import User
from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.carts.models import CartItem
from storefront.catalog import stock
from storefront.catalog.models import Product, ProductVariant
from storefront.catalog.tests.factories import VariantFactory
from storefront.orders.models import Order, OrderItem
from storefront.orders.services import anonymise_customer, place_order
from tests.concurrency import deadlocks_detected, run_blocked_behind, run_concurrently
from tests.helpers import CHECKOUT

pytestmark = pytest.mark.django_db(transaction=True)

# How long the load test runs its shoppers and staff; long enough for a few hundred
# requests on a busy 2-core machine, where the old lock order deadlocked within seconds.
LOAD_SECONDS = 10


def staff_api_client() -> APIClient:
    client = APIClient()
    client.force_authenticate(StaffFactory())
    # A server error comes back as the 500 response a client would get, not as an exception.
    client.raise_request_exception = False
    return client


def while_a_checkout_waits_to_commit(customer: User, write: Callable[[], Any]) -> Any:
    """Run `write` in a thread while a checkout of `customer`'s cart, in another, holds its
    locks with its foreign-key checks still to come; let the checkout commit once `write`
    waits for one of its locks. Return what `write` returned; assert the checkout committed.
    """

    def checkout(hold: Callable[[], None]) -> None:
        # The outer transaction keeps place_order's locks and defers its foreign-key
        # checks until this block commits, after `write` has started waiting.
        with transaction.atomic():
            place_order(customer=customer, **CHECKOUT)
            hold()

    checked_out, written = run_blocked_behind(checkout, write)
    assert checked_out.error is None, checked_out.error
    if written.error is not None:
        raise written.error
    return written.value


@pytest.fixture
def sale():
    """A variant of 10 units in one customer's cart; the deadlock count before the race."""
    variant = VariantFactory(stock_quantity=10)
    customer = UserFactory()
    CartItem.objects.create(cart=customer.cart, variant=variant, quantity=1)
    return variant, customer, deadlocks_detected()


@pytest.mark.parametrize(
    ("changes", "variant_changes", "stock_after"),
    [
        # Everything: the edit runs after the sale and sets the stock staff counted.
        ({"name": "Renamed", "slug": "renamed"}, {"price": "7.50", "stock_quantity": 3}, 3),
        # A price alone: the units the checkout sold stay sold.
        ({}, {"price": "7.50"}, 9),
    ],
    ids=["name-slug-price-stock", "price-only"],
)
def test_api_edit_of_a_product_being_sold_waits_for_the_checkout(
    sale, changes, variant_changes, stock_after
):
    variant, customer, deadlocks_before = sale
    client = staff_api_client()
    body = {**changes, "variants": [{"id": variant.pk, "sku": variant.sku, **variant_changes}]}

    response = while_a_checkout_waits_to_commit(
        customer, lambda: client.patch(f"/api/products/{variant.product_id}/", body)
    )

    assert response.status_code == 200, response.content
    assert deadlocks_detected() == deadlocks_before
    assert Order.objects.count() == 1
    variant.refresh_from_db()
    assert (str(variant.price), variant.stock_quantity) == ("7.50", stock_after)
    assert variant.product.slug == changes.get("slug", variant.product.slug)


def test_admin_edit_of_slug_and_a_variant_being_sold_waits_for_the_checkout(sale):
    variant, customer, deadlocks_before = sale
    product = variant.product
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.create_superuser("admin@example.com", "pw-for-tests-only"))
    form = {
        "name": product.name,
        "slug": "renamed",
        "description": product.description,
        "category": product.category_id,
        "is_published": "on",
        "tax_class": product.tax_class,
        "variants-TOTAL_FORMS": "1",
        "variants-INITIAL_FORMS": "1",
        "variants-MIN_NUM_FORMS": "1",
        "variants-MAX_NUM_FORMS": "1000",
        "variants-0-id": variant.pk,
        "variants-0-product": product.pk,
        "variants-0-sku": variant.sku,
        "variants-0-name": variant.name,
        "variants-0-price": "7.50",
        "variants-0-stock_quantity": "10",
        "initial-variants-0-stock_quantity": "10",
        "variants-0-attributes": "{}",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
    }

    response = while_a_checkout_waits_to_commit(
        customer, lambda: client.post(f"/admin/catalog/product/{product.pk}/change/", form)
    )

    assert response.status_code == 302, response.content
    assert deadlocks_detected() == deadlocks_before
    variant.refresh_from_db()
    # The price staff set; the stock as the sale left it (staff did not change the field).
    assert (str(variant.price), variant.stock_quantity) == ("7.50", 9)
    assert variant.product.slug == "renamed"


def test_api_deletion_of_a_product_being_sold_waits_for_the_checkout(sale):
    variant, customer, deadlocks_before = sale
    client = staff_api_client()

    response = while_a_checkout_waits_to_commit(
        customer, lambda: client.delete(f"/api/products/{variant.product_id}/")
    )

    assert response.status_code == 204, response.content
    assert deadlocks_detected() == deadlocks_before
    assert not Product.objects.exists()
    # The order placed meanwhile keeps its line, unlinked from the deleted catalog rows.
    assert list(OrderItem.objects.values_list("sku", "product_id", "variant_id")) == [
        (variant.sku, None, None)
    ]


def test_anonymising_a_customer_during_their_checkout_waits_for_it(sale):
    _, customer, deadlocks_before = sale

    while_a_checkout_waits_to_commit(customer, lambda: anonymise_customer(customer=customer))

    assert deadlocks_detected() == deadlocks_before
    customer.refresh_from_db()
    assert customer.email.endswith("@anonymised.invalid")
    assert Order.objects.get().customer_id == customer.pk


def test_staff_edits_during_checkouts_of_the_same_product_cause_no_deadlock_and_no_5xx():
    """Six shoppers buy the variants of one product while two staff members PATCH it (name,
    slug, prices, stock, and a variant added and removed in turn) for LOAD_SECONDS."""
    variants = [VariantFactory(stock_quantity=1_000_000) for _ in range(3)]
    product = variants[0].product
    ProductVariant.objects.filter(pk__in=[v.pk for v in variants]).update(product=product)
    shoppers = [UserFactory() for _ in range(6)]
    staff = [StaffFactory() for _ in range(2)]
    deadlocks_before = deadlocks_detected()
    deadline = time.monotonic() + LOAD_SECONDS
    statuses: dict[str, Counter] = {"cart": Counter(), "checkout": Counter(), "edit": Counter()}
    lock = threading.Lock()

    def record(kind: str, status: int) -> None:
        with lock:
            statuses[kind][status] += 1

    def shop(customer: User, number: int) -> None:
        client = APIClient()
        client.force_authenticate(customer)
        client.raise_request_exception = False
        turn = number
        while time.monotonic() < deadline:
            # Two variants per order, in either order, so checkouts also share variants.
            for variant in (variants[turn % 3], variants[(turn + 1) % 3]):
                added = client.post("/api/cart/items/", {"variant_id": variant.pk})
                record("cart", added.status_code)
            record("checkout", client.post("/api/orders/", CHECKOUT).status_code)
            turn += 1

    def edit(member: User, number: int) -> None:
        client = APIClient()
        client.force_authenticate(member)
        client.raise_request_exception = False
        turn = 0
        while time.monotonic() < deadline:
            listed = [
                {"id": v.pk, "sku": v.sku, "price": f"{10 + turn % 7}.00", "stock_quantity": 10**6}
                for v in variants
            ]
            if turn % 2:
                listed.append({"sku": f"EXTRA-{number}-{turn}", "price": "1.00"})
            body = {"name": f"Edit {number}-{turn}", "slug": f"edited-{number}-{turn % 2}"}
            response = client.patch(f"/api/products/{product.pk}/", {**body, "variants": listed})
            record("edit", response.status_code)
            turn += 1

    outcomes = run_concurrently(
        [partial(shop, customer, n) for n, customer in enumerate(shoppers)]
        + [partial(edit, member, n) for n, member in enumerate(staff)]
    )

    assert [outcome.error for outcome in outcomes if outcome.error] == []
    assert deadlocks_detected() == deadlocks_before, statuses
    assert [
        (kind, status) for kind, counts in statuses.items() for status in counts if status >= 500
    ] == [], statuses
    # Enough of each happened for the race to mean something; every edit and sale went in.
    assert set(statuses["edit"]) == {200} and statuses["edit"][200] >= 5, statuses
    assert set(statuses["checkout"]) == {201} and statuses["checkout"][201] >= 20, statuses


def test_a_sale_of_the_last_unit_while_staff_wait_for_its_variant_is_no_deadlock():
    """The sale that empties a variant rewrites its product's `in_stock` (the triggers of
    catalog migration 0005) while it holds the variant; a staff edit of that product that
    started meanwhile waits for the variant. Staff edits therefore serialize on an advisory
    lock (step 2 of the lock order) rather than the product row the sale writes."""
    variant = VariantFactory(stock_quantity=1)
    other = VariantFactory(product=variant.product, stock_quantity=0)
    deadlocks_before = deadlocks_detected()
    client = staff_api_client()

    def seller(hold: Callable[[], None]) -> None:
        with transaction.atomic():
            # As a checkout does: lock the variant, then sell it.
            locked = ProductVariant.objects.select_for_update().get(pk=variant.pk)
            hold()
            stock.sell(lines=[(locked, 1)])

    body = {
        "name": "Renamed",
        "variants": [
            {"id": variant.pk, "sku": variant.sku, "price": "7.50"},
            {"id": other.pk, "sku": other.sku},
        ],
    }
    sold, edited = run_blocked_behind(
        seller, lambda: client.patch(f"/api/products/{variant.product_id}/", body)
    )

    assert sold.error is None, sold.error
    assert edited.error is None, edited.error
    assert edited.value.status_code == 200, edited.value.content
    assert deadlocks_detected() == deadlocks_before
    product = Product.objects.get(pk=variant.product_id)
    assert (product.name, product.in_stock, str(product.min_price)) == ("Renamed", False, "7.50")
