"""Vouchers under concurrent checkouts, on PostgreSQL, with real threads and the HTTP API.

A voucher limited to N uses is used by exactly N orders whatever the concurrency; the
checkouts that lose answer voucher_exhausted and change nothing (no order, no stock sold);
cancelling gives a use back; checkouts and cancellations of orders holding the same
voucher and variants never deadlock (storefront/pricing/vouchers.py, docs/pricing.md).
"""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import CartItem
from storefront.catalog.models import ProductVariant
from storefront.catalog.tests.factories import VariantFactory
from storefront.orders.models import Order
from storefront.orders.services import cancel_order, place_order
from storefront.pricing.models import Voucher
from storefront.pricing.tests.factories import VoucherFactory
from tests.concurrency import deadlocks_detected, run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)

CHECKOUT = {"shipping_address": "1 Main St", "phone_number": "+1 555 0100"}


def buyer_of(variant: ProductVariant, quantity: int = 1):
    customer = UserFactory()
    CartItem.objects.create(cart=customer.cart, variant=variant, quantity=quantity)
    return customer


def api_checkout(customer, **body):
    def checkout():
        client = APIClient()
        client.force_authenticate(customer)
        return client.post("/api/orders/", {**CHECKOUT, **body}, format="json")

    return checkout


def stock_of(variant: ProductVariant) -> int:
    variant.refresh_from_db()
    return variant.stock_quantity


def test_fifty_checkouts_for_a_voucher_of_ten_uses_place_exactly_ten_orders_with_it():
    variant = VariantFactory(stock_quantity=500, price=Decimal("20.00"))
    voucher = VoucherFactory(code="TEN", value=Decimal("10"), usage_limit=10)
    buyers = [buyer_of(variant, 2) for _ in range(50)]

    outcomes = run_concurrently([api_checkout(b, voucher_code="ten") for b in buyers])

    assert [o.error for o in outcomes if o.error is not None] == []
    responses = [o.value for o in outcomes]
    placed = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    assert len(placed) == 10
    assert {r.json()["error"]["code"] for r in refused} == {"voucher_exhausted"}
    # Those that read the voucher with uses left and lost the claim: 409; any that read it
    # already exhausted: 400, as a quote would say.
    assert {r.status_code for r in refused} <= {400, 409}
    assert any(r.status_code == 409 for r in refused)
    assert all(r.json()["voucher_code"] == "TEN" for r in placed)
    assert all(r.json()["discount_total"] == "4.00" for r in placed)
    assert Order.objects.count() == 10
    assert Order.objects.filter(voucher=voucher).count() == 10
    voucher.refresh_from_db()
    assert voucher.times_used == 10
    # No stock sold by the refused checkouts, and their carts kept their lines.
    assert stock_of(variant) == 500 - 10 * 2
    assert CartItem.objects.count() == 40


def test_a_cancelled_order_gives_its_use_back_to_the_next_checkout():
    variant = VariantFactory(stock_quantity=50)
    voucher = VoucherFactory(code="ONCE", usage_limit=1)
    first, second = buyer_of(variant), buyer_of(variant)
    taken = api_checkout(first, voucher_code="ONCE")()
    assert taken.status_code == 201, taken.content

    refused = api_checkout(second, voucher_code="ONCE")()
    cancel_order(order=Order.objects.get(), actor=None)
    voucher.refresh_from_db()
    after_cancel = voucher.times_used
    placed = api_checkout(second, voucher_code="ONCE")()

    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "voucher_exhausted")
    assert after_cancel == 0
    assert placed.status_code == 201, placed.content
    voucher.refresh_from_db()
    assert voucher.times_used == 1


def test_checkouts_and_cancellations_with_one_voucher_and_shared_variants_do_not_deadlock():
    first, second = VariantFactory(stock_quantity=500), VariantFactory(stock_quantity=500)
    voucher = VoucherFactory(code="SHARED")
    deadlocks_before = deadlocks_detected()
    existing = []
    for _ in range(10):
        customer = buyer_of(first)
        CartItem.objects.create(cart=customer.cart, variant=second, quantity=1)
        existing.append(
            place_order(
                customer=customer,
                voucher_code="SHARED",
                shipping_address="1 Main St",
                billing_address="1 Main St",
                phone_number="+1 555 0100",
            )[0]
        )
    buyers = []
    for n in range(10):
        customer = buyer_of(second if n % 2 else first)
        CartItem.objects.create(cart=customer.cart, variant=first if n % 2 else second, quantity=1)
        buyers.append(customer)

    def cancel(order):
        return lambda: cancel_order(order=order, actor=None)

    outcomes = run_concurrently(
        [api_checkout(b, voucher_code="shared") for b in buyers] + [cancel(o) for o in existing]
    )

    assert [o.error for o in outcomes if o.error is not None] == []
    assert [o.value.status_code for o in outcomes[:10]] == [201] * 10
    voucher.refresh_from_db()
    assert voucher.times_used == 10  # 10 taken, 10 given back, 10 taken
    assert (
        Voucher.objects.get().times_used
        == Order.objects.filter(voucher=voucher, status="pending").count()
    )
    assert stock_of(first) == stock_of(second) == 500 - 10
    assert deadlocks_detected() == deadlocks_before
