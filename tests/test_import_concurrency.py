"""A catalog import writing products that customers are buying, on PostgreSQL, real threads.

The import's apply takes the staff write locks of the products it changes, then their
variants and product rows, in the lock order of docs/checkout.md (storefront/catalog/
imports/importer.py, _Run.lock): a checkout of one of them waits for it or it waits for the
checkout, and neither deadlocks. The tests count the deadlocks PostgreSQL detected.
"""

import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import CartItem
from storefront.catalog.imports import importer, reader
from storefront.catalog.models import ProductVariant
from storefront.catalog.tests.factories import ProductFactory, VariantFactory
from storefront.catalog.tests.helpers import assert_derived_columns_exact
from storefront.orders.models import Order
from tests.concurrency import deadlocks_detected
from tests.helpers import CHECKOUT
from tests.test_staff_edit_concurrency import while_a_checkout_waits_to_commit

pytestmark = pytest.mark.django_db(transaction=True)

LOAD_SECONDS = 8


def import_file(path: Path) -> importer.Result:
    return importer.import_catalog(
        lambda: reader.open_source(path), options=reader.Options(), dry_run=False
    )


def stock_file(path: Path, product_slug: str, lines: list[tuple[str, str, int]]) -> Path:
    rows = "".join(f"{product_slug},{sku},{price},{stock}\n" for sku, price, stock in lines)
    path.write_text("product_slug,sku,price,stock_quantity\n" + rows)
    return path


def test_an_import_of_a_variant_being_sold_waits_for_the_checkout(tmp_path):
    variant = VariantFactory(stock_quantity=10, product=ProductFactory(slug="sold"))
    customer = UserFactory()
    CartItem.objects.create(cart=customer.cart, variant=variant, quantity=1)
    path = stock_file(tmp_path / "stock.csv", "sold", [(variant.sku, "7.50", 3)])
    deadlocks_before = deadlocks_detected()

    result = while_a_checkout_waits_to_commit(customer, lambda: import_file(path))

    assert (result.applied, result.updated, result.errors) == (True, 1, [])
    assert deadlocks_detected() == deadlocks_before
    assert Order.objects.count() == 1
    variant.refresh_from_db()
    # The import ran after the sale and set the stock the warehouse counted.
    assert (str(variant.price), variant.stock_quantity) == ("7.50", 3)
    assert_derived_columns_exact()


def test_imports_during_checkouts_of_the_same_products_cause_no_deadlock(tmp_path):
    """Six shoppers buy variants of two products while an import rewrites their prices and
    stock (and creates a product) again and again for LOAD_SECONDS."""
    products = [ProductFactory(slug=f"busy-{n}") for n in range(2)]
    variants = [VariantFactory(product=products[n % 2], stock_quantity=100_000) for n in range(4)]
    shoppers = [UserFactory() for _ in range(6)]
    deadlocks_before = deadlocks_detected()
    deadline = time.monotonic() + LOAD_SECONDS
    statuses: Counter = Counter()
    imports: list[importer.Result] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def shop(customer, number: int) -> None:
        client = APIClient()
        client.force_authenticate(customer)
        client.raise_request_exception = False
        turn = number
        try:
            while time.monotonic() < deadline:
                variant = variants[turn % 4]
                client.post("/api/cart/items/", {"variant_id": variant.pk, "quantity": 1})
                response = client.post("/api/orders/", CHECKOUT, format="json")
                with lock:
                    statuses[response.status_code] += 1
                turn += 1
        finally:
            connection.close()

    def run_imports() -> None:
        round_ = 0
        try:
            while time.monotonic() < deadline:
                round_ += 1
                lines = [
                    (
                        f"busy-{n % 2}",
                        v.sku,
                        f"{10 + (round_ + n) % 5}.00",
                        50_000 + round_,
                    )
                    for n, v in enumerate(variants)
                ]
                lines.sort()  # A product's rows are consecutive.
                path = tmp_path / f"round-{round_}.csv"
                rows = "".join(
                    f"{slug},,{sku},{price},{stock}\n" for slug, sku, price, stock in lines
                )
                rows += f"new-{round_},New {round_},NEW-{round_},1.00,1\n"
                path.write_text("product_slug,name,sku,price,stock_quantity\n" + rows)
                result = import_file(path)
                with lock:
                    imports.append(result)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=shop, args=(c, n)) for n, c in enumerate(shoppers)]
    threads.append(threading.Thread(target=run_imports))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=LOAD_SECONDS + 60)

    assert errors == []
    assert imports and all(result.applied and not result.errors for result in imports)
    assert statuses[201] > 0
    assert set(statuses) <= {201, 409}, statuses
    assert deadlocks_detected() == deadlocks_before
    assert ProductVariant.objects.filter(sku__startswith="NEW-").count() == len(imports)
    assert_derived_columns_exact()
