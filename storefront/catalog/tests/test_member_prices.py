"""Member prices in the catalog: `price` is the viewer's price (the member price at the tier of
their membership, pricing.quotes.member_price; the list price for anonymous visitors) and
`list_price` the undiscounted one, in the list, the detail, the SKU lookup, the price
filters and the facets; cached apart for each tier."""

import decimal
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test import TestCase
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.catalog import cache
from storefront.catalog.documents import product_documents
from storefront.catalog.models import Product
from storefront.catalog.querysets import ABOVE_EVERY_PRICE, list_price_bound_sql
from storefront.catalog.tests.factories import (
    CategoryFactory,
    ProductFactory,
    VariantFactory,
    product_with,
)
from storefront.catalog.tests.helpers import LIST_URL, detail_url, ids
from storefront.pricing.models import MembershipTier
from storefront.pricing.quotes import member_price

pytestmark = pytest.mark.django_db

CENT = Decimal("0.01")
FACETS_URL = "/api/products/facets/"
LOOKUP_URL = "/api/variants/"
# The tiers as migration pricing 0003 creates them.
TIERS = {"bronze": Decimal("0"), "silver": Decimal("5"), "gold": Decimal("10")}
MEMBERSHIPS = [None, *TIERS]
# Percentages a tier may take (two decimals, 0 to 100), halves and extremes included.
PERCENTAGES = [Decimal(p) for p in ("0", "5", "10", "12.5", "33.33", "50", "50.5", "99.99", "100")]


@pytest.fixture(autouse=True)
def tiers():
    """The tiers of migration pricing 0003, whatever a test that flushed the tables left."""
    for code, percentage in TIERS.items():
        MembershipTier.objects.update_or_create(
            code=code, defaults={"name": code.title(), "discount_percentage": percentage}
        )


def set_tier(code: str, percentage: Decimal) -> None:
    MembershipTier.objects.filter(code=code).update(discount_percentage=percentage)


def client_for(membership: str | None, *, staff: bool = False) -> APIClient:
    """An API client of an anonymous visitor (None) or of a customer of `membership`."""
    client = APIClient()
    if membership is not None:
        factory = StaffFactory if staff else UserFactory
        client.force_authenticate(factory(membership=membership))
    return client


def committed():
    """Run the on-commit callbacks (cache invalidation) of the writes inside, as their commit
    would: a test's own transaction never commits."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def viewer(price: str, membership: str | None) -> str:
    """`price` as a viewer of `membership` sees it, as the API writes it."""
    percentage = TIERS[membership] if membership else Decimal("0")
    return str(member_price(Decimal(price), percentage))


# --- The rounding rule: SQL and Python agree ------------------------------------------------

PRICES = [
    Decimal(p)
    for p in (
        "0.00",
        "0.01",
        "0.05",
        "0.10",
        "0.15",
        "0.25",
        "0.45",
        "1.05",
        "2.50",
        "9.95",
        "18.99",
        "19.99",
        "20.10",
        "99.99",
        "123.45",
        "1000.05",
        "33333.33",
        "9999999999.99",
        "9999999999.95",
        "5000000000.01",
    )
] + [(Decimal(cents) / 100).quantize(CENT) for cents in range(1, 160, 3)]


@pytest.mark.parametrize("percentage", PERCENTAGES)
def test_documents_round_member_prices_as_quotes_member_price(percentage):
    """round(price * (100 - pct) / 100, 2) in the documents SQL equals member_price, halves
    included (0.05 at 10 %: 0.045 -> 0.05; 19.99 at 5 %: 18.9905 -> 18.99; 0.01 at 50 %:
    0.005 -> 0.01; 0.01 at 50.5 %: 0.00495 -> 0.00), up to the largest price."""
    product = ProductFactory()
    variants = [VariantFactory(product=product, price=price) for price in PRICES]
    set_tier("gold", percentage)

    [document] = product_documents(
        [product.pk], request=None, published_only=True, membership="gold"
    )

    shown = {
        variant["id"]: (variant["price"], variant["list_price"]) for variant in document["variants"]
    }
    assert shown == {
        variant.pk: (str(member_price(variant.price, percentage)), str(variant.price))
        for variant in variants
    }
    assert document["price"] == str(member_price(min(PRICES), percentage))
    assert document["list_price"] == str(min(PRICES))


def test_the_halves_of_the_issue_round_up():
    assert member_price(Decimal("0.05"), Decimal("10")) == Decimal("0.05")
    assert member_price(Decimal("19.99"), Decimal("5")) == Decimal("18.99")
    assert member_price(Decimal("0.01"), Decimal("50")) == Decimal("0.01")


# --- Price bounds: a bound on member prices is an exact bound on list prices ----------------

BOUNDS = [
    Decimal(b)
    for b in (
        "0.01",
        "0.04",
        "0.05",
        "0.06",
        "0.99",
        "1",
        "18.99",
        "19",
        "19.99",
        "25.5",
        "100",
        "8999999999.99",
        "9999999999.99",
        "1" + "0" * 40,
        "9" * 50 + ".99",
    )
] + [Decimal(cents) / 100 for cents in range(2, 140, 7)]


def bounds_in_sql(bounds: list[Decimal], *, highest: bool, membership: str) -> list[Decimal]:
    """list_price_bound_sql of each bound, in one statement."""
    sql = list_price_bound_sql(highest=highest)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join([sql] * len(bounds)),
            [param for bound in bounds for param in (bound, membership)],
        )
        return list(cursor.fetchone())


@pytest.mark.parametrize("percentage", PERCENTAGES)
def test_the_list_price_bounds_are_exact(percentage):
    """For each bound X on member prices: the highest list price whose member price is at most
    X, and the lowest whose member price is at least X (checked against member_price with
    the cent on either side: member prices never decrease as list prices grow)."""
    set_tier("gold", percentage)

    highest = bounds_in_sql(BOUNDS, highest=True, membership="gold")
    lowest = bounds_in_sql(BOUNDS, highest=False, membership="gold")

    with decimal.localcontext(prec=120):  # exact, for bounds of 50 digits
        for bound, high, low in zip(BOUNDS, highest, lowest, strict=True):
            if percentage == 100:  # every member price is 0
                assert (high, low) == (ABOVE_EVERY_PRICE, ABOVE_EVERY_PRICE)
                continue
            assert member_price(high, percentage) <= bound < member_price(high + CENT, percentage)
            assert member_price(low, percentage) >= bound > member_price(low - CENT, percentage)


def test_a_price_filter_keeps_to_the_index_for_a_member():
    product_with(1, prices=("10.00",))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = (
            Product.objects.published()
            .price_between(low=Decimal("5"), high=Decimal("20"), membership="gold")
            .order_by()
            .values("id")
            .explain()
        )

    assert "Index" in plan
    assert "Index Cond" in plan and "min_price >=" in plan and "min_price <=" in plan


# --- List and detail -----------------------------------------------------------------------


@pytest.mark.parametrize("membership", MEMBERSHIPS)
def test_list_and_detail_show_the_viewers_prices(membership):
    product = product_with(1, 1, prices=("25.00", "19.99"))
    client = client_for(membership)

    listed = client.get(LIST_URL).json()["results"][0]
    detail = client.get(detail_url(product.pk)).json()

    for body in (listed, detail):
        assert (body["price"], body["list_price"]) == (viewer("19.99", membership), "19.99")
        assert [(v["price"], v["list_price"]) for v in body["variants"]] == [
            (viewer("19.99", membership), "19.99"),
            (viewer("25.00", membership), "25.00"),
        ]
    assert listed == detail


def test_each_tier_has_its_own_price():
    product_with(1, prices=("19.99",))

    prices = {m: client_for(m).get(LIST_URL).json()["results"][0]["price"] for m in MEMBERSHIPS}

    assert prices == {None: "19.99", "bronze": "19.99", "silver": "18.99", "gold": "17.99"}


def test_a_member_without_a_tier_row_sees_list_prices():
    product = product_with(1, prices=("19.99",))
    MembershipTier.objects.filter(code="gold").delete()

    body = client_for("gold").get(detail_url(product.pk)).json()

    assert (body["price"], body["list_price"]) == ("19.99", "19.99")


@pytest.mark.parametrize("membership", MEMBERSHIPS)
def test_reads_cost_what_they_cost_anonymous_visitors(
    membership, settings, django_assert_num_queries
):
    settings.CATALOG_CACHE_SECONDS = 0
    product = product_with(1, prices=("19.99",))
    sku = product.variants.get().sku
    client = client_for(membership)

    # The list: the count, the page's ids, the page's JSON (the tier read inside it).
    with django_assert_num_queries(3):
        client.get(LIST_URL)
    with django_assert_num_queries(1):
        client.get(detail_url(product.pk))
    # The filtered list: the same three, the bounds computed in the statements.
    with django_assert_num_queries(3):
        client.get(LIST_URL, {"min_price": "1", "max_price": "50", "ordering": "price"})
    # The facets: summary (with the tier), categories, bands, tags, collections.
    with django_assert_num_queries(5):
        client.get(FACETS_URL, {"min_price": "1", "max_price": "50"})
    with django_assert_num_queries(1):
        client.get(LOOKUP_URL, {"sku": sku})


# --- The response cache keys by tier ---------------------------------------------------------


@pytest.mark.parametrize(("first", "then"), [(None, "gold"), ("gold", None), ("gold", "silver")])
@pytest.mark.parametrize("path", ["list", "detail", "facets"])
def test_a_cached_answer_is_never_served_to_another_tier(first, then, path):
    product = product_with(1, prices=("19.99",))
    url = {"list": LIST_URL, "detail": detail_url(product.pk), "facets": FACETS_URL}[path]
    client_for(first).get(url)  # cached for `first`

    body = client_for(then).get(url).json()

    price = {
        "list": lambda: body["results"][0]["price"],
        "detail": lambda: body["price"],
        "facets": lambda: body["price"]["min"],
    }[path]()
    assert price == viewer("19.99", then)


def test_customers_of_one_tier_share_its_cached_answers(django_assert_num_queries):
    product_with(1, prices=("19.99",))
    first, second = client_for("gold"), client_for("gold")
    first.get(LIST_URL)

    with django_assert_num_queries(0):
        body = second.get(LIST_URL).json()

    assert body["results"][0]["price"] == "17.99"


def test_staff_reads_stay_uncached_and_apart(django_assert_max_num_queries):
    product_with(1, prices=("19.99",))
    product_with(1, prices=("5.00",), is_published=False)
    staff = client_for("gold", staff=True)
    staff.get(LIST_URL)

    with django_assert_max_num_queries(10) as captured:
        seen_by_staff = staff.get(LIST_URL).json()
    read_the_database = len(captured) > 0  # before the next request resets the query log
    seen_by_gold = client_for("gold").get(LIST_URL).json()

    assert read_the_database
    assert seen_by_staff["count"] == 2
    assert [p["price"] for p in seen_by_staff["results"]] == ["4.50", "17.99"]
    assert seen_by_gold["count"] == 1


def test_a_staff_change_of_a_tier_shows_on_the_next_read():
    product = product_with(1, prices=("19.99",))
    gold = client_for("gold")
    assert gold.get(detail_url(product.pk)).json()["price"] == "17.99"
    assert gold.get(LIST_URL).json()["results"][0]["price"] == "17.99"

    # As the staff endpoint writes a tier: the row, then the invalidation, in a transaction.
    with committed(), transaction.atomic():
        MembershipTier.objects.filter(code="gold").update(discount_percentage=Decimal("20"))
        cache.invalidate_catalog()

    assert gold.get(detail_url(product.pk)).json()["price"] == "15.99"
    assert gold.get(LIST_URL).json()["results"][0]["price"] == "15.99"
    assert client_for(None).get(detail_url(product.pk)).json()["price"] == "19.99"


# --- Price filters, ordering and facets at the viewer's prices -----------------------------


@pytest.fixture
def cents():
    """Products at list prices around the halves of a 10 % discount: gold pays 0.05 for 0.05
    (0.045) and 0.06 (0.054), 0.06 for 0.07 (0.063)."""
    category = CategoryFactory(slug="cheap")
    return {
        price: product_with(1, prices=(price,), category=category)
        for price in ("0.04", "0.05", "0.06", "0.07", "19.99", "20.00")
    }


EVERY_PRICE = ["0.04", "0.05", "0.06", "0.07", "19.99", "20.00"]


@pytest.mark.parametrize(
    ("query", "anonymous", "gold"),
    [
        ({"max_price": "0.05"}, ["0.04", "0.05"], ["0.04", "0.05", "0.06"]),
        ({"min_price": "0.06"}, ["0.06", "0.07", "19.99", "20.00"], ["0.07", "19.99", "20.00"]),
        ({"min_price": "0.05", "max_price": "0.05"}, ["0.05"], ["0.05", "0.06"]),
        ({"max_price": "18"}, ["0.04", "0.05", "0.06", "0.07"], EVERY_PRICE),
        ({"min_price": "17.99", "max_price": "18"}, [], ["19.99", "20.00"]),
        ({"min_price": "0"}, EVERY_PRICE, EVERY_PRICE),
        # Whole amounts past 2,147 (sent as integers: 10**6 times one overflowed int4).
        ({"min_price": "501281"}, [], []),
        ({"max_price": "999999999"}, EVERY_PRICE, EVERY_PRICE),
    ],
)
def test_price_filters_bound_the_viewers_price(cents, query, anonymous, gold):
    low, high = Decimal(query.get("min_price", "0")), Decimal(query.get("max_price", "1e9"))
    for membership, expected in ((None, anonymous), ("gold", gold)):
        response = client_for(membership).get(LIST_URL, {**query, "ordering": "price"})

        assert ids(response) == [cents[price].pk for price in expected], membership
        assert all(low <= Decimal(p["price"]) <= high for p in response.json()["results"])


def test_price_filters_select_by_member_price_at_any_percentage(cents, settings):
    """Each bound, for each percentage: the filter selects exactly the products whose member
    price is within it."""
    settings.CATALOG_CACHE_SECONDS = 0
    gold = client_for("gold")
    bounds = ["0", "0.01", "0.03", "0.04", "0.05", "0.06", "0.07", "10", "17.99", "18", "20"]
    for percentage in PERCENTAGES:
        set_tier("gold", percentage)
        member = {p.pk: member_price(Decimal(price), percentage) for price, p in cents.items()}
        for bound in bounds:
            at_most = set(ids(gold.get(LIST_URL, {"max_price": bound})))
            at_least = set(ids(gold.get(LIST_URL, {"min_price": bound})))

            assert at_most == {pk for pk, price in member.items() if price <= Decimal(bound)}
            assert at_least == {pk for pk, price in member.items() if price >= Decimal(bound)}


def test_price_ordering_orders_the_viewers_prices(cents):
    body = client_for("gold").get(LIST_URL, {"ordering": "-price"}).json()

    prices = [Decimal(product["price"]) for product in body["results"]]
    assert prices == sorted(prices, reverse=True)
    assert [product["list_price"] for product in body["results"]] == EVERY_PRICE[::-1]


@pytest.mark.parametrize("membership", MEMBERSHIPS)
def test_facet_prices_are_the_viewers_and_bands_select_what_the_filters_do(cents, membership):
    client = client_for(membership)

    price = client.get(FACETS_URL).json()["price"]

    assert (price["min"], price["max"]) == (viewer("0.04", membership), viewer("20.00", membership))
    assert sum(band["count"] for band in price["bands"]) == len(cents)
    for band in price["bands"]:
        listed = client.get(LIST_URL, {"min_price": band["min"], "max_price": band["max"]})
        assert listed.json()["count"] == band["count"], band


def test_gold_facets_with_price_filters_count_gold_prices(cents):
    body = client_for("gold").get(FACETS_URL, {"max_price": "0.05"}).json()

    # 0.04, 0.05 and 0.06 cost gold 0.04, 0.05 and 0.05.
    assert body["count"] == 3
    assert (body["price"]["min"], body["price"]["max"]) == ("0.04", "18.00")


# --- SKU lookup ------------------------------------------------------------------------------


@pytest.mark.parametrize("membership", MEMBERSHIPS)
def test_sku_lookup_shows_the_viewers_price(membership):
    VariantFactory(sku="A-1", price=Decimal("19.99"))

    [variant] = client_for(membership).get(LOOKUP_URL, {"sku": "A-1"}).json()

    assert (variant["price"], variant["list_price"]) == (viewer("19.99", membership), "19.99")


def test_the_sync_answers_the_staff_members_price():
    VariantFactory(sku="A-1", price=Decimal("19.99"))
    staff = client_for("gold", staff=True)

    response = staff.patch(
        "/api/variants/stock/", {"items": [{"sku": "A-1", "price": "30.00"}]}, format="json"
    )

    [variant] = response.json()
    assert (variant["price"], variant["list_price"]) == ("27.00", "30.00")
