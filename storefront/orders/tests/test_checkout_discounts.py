"""Checkout with member prices, promotions and vouchers: the order charges and keeps what
the quote showed, refuses a voucher that cannot be used without changing anything, counts
uses (per customer, per guest email, cancelled orders given back) and keeps its statement
budget constant in the number of lines."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import Cart, CartItem
from storefront.catalog.models import ProductVariant
from storefront.catalog.tests.factories import CategoryFactory, ProductFactory, VariantFactory
from storefront.orders.models import Order, OrderDiscount
from storefront.orders.services import cancel_order, place_order
from storefront.pricing.exceptions import VoucherExhausted, VoucherInvalid
from storefront.pricing.models import Promotion, TaxRate, Voucher
from storefront.pricing.tests.factories import (
    PromotionFactory,
    VoucherFactory,
    domestic_zone,
    membership_tiers,
)

pytestmark = pytest.mark.django_db

D = Decimal
CALIFORNIA = {
    "full_name": "Ada Lovelace",
    "line1": "1 Main St",
    "city": "Los Angeles",
    "postal_code": "90001",
    "country": "US",
    "region": "CA",
}
CHECKOUT = {"shipping_address": "1 Main St", "billing_address": "1 Main St"}


@pytest.fixture(autouse=True)
def shop():
    domestic_zone("US")
    membership_tiers()
    TaxRate.objects.create(country="US", region="CA", rate=D("0.0725"), name="Sales tax")


@pytest.fixture
def clothing():
    return CategoryFactory(name="Clothing")


@pytest.fixture
def gold():
    return UserFactory(membership="gold")


def fill(cart: Cart, *lines: tuple[ProductVariant, int]) -> None:
    for variant, quantity in lines:
        CartItem.objects.create(cart=cart, variant=variant, quantity=quantity)


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def state() -> dict:
    """What a refused checkout must leave as it was."""
    return {
        "orders": Order.objects.count(),
        "discounts": OrderDiscount.objects.count(),
        "stock": sorted(ProductVariant.objects.values_list("pk", "stock_quantity")),
        "cart": sorted(CartItem.objects.values_list("pk", "quantity")),
        "uses": sorted(Voucher.objects.values_list("code", "times_used")),
    }


def test_the_order_charges_and_keeps_the_quote_to_the_cent(gold, clothing):
    tee = VariantFactory(product=ProductFactory(category=clothing), price=D("19.99"))
    socks = VariantFactory(price=D("5.00"))
    PromotionFactory(code="summer", name="Summer", value=D("20")).categories.add(clothing)
    VoucherFactory(code="WELCOME10", name="Welcome", value=D("10"))
    fill(gold.cart, (tee, 2), (socks, 3))
    client = client_of(gold)
    asked = {"shipping_address": CALIFORNIA, "voucher_code": "welcome10"}

    quoted = client.post("/api/checkout/quote/", asked, format="json").json()
    response = client.post(
        "/api/orders/",
        {**asked, "phone_number": "+1 555 0100", "expected_total": quoted["total"]},
        format="json",
    )

    # Member lines 35.98 (17.99 x 2) and 13.50 (4.50 x 3); summer on the tee 7.20; the
    # voucher 10 % of 28.78 = 2.88 and of 13.50 = 1.35; taxed at 7.25 % on 25.90 (1.88) and
    # 12.15 (0.88); 38.05 is below the threshold: standard 4.99, taxed 0.36.
    assert [line["discount_total"] for line in quoted["lines"]] == ["10.08", "1.35"]
    assert [line["tax_total"] for line in quoted["lines"]] == ["1.88", "0.88"]
    assert (quoted["subtotal"], quoted["discount_total"], quoted["tax_total"]) == (
        "49.48",
        "11.43",
        "3.12",
    )
    assert quoted["total"] == "46.16"
    assert response.status_code == 201, response.content
    order = response.json()
    for name in ("subtotal", "discount_total", "tax_total", "total"):
        assert order[name] == quoted[name], name
    assert order["shipping_total"] == quoted["shipping"]["price"]
    assert order["voucher_code"] == "WELCOME10"
    assert order["applied"] == quoted["applied"]
    assert [(a["kind"], a["code"], a["amount"]) for a in order["applied"]] == [
        ("membership", "gold", "5.50"),
        ("promotion", "summer", "7.20"),
        ("voucher", "WELCOME10", "4.23"),
    ]
    for item, line in zip(order["items"], quoted["lines"], strict=True):
        for name in ("list_price", "unit_price", "discount_total", "tax_rate", "tax_total"):
            assert item[name] == line[name], name
    stored = Order.objects.get()
    assert stored.voucher.code == "WELCOME10"
    assert list(stored.discounts.values_list("kind", "promotion__code", "voucher__code")) == [
        ("membership", None, None),
        ("promotion", "summer", None),
        ("voucher", None, "WELCOME10"),
    ]
    # Read back, the order shows what checkout answered.
    assert client.get(f"/api/orders/{stored.pk}/").json()["applied"] == order["applied"]
    assert Voucher.objects.get().times_used == 1


def gross_vat_store(settings, clothing):
    """Gross prices, VAT 20 % standard and 5.5 % reduced for the whole US: a book (reduced)
    at 10.55 holds 0.55 of tax, a shirt at 24.00 4.00, standard shipping 4.99 0.83."""
    settings.PRICES_INCLUDE_TAX = True
    TaxRate.objects.create(country="US", rate=D("0.2000"), name="VAT")
    TaxRate.objects.create(country="US", tax_class="reduced", rate=D("0.0550"), name="VAT")
    book = VariantFactory(product=ProductFactory(tax_class="reduced"), price=D("10.55"))
    shirt = VariantFactory(price=D("24.00"))
    customer = UserFactory()
    fill(customer.cart, (book, 1), (shirt, 1))
    return customer, None, {"total": "39.54", "tax_total": "5.38", "shipping_total": "4.99"}


def overlapping_promotions(settings, clothing):
    """docs/pricing.md example I: 20 % off Clothing and 1.50 off each pair of socks."""
    tee = VariantFactory(product=ProductFactory(category=clothing), price=D("19.99"))
    socks = VariantFactory(product=ProductFactory(category=clothing), price=D("5.00"))
    PromotionFactory(code="summer", value=D("20")).categories.add(clothing)
    deal = PromotionFactory(code="socks-deal", kind=Promotion.Kind.FIXED, value=D("1.50"))
    deal.products.add(socks.product)
    customer = UserFactory()
    fill(customer.cart, (tee, 2), (socks, 3))
    return customer, None, {"total": "47.47", "discount_total": "12.50", "shipping_total": "4.99"}


def free_shipping_threshold(settings, clothing):
    """55.00 of socks ships free; the 10 % voucher takes it below 50.00, so it does not."""
    VoucherFactory(code="TEN", value=D("10"))
    customer = UserFactory()
    fill(customer.cart, (VariantFactory(price=D("5.00"), stock_quantity=20), 11))
    return customer, "TEN", {"total": "54.49", "discount_total": "5.50", "shipping_total": "4.99"}


def silver_member_fixed_voucher(settings, clothing):
    """Silver (5 %): three lines of 9.50; 10.00 off shared 3.34, 3.33, 3.33 (example K)."""
    VoucherFactory(code="TENOFF", kind=Voucher.Kind.FIXED, value=D("10.00"))
    customer = UserFactory(membership="silver")
    fill(customer.cart, *((VariantFactory(price=D("10.00")), 1) for _ in range(3)))
    return customer, "TENOFF", {"subtotal": "28.50", "discount_total": "10.00", "total": "23.49"}


@pytest.mark.parametrize(
    "setup",
    [gross_vat_store, overlapping_promotions, free_shipping_threshold, silver_member_fixed_voucher],
)
def test_the_quote_and_the_order_placed_from_it_agree_on_hand_computed_fixtures(
    settings, clothing, setup
):
    customer, voucher, expected = setup(settings, clothing)
    client = client_of(customer)
    asked = {"shipping_address": "1 Main St", **({"voucher_code": voucher} if voucher else {})}

    quoted = client.post("/api/checkout/quote/", asked, format="json").json()
    response = client.post(
        "/api/orders/",
        {**asked, "phone_number": "+1 555 0100", "expected_total": quoted["total"]},
        format="json",
    )

    assert response.status_code == 201, response.content
    order = response.json()
    quoted["shipping_total"] = quoted["shipping"]["price"]
    for name, value in expected.items():
        assert (quoted[name], order[name]) == (value, value), name
    for name in ("subtotal", "discount_total", "shipping_total", "tax_total", "total", "applied"):
        assert order[name] == quoted[name], name
    for item, line in zip(order["items"], quoted["lines"], strict=True):
        for name in ("list_price", "unit_price", "discount_total", "tax_rate", "tax_total"):
            assert item[name] == line[name], name


def test_a_promotion_that_starts_after_the_quote_is_a_409_with_the_new_quote(customer):
    variant = VariantFactory(price=D("10.00"))
    fill(customer.cart, (variant, 1))
    client = client_of(customer)
    quoted = client.post("/api/checkout/quote/", {"shipping_address": "1 Main St"}, format="json")
    PromotionFactory(value=D("50"))
    before = state()

    response = client.post(
        "/api/orders/",
        {**CHECKOUT, "phone_number": "+1 555 0100", "expected_total": quoted.json()["total"]},
        format="json",
    )

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "price_changed"
    assert error["details"]["quote"]["discount_total"] == "5.00"
    assert state() == before


@pytest.mark.parametrize(
    ("voucher", "code", "status"),
    [
        ({"code": "MIN", "min_subtotal": D("100.00")}, "voucher_invalid", 400),
        ({"code": "GOLDONLY", "tiers": ["gold"]}, "voucher_invalid", 400),
        ({"code": "OFF", "is_active": False}, "voucher_invalid", 400),
        ({"code": "USED", "usage_limit": 2, "times_used": 2}, "voucher_exhausted", 400),
    ],
)
def test_a_voucher_that_cannot_be_used_refuses_the_checkout_and_changes_nothing(
    customer, voucher, code, status
):
    VoucherFactory(**voucher)
    fill(customer.cart, (VariantFactory(), 1))
    before = state()

    for path in ("/api/checkout/quote/", "/api/orders/"):
        response = client_of(customer).post(
            path,
            {**CHECKOUT, "phone_number": "+1 555 0100", "voucher_code": voucher["code"].lower()},
            format="json",
        )
        assert response.status_code == status, (path, response.content)
        assert response.json()["error"]["code"] == code
        assert response.json()["error"]["details"]["voucher_code"] == voucher["code"].lower()
    assert state() == before


@pytest.mark.parametrize("code", ["NOSUCH", "x" * 10_000, ""])
def test_an_unknown_or_malformed_code_is_a_400(customer, code):
    fill(customer.cart, (VariantFactory(), 1))
    before = state()

    response = client_of(customer).post(
        "/api/orders/",
        {**CHECKOUT, "phone_number": "+1 555 0100", "voucher_code": code},
        format="json",
    )

    assert response.status_code == 400
    expected = "voucher_invalid" if code == "NOSUCH" else "invalid"
    assert response.json()["error"]["code"] == expected
    assert state() == before


def test_the_per_customer_limit_counts_the_customers_orders_but_not_cancelled_ones(customer):
    voucher = VoucherFactory(code="TWICE", per_customer_limit=2)
    orders = []
    for _ in range(2):
        fill(customer.cart, (VariantFactory(), 1))
        orders.append(
            place_order(customer=customer, voucher_code="TWICE", phone_number="1", **CHECKOUT)[0]
        )
    fill(customer.cart, (VariantFactory(), 1))

    with pytest.raises(VoucherExhausted):
        place_order(customer=customer, voucher_code="TWICE", phone_number="1", **CHECKOUT)
    # Another customer still may.
    other = UserFactory()
    fill(other.cart, (VariantFactory(), 1))
    place_order(customer=other, voucher_code="TWICE", phone_number="1", **CHECKOUT)
    cancel_order(order=orders[0], actor=None)
    order, _ = place_order(customer=customer, voucher_code="TWICE", phone_number="1", **CHECKOUT)

    assert order.voucher_code == "TWICE"
    voucher.refresh_from_db()
    assert voucher.times_used == 3  # 2 + 1 (other) - 1 (cancelled) + 1


def test_a_guest_is_counted_by_email_at_the_quote_and_at_checkout(api_client):
    VoucherFactory(code="ONCE", per_customer_limit=1)
    first = Cart.objects.create()
    fill(first, (VariantFactory(), 1))
    body = {
        "email": "Guest@Example.com",
        "shipping_address": "1 Main St",
        "phone_number": "+1 555 0100",
        "voucher_code": "once",
    }
    placed = api_client.post(f"/api/carts/{first.token}/checkout/", body, format="json")
    assert placed.status_code == 201, placed.content
    second = Cart.objects.create()
    fill(second, (VariantFactory(), 1))

    quoted = api_client.post(f"/api/carts/{second.token}/quote/", body, format="json")
    body["email"] = "guest@example.com"
    refused = api_client.post(f"/api/carts/{second.token}/checkout/", body, format="json")
    other = api_client.post(
        f"/api/carts/{second.token}/quote/", {**body, "email": "else@example.com"}, format="json"
    )

    assert (quoted.status_code, quoted.json()["error"]["code"]) == (400, "voucher_exhausted")
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "voucher_exhausted")
    assert other.status_code == 200


def test_an_idempotent_replay_does_not_claim_a_second_use(customer):
    VoucherFactory(code="ONE", usage_limit=5)
    fill(customer.cart, (VariantFactory(), 1))
    first, created = place_order(
        customer=customer, voucher_code="ONE", idempotency_key="k", phone_number="1", **CHECKOUT
    )
    again, replayed = place_order(
        customer=customer, voucher_code="ONE", idempotency_key="k", phone_number="1", **CHECKOUT
    )

    assert (created, replayed, again.pk) == (True, False, first.pk)
    assert Voucher.objects.get().times_used == 1


def test_a_voucher_withdrawn_after_it_was_read_is_refused(customer):
    from storefront.pricing import quotes, vouchers

    voucher = VoucherFactory(code="GONE")
    rule = quotes.quote_context(country="US", voucher_code="GONE").voucher
    Voucher.objects.filter(pk=voucher.pk).update(is_active=False)

    with pytest.raises(VoucherInvalid):
        vouchers.claim_use(rule, customer=customer, email=customer.email)
    assert Voucher.objects.get().times_used == 0


@pytest.mark.parametrize("lines", [1, 20])
@pytest.mark.parametrize(("limits", "statements"), [({}, 9), ({"per_customer_limit": 3}, 10)])
def test_checkout_with_a_voucher_and_promotions_costs_a_fixed_number_of_statements(
    customer, clothing, lines, limits, statements, django_assert_num_queries
):
    for n in range(3):
        PromotionFactory(value=D(n + 5)).categories.add(clothing)
    PromotionFactory(kind=Promotion.Kind.FIXED, value=D("1.00"))
    VoucherFactory(code="V", **limits)
    fill(
        customer.cart,
        *((VariantFactory(product=ProductFactory(category=clothing)), 1) for _ in range(lines)),
    )
    # place_order's 8 (test_place_order: the context, savepoint, locked lines,
    # idempotency lookup, stock, the order's one insert with its items and discounts,
    # outbox, release), the voucher's claim, and its per-customer count when it has a limit.
    with django_assert_num_queries(statements):
        order, _ = place_order(
            customer=customer, voucher_code="v", idempotency_key="k", phone_number="1", **CHECKOUT
        )
    assert order.items.count() == lines
    assert order.discounts.filter(kind="voucher").count() == 1
