"""Member prices, promotions and vouchers: docs/pricing.md's examples H to N, to the cent,
and the rules around them (which promotion wins, voucher conditions, the fixed voucher's
shares, the one statement that reads the context)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import Cart, CartItem
from storefront.catalog.tests.factories import (
    CategoryFactory,
    CollectionFactory,
    ProductFactory,
    TagFactory,
    VariantFactory,
)
from storefront.pricing import quotes
from storefront.pricing.exceptions import VoucherExhausted, VoucherExpired, VoucherInvalid
from storefront.pricing.models import Promotion, TaxRate, Voucher
from storefront.pricing.tests.factories import (
    PromotionFactory,
    VoucherFactory,
    domestic_zone,
    membership_tiers,
)

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture(autouse=True)
def us_shop():
    domestic_zone("US")
    membership_tiers()


@pytest.fixture
def clothing():
    return CategoryFactory(name="Clothing", slug="clothing")


@pytest.fixture
def tee(clothing):
    return VariantFactory(product=ProductFactory(category=clothing), price=D("19.99"), sku="TEE")


@pytest.fixture
def socks(clothing):
    return VariantFactory(product=ProductFactory(category=clothing), price=D("5.00"), sku="SOCKS")


def cart_with(*lines) -> Cart:
    cart = Cart.objects.create()
    for variant, quantity in lines:
        CartItem.objects.create(cart=cart, variant=variant, quantity=quantity)
    return cart


def quote(cart, *, membership=None, voucher=None, method=None, region="") -> quotes.Quote:
    context = quotes.quote_context(
        country="US", region=region, membership=membership, voucher_code=voucher
    )
    lines = list(quotes.with_promotion_targets(CartItem.objects.filter(cart=cart)).order_by("id"))
    return quotes.build_quote(lines=lines, context=context, shipping_method=method)


def applied(q: quotes.Quote) -> list[tuple[str, str, Decimal]]:
    return [(a.kind, a.code, a.amount) for a in q.applied]


# --- The worked examples ---------------------------------------------------------------------


def test_h_member_prices(tee, socks):
    cart = cart_with((tee, 2), (socks, 1))

    gold = quote(cart, membership="gold")
    silver = quote(cart, membership="silver")
    bronze = quote(cart, membership="bronze")

    assert [(line.unit_price, line.line_total) for line in gold.lines] == [
        (D("17.99"), D("35.98")),
        (D("4.50"), D("4.50")),
    ]
    assert [line.list_price for line in gold.lines] == [D("19.99"), D("5.00")]
    assert (gold.subtotal, gold.discount_total, gold.total) == (D("40.48"), 0, D("45.47"))
    assert applied(gold) == [("membership", "gold", D("4.50"))]
    assert [line.unit_price for line in silver.lines] == [D("18.99"), D("4.75")]
    assert silver.total == D("47.72")
    # 0 %: list prices, nothing listed.
    assert (bronze.total, bronze.applied) == (D("49.97"), ())
    assert quote(cart).total == D("49.97")


def test_i_overlapping_promotions_the_larger_wins_at_equal_priority(clothing, tee, socks):
    summer = PromotionFactory(code="summer", value=D("20"))
    summer.categories.add(clothing)
    deal = PromotionFactory(code="socks-deal", kind=Promotion.Kind.FIXED, value=D("1.50"))
    deal.products.add(socks.product)
    cart = cart_with((tee, 2), (socks, 3))

    q = quote(cart)

    assert [line.discount_total for line in q.lines] == [D("8.00"), D("4.50")]
    assert [line.promotion_id for line in q.lines] == [summer.pk, deal.pk]
    assert (q.subtotal, q.discount_total) == (D("54.98"), D("12.50"))
    assert q.shipping.price == D("4.99")
    assert q.total == D("47.47")
    assert applied(q) == [
        ("promotion", "socks-deal", D("4.50")),
        ("promotion", "summer", D("8.00")),
    ]

    Promotion.objects.filter(pk=summer.pk).update(priority=1)
    assert [line.discount_total for line in quote(cart).lines] == [D("8.00"), D("3.00")]
    assert quote(cart).total == D("48.97")


def test_j_member_price_promotion_and_voucher(clothing, tee, socks):
    PromotionFactory(code="summer", value=D("20")).categories.add(clothing)
    VoucherFactory(code="WELCOME10", value=D("10"))
    cart = cart_with((tee, 2), (socks, 1))

    q = quote(cart, membership="gold", voucher="welcome10")

    assert [line.line_total for line in q.lines] == [D("35.98"), D("4.50")]
    assert [line.discount_total for line in q.lines] == [D("10.08"), D("1.26")]
    assert (q.subtotal, q.discount_total, q.total) == (D("40.48"), D("11.34"), D("34.13"))
    assert applied(q) == [
        ("membership", "gold", D("4.50")),
        ("promotion", "summer", D("8.10")),
        ("voucher", "WELCOME10", D("3.24")),
    ]
    assert q.as_json()["applied"][2] == {
        "kind": "voucher",
        "code": "WELCOME10",
        "name": Voucher.objects.get().name,
        "amount": "3.24",
        "description": "10 % off the order",
    }


def test_k_a_fixed_voucher_is_shared_to_the_cent():
    variants = [VariantFactory(price=D("10.00")) for _ in range(3)]
    VoucherFactory(code="TENOFF", kind=Voucher.Kind.FIXED, value=D("10.00"))

    q = quote(cart_with(*((v, 1) for v in variants)), voucher="TENOFF")

    assert [line.discount_total for line in q.lines] == [D("3.34"), D("3.33"), D("3.33")]
    assert q.discount_total == D("10.00")
    assert q.total == D("24.99")


def test_l_free_shipping(tee, socks):
    VoucherFactory(code="FREESHIP", kind=Voucher.Kind.FREE_SHIPPING, value=0)
    cart = cart_with((tee, 2), (socks, 1))

    standard = quote(cart, voucher="FREESHIP")
    express = quote(cart, voucher="FREESHIP", method="express")

    assert (standard.shipping.price, standard.total) == (D("0.00"), D("44.98"))
    assert {offer.price for offer in standard.shipping_methods} == {D("0.00")}
    assert applied(standard) == [("voucher", "FREESHIP", D("4.99"))]
    assert (express.total, applied(express)) == (D("44.98"), [("voucher", "FREESHIP", D("14.99"))])


def test_m_tax_on_what_the_line_costs_after_its_discounts(tee):
    TaxRate.objects.create(country="US", region="CA", rate=D("0.0725"), name="Sales tax")
    VoucherFactory(code="WELCOME10", value=D("10"))

    q = quote(cart_with((tee, 2)), voucher="WELCOME10", region="CA")

    assert q.lines[0].discount_total == D("4.00")
    assert q.lines[0].tax_total == D("2.61")
    assert q.tax_total == D("2.97")
    assert q.total == D("43.94")


def test_n_refused_vouchers(tee, socks):
    cart = cart_with((tee, 2), (socks, 1))
    now = timezone.now()
    VoucherFactory(code="BIG", min_subtotal=D("50.00"))
    VoucherFactory(code="OLD", starts_at=now - timedelta(days=9), ends_at=now - timedelta(days=1))
    VoucherFactory(code="SOON", starts_at=now + timedelta(days=1))
    VoucherFactory(code="USED", usage_limit=3, times_used=3)
    VoucherFactory(code="OFF", is_active=False)
    VoucherFactory(code="GOLDONLY", tiers=["gold"])

    with pytest.raises(VoucherInvalid) as below:
        quote(cart, voucher="big")
    assert below.value.details == {"voucher_code": "big", "min_subtotal": "50.00"}
    for code in ("NOPE", "SOON", "OFF", "GOLDONLY"):
        with pytest.raises(VoucherInvalid):
            quote(cart, voucher=code)
    with pytest.raises(VoucherExpired):
        quote(cart, voucher="OLD")
    with pytest.raises(VoucherExhausted):
        quote(cart, voucher="USED")
    assert quote(cart, voucher="GOLDONLY", membership="gold").discount_total > 0


# --- The rules around them ------------------------------------------------------------------


def test_a_promotion_selects_by_category_subtree_collection_tag_or_product():
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    in_child = VariantFactory(product=ProductFactory(category=child), price=D("10.00"))
    collected = VariantFactory(price=D("10.00"))
    tagged = VariantFactory(price=D("10.00"))
    named = VariantFactory(price=D("10.00"))
    other = VariantFactory(price=D("10.00"))
    collection, tag = CollectionFactory(), TagFactory()
    collected.product.collections.add(collection)
    tagged.product.tags.add(tag)
    promotion = PromotionFactory(value=D("50"))
    promotion.categories.add(root)
    promotion.collections.add(collection)
    promotion.tags.add(tag)
    promotion.products.add(named.product)

    q = quote(cart_with(*((v, 1) for v in (in_child, collected, tagged, named, other))))

    assert [line.discount_total for line in q.lines] == [D("5.00")] * 4 + [D("0.00")]


def test_a_promotion_applies_within_its_window_and_to_its_tiers_only(tee):
    now = timezone.now()
    PromotionFactory(value=D("10"), starts_at=now + timedelta(hours=1))
    PromotionFactory(value=D("20"), ends_at=now - timedelta(hours=1))
    PromotionFactory(value=D("30"), is_active=False)
    PromotionFactory(value=D("40"), tiers=["silver", "gold"])
    cart = cart_with((tee, 1))

    assert quote(cart).discount_total == 0
    assert quote(cart, membership="bronze").discount_total == 0
    # 40 % of the silver price, 18.99.
    assert quote(cart, membership="silver").discount_total == D("7.60")


def test_a_fixed_promotion_never_takes_more_than_the_unit_price():
    cheap = VariantFactory(price=D("3.00"))
    PromotionFactory(kind=Promotion.Kind.FIXED, value=D("5.00"))

    q = quote(cart_with((cheap, 2)))

    assert q.lines[0].discount_total == D("6.00")
    assert q.total == D("4.99")


def test_a_fixed_voucher_is_capped_at_what_the_lines_cost(tee):
    VoucherFactory(code="HUGE", kind=Voucher.Kind.FIXED, value=D("500.00"))

    q = quote(cart_with((tee, 1)), voucher="HUGE")

    assert q.discount_total == D("19.99")
    assert q.total == D("4.99")
    assert applied(q) == [("voucher", "HUGE", D("19.99"))]


def test_the_free_shipping_threshold_counts_the_subtotal_after_the_voucher(socks):
    VoucherFactory(code="TEN", value=D("10"))
    cart = cart_with((socks, 11))  # 55.00, 49.50 after the voucher

    assert quote(cart).shipping.price == D("0.00")
    assert quote(cart, voucher="TEN").shipping.price == D("4.99")


def test_voucher_codes_compare_ignoring_case(tee):
    VoucherFactory(code="SPRING-25", value=D("25"))

    assert quote(cart_with((tee, 1)), voucher="spring-25").discount_total == D("5.00")


@pytest.mark.parametrize(
    ("total", "weights", "shares"),
    [
        ("10.00", ["10.00", "10.00", "10.00"], ["3.34", "3.33", "3.33"]),
        ("0.01", ["5.00", "5.00"], ["0.01", "0.00"]),
        ("1.00", ["0.01", "99.99"], ["0.00", "1.00"]),
        ("7.00", ["1.00", "2.00", "4.00"], ["1.00", "2.00", "4.00"]),
        ("0.05", ["0.01", "0.01", "0.01", "0.01", "0.01"], ["0.01"] * 5),
        ("5.00", ["0.00", "10.00"], ["0.00", "5.00"]),
    ],
)
def test_allocate_shares_sum_to_the_total_and_stay_within_their_weights(total, weights, shares):
    result = quotes.allocate(D(total), [D(w) for w in weights])

    assert result == [D(s) for s in shares]
    assert sum(result) == D(total)
    assert all(share <= D(w) for share, w in zip(result, weights, strict=True))


def test_the_context_is_one_statement_and_the_quote_none_for_any_number_of_promotions(
    clothing, tee, django_assert_num_queries
):
    for n in range(5):
        PromotionFactory(value=D(n + 1)).categories.add(clothing)
    VoucherFactory(code="WELCOME10")
    cart = cart_with((tee, 1))
    lines = list(quotes.with_promotion_targets(CartItem.objects.filter(cart=cart)))

    with django_assert_num_queries(1):
        context = quotes.quote_context(country="US", membership="gold", voucher_code="WELCOME10")
    with django_assert_num_queries(0):
        q = quotes.build_quote(lines=lines, context=context)

    assert len(context.promotions) == 5
    assert (context.tier_name, context.tier_percentage) == ("Gold", D("10.00"))
    assert q.applied[1].amount == D("0.90")  # 5 % of 17.99 (ties in priority: the largest)


def test_member_price_rounds_half_up_per_unit():
    assert quotes.member_price(D("0.05"), D("10")) == D("0.05")  # 0.045
    assert quotes.member_price(D("19.99"), D("5")) == D("18.99")  # 18.9905
    assert quotes.member_price(D("0.01"), D("50")) == D("0.01")  # 0.005
    assert quotes.member_price(D("10.00"), D("0")) == D("10.00")
    assert quotes.member_price(D("10.00"), D("100")) == D("0.00")


def test_a_membership_without_a_tier_row_pays_list_prices(tee):
    from storefront.pricing.models import MembershipTier

    MembershipTier.objects.filter(code="gold").delete()

    assert quote(cart_with((tee, 1)), membership="gold").lines[0].unit_price == D("19.99")
    assert quotes.tier_discount("gold") == 0
    assert quotes.membership_of(UserFactory(membership="silver")) == "silver"
