"""The pricing admin (storefront/pricing/admin.py): its pages load for a superuser, and its
forms keep the rules of docs/shipping.md, docs/taxes.md and docs/promotions.md."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client, TestCase

from storefront.accounts.models import User
from storefront.catalog import cache as catalog_cache
from storefront.catalog.tests.factories import CategoryFactory, ProductFactory, TagFactory
from storefront.pricing.models import (
    MembershipTier,
    Promotion,
    ShippingMethod,
    ShippingZone,
    ShippingZoneCountry,
    TaxClass,
    TaxRate,
    Voucher,
)
from storefront.pricing.tests.factories import (
    PromotionFactory,
    VoucherFactory,
    domestic_zone,
    membership_tiers,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("admin@example.com", "pw-for-tests-only"))
    return client


@pytest.fixture
def domestic(db) -> ShippingZone:
    return domestic_zone()


@pytest.fixture
def tax_rates(db) -> list[TaxRate]:
    """California's sales tax and France's standard and reduced VAT."""
    return [
        TaxRate.objects.create(country="US", region="CA", rate=Decimal("0.0725"), name="Sales tax"),
        TaxRate.objects.create(country="FR", rate=Decimal("0.2000"), name="VAT"),
        TaxRate.objects.create(
            country="FR", tax_class=TaxClass.REDUCED, rate=Decimal("0.0550"), name="VAT"
        ),
    ]


def zone_form(name: str, *, rest_of_world: bool = False, countries=(), methods=()) -> dict:
    """The POST body of the zone add page, with its two inline formsets."""
    data = {"name": name, "countries-TOTAL_FORMS": len(countries), "countries-INITIAL_FORMS": 0}
    if rest_of_world:
        data["rest_of_world"] = "on"
    for index, code in enumerate(countries):
        data[f"countries-{index}-country"] = code
    data.update({"methods-TOTAL_FORMS": len(methods), "methods-INITIAL_FORMS": 0})
    for index, method in enumerate(methods):
        values = {"name": "Standard", "price": "4.99", "min_days": 1, "max_days": 5, **method}
        values.setdefault("position", 0)
        values.setdefault("is_active", "on")
        data.update({f"methods-{index}-{field}": value for field, value in values.items()})
    return data


@pytest.mark.parametrize(
    "path",
    [
        "/admin/pricing/shippingzone/",
        "/admin/pricing/shippingzone/?rest_of_world__exact=0&q=US",
        "/admin/pricing/shippingzone/?o=3",
        "/admin/pricing/shippingzone/add/",
        "/admin/pricing/shippingmethod/",
        "/admin/pricing/shippingmethod/?q=express",
        "/admin/pricing/shippingmethod/add/",
        "/admin/pricing/taxrate/",
        "/admin/pricing/taxrate/?country=US&tax_class__exact=standard",
        "/admin/pricing/taxrate/?q=CA",
        "/admin/pricing/taxrate/?q=Sales",
        "/admin/pricing/taxrate/?o=4",
        "/admin/pricing/taxrate/add/",
    ],
)
def test_admin_pages_load(admin_client, domestic, tax_rates, path):
    assert admin_client.get(path).status_code == 200


def test_zone_list_shows_the_counts_in_a_fixed_number_of_queries(
    admin_client, domestic, django_assert_max_num_queries
):
    for n in range(5):
        zone = ShippingZone.objects.create(name=f"Zone {n}")
        ShippingZoneCountry.objects.create(zone=zone, country=["FR", "DE", "IT", "ES", "JP"][n])

    with django_assert_max_num_queries(12):
        page = admin_client.get("/admin/pricing/shippingzone/").content.decode()

    assert '<td class="field-country_count">1</td>' in page
    assert '<td class="field-method_count">2</td>' in page


def test_zone_change_page_shows_its_countries_and_methods(admin_client, domestic):
    page = admin_client.get(f"/admin/pricing/shippingzone/{domestic.pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="standard"' in html and 'value="express"' in html
    assert '<option value="US" selected>' in html


def test_method_change_page_and_list(admin_client, domestic):
    standard = domestic.methods.get(code="standard")

    change = admin_client.get(f"/admin/pricing/shippingmethod/{standard.pk}/change/")
    listing = admin_client.get("/admin/pricing/shippingmethod/").content.decode()

    assert change.status_code == 200
    assert '<td class="field-days">3-5</td>' in listing
    assert '<td class="field-price">4.99</td>' in listing
    assert '<td class="field-free_shipping_threshold">50.00</td>' in listing


def test_admin_adds_a_zone_with_countries_and_methods(admin_client, domestic):
    response = admin_client.post(
        "/admin/pricing/shippingzone/add/",
        zone_form("Europe", countries=["FR", "DE"], methods=[{"code": "eu-standard"}]),
    )

    assert response.status_code == 302, response.content.decode()
    europe = ShippingZone.objects.get(name="Europe")
    assert sorted(europe.countries.values_list("country", flat=True)) == ["DE", "FR"]
    assert list(europe.methods.values_list("code", flat=True)) == ["eu-standard"]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (zone_form("USA", countries=["US"]), "Shipping zone country with this Country already"),
        (
            zone_form("Dup", methods=[{"code": "standard"}]),
            "Shipping method with this Code already",
        ),
        (
            zone_form("World", rest_of_world=True, countries=["FR"]),
            "A rest-of-the-world zone lists no countries",
        ),
        (zone_form("Late", methods=[{"code": "late", "min_days": 6}]), "Must be at most max_days"),
    ],
    ids=["country-in-another-zone", "code-in-another-zone", "world-with-countries", "days"],
)
def test_admin_refuses_what_the_rules_forbid(admin_client, domestic, form, message):
    zones, methods = ShippingZone.objects.count(), ShippingMethod.objects.count()

    response = admin_client.post("/admin/pricing/shippingzone/add/", form)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert (ShippingZone.objects.count(), ShippingMethod.objects.count()) == (zones, methods)


def test_admin_refuses_a_second_rest_of_the_world_zone(admin_client):
    ShippingZone.objects.create(name="International", rest_of_world=True)

    response = admin_client.post(
        "/admin/pricing/shippingzone/add/", zone_form("World", rest_of_world=True)
    )

    assert response.status_code == 200
    assert "is already the rest of the world" in response.content.decode()
    assert ShippingZone.objects.count() == 1


# --- Tax rates -------------------------------------------------------------------------------


def rate_form(country: str = "DE", rate: str = "0.1900", **values) -> dict:
    """The POST body of the tax rate add or change page."""
    return {"country": country, "region": "", "tax_class": "standard", "rate": rate, **values}


def test_tax_rate_list_shows_country_region_class_rate_and_name(admin_client, tax_rates):
    page = admin_client.get("/admin/pricing/taxrate/").content.decode()

    assert '<td class="field-region">CA</td>' in page
    assert '<td class="field-rate">0.0725</td>' in page
    assert '<td class="field-tax_class">Reduced</td>' in page
    assert '<td class="field-name">Sales tax</td>' in page


def test_tax_rate_list_filters_by_country_and_searches_region_and_name(admin_client, tax_rates):
    in_france = admin_client.get("/admin/pricing/taxrate/?country=FR").content.decode()
    sales_tax = admin_client.get("/admin/pricing/taxrate/?q=sales").content.decode()

    assert "0.2000" in in_france and "0.0725" not in in_france
    assert "0.0725" in sales_tax and "0.2000" not in sales_tax


def test_tax_rate_change_page_loads(admin_client, tax_rates):
    california = tax_rates[0]

    page = admin_client.get(f"/admin/pricing/taxrate/{california.pk}/change/")

    assert page.status_code == 200
    assert 'value="0.0725"' in page.content.decode()


def test_admin_adds_and_changes_a_tax_rate(admin_client, tax_rates):
    added = admin_client.post("/admin/pricing/taxrate/add/", rate_form(name="MwSt"))
    germany = TaxRate.objects.get(country="DE")
    changed = admin_client.post(
        f"/admin/pricing/taxrate/{germany.pk}/change/", rate_form(rate="0.1600", name="MwSt")
    )

    assert (added.status_code, changed.status_code) == (302, 302), changed.content.decode()
    germany.refresh_from_db()
    assert (germany.rate, germany.name) == (Decimal("0.1600"), "MwSt")


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (rate_form("FR", "0.2100"), "FR already has a standard rate"),
        (rate_form("US", "0.0800", region="ca"), "US, region &#x27;CA&#x27;, already has"),
        (rate_form(rate="1.5"), "A rate is a fraction from 0 to 1"),
        (rate_form(rate="-0.1"), "A rate is a fraction from 0 to 1"),
        (rate_form(rate="0.12345"), "Ensure that there are no more than 4 decimal places."),
        (rate_form(country="XX"), "Select a valid choice."),
        (rate_form(tax_class="luxury"), "Select a valid choice."),
    ],
    ids=[
        "place-taken",
        "region-in-another-case",
        "above-1",
        "below-0",
        "places",
        "country",
        "class",
    ],
)
def test_admin_refuses_a_tax_rate_the_rules_forbid(admin_client, tax_rates, form, message):
    before = list(TaxRate.objects.order_by("pk").values())

    response = admin_client.post("/admin/pricing/taxrate/add/", form)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert list(TaxRate.objects.order_by("pk").values()) == before


def test_admin_may_save_a_tax_rate_in_its_own_place(admin_client, tax_rates):
    france = tax_rates[1]

    response = admin_client.post(
        f"/admin/pricing/taxrate/{france.pk}/change/", rate_form("FR", "0.2100", name="VAT")
    )

    assert response.status_code == 302, response.content.decode()
    france.refresh_from_db()
    assert france.rate == Decimal("0.2100")


# --- Discounts -------------------------------------------------------------------------------


@pytest.fixture
def discounts(db) -> dict:
    """The three tiers, a promotion on a tag and a voucher used twice."""
    tiers = membership_tiers()
    promotion = PromotionFactory(code="summer", name="Summer", tiers=["gold"])
    promotion.tags.set([TagFactory()])
    voucher = VoucherFactory(code="SUMMER10", usage_limit=10, times_used=2)
    return {"tiers": tiers, "promotion": promotion, "voucher": voucher}


def promotion_form(**values) -> dict:
    """The POST body of the promotion add or change page."""
    return {
        "code": "autumn",
        "name": "Autumn",
        "description": "",
        "kind": "percentage",
        "value": "15",
        "priority": 0,
        "is_active": "on",
        **values,
    }


def voucher_form(**values) -> dict:
    """The POST body of the voucher add or change page."""
    return {"code": "autumn5", "name": "Autumn", "kind": "fixed", "value": "5", **values}


@pytest.mark.parametrize(
    "path",
    [
        "/admin/pricing/membershiptier/",
        "/admin/pricing/promotion/",
        "/admin/pricing/promotion/?kind__exact=percentage&is_active__exact=1",
        "/admin/pricing/promotion/?q=summer",
        "/admin/pricing/promotion/add/",
        "/admin/pricing/voucher/",
        "/admin/pricing/voucher/?kind__exact=fixed&is_active__exact=0",
        "/admin/pricing/voucher/?q=SUMMER",
        "/admin/pricing/voucher/add/",
    ],
)
def test_discount_admin_pages_load(admin_client, discounts, path):
    assert admin_client.get(path).status_code == 200


def test_discount_change_pages_load(admin_client, discounts):
    tier = discounts["tiers"]["gold"]
    pages = [
        f"/admin/pricing/membershiptier/{tier.pk}/change/",
        f"/admin/pricing/promotion/{discounts['promotion'].pk}/change/",
        f"/admin/pricing/voucher/{discounts['voucher'].pk}/change/",
    ]

    for path in pages:
        assert admin_client.get(path).status_code == 200, path
    voucher_page = admin_client.get(pages[2]).content.decode()
    assert "Times used" in voucher_page and 'name="times_used"' not in voucher_page


def test_tiers_are_neither_added_nor_deleted_in_the_admin(admin_client, discounts):
    gold = discounts["tiers"]["gold"]

    added = admin_client.post("/admin/pricing/membershiptier/add/", {"name": "Platinum"})
    deleted = admin_client.post(f"/admin/pricing/membershiptier/{gold.pk}/delete/", {"post": "yes"})

    assert (added.status_code, deleted.status_code) == (403, 403)
    assert MembershipTier.objects.count() == 3


def test_admin_changes_a_tier_and_the_catalog_cache_is_invalidated_on_commit(
    admin_client, discounts
):
    gold = discounts["tiers"]["gold"]
    cache.set(catalog_cache.VERSION_KEY, "v1")

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = admin_client.post(
            f"/admin/pricing/membershiptier/{gold.pk}/change/",
            {"name": "Gold", "discount_percentage": "12.5"},
        )

    assert response.status_code == 302, response.content.decode()
    gold.refresh_from_db()
    assert gold.discount_percentage == Decimal("12.50")
    assert cache.get(catalog_cache.VERSION_KEY) not in (None, "v1")


@pytest.mark.parametrize("percentage", ["100.01", "-1"])
def test_admin_refuses_a_tier_percentage_out_of_range(admin_client, discounts, percentage):
    gold = discounts["tiers"]["gold"]
    before = list(MembershipTier.objects.order_by("pk").values())

    response = admin_client.post(
        f"/admin/pricing/membershiptier/{gold.pk}/change/",
        {"name": "Gold", "discount_percentage": percentage},
    )

    assert response.status_code == 200
    assert "A percentage is from 0 to 100" in response.content.decode()
    assert list(MembershipTier.objects.order_by("pk").values()) == before


def test_admin_adds_a_promotion_with_its_selection_and_tiers(admin_client, discounts):
    category, product = CategoryFactory(), ProductFactory()

    response = admin_client.post(
        "/admin/pricing/promotion/add/",
        promotion_form(
            categories=[category.pk],
            products=[product.pk],
            tiers=["silver", "gold"],
            starts_at_0="2026-09-01",
            starts_at_1="00:00:00",
        ),
    )

    assert response.status_code == 302, response.content.decode()
    autumn = Promotion.objects.get(code="autumn")
    assert autumn.tiers == ["silver", "gold"]
    assert list(autumn.categories.all()) == [category]
    assert list(autumn.products.all()) == [product]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (promotion_form(value="0"), "Must be greater than 0."),
        (promotion_form(value="150"), "A percentage is at most 100"),
        (promotion_form(kind="fixed", value="-1"), "Must be greater than 0."),
        (
            promotion_form(
                starts_at_0="2026-09-01",
                starts_at_1="00:00:00",
                ends_at_0="2026-08-01",
                ends_at_1="00:00:00",
            ),
            "Must be after starts_at",
        ),
        (promotion_form(code="summer"), "Promotion with this Code already exists."),
        (promotion_form(tiers=["platinum"]), "Select a valid choice."),
    ],
    ids=["zero", "percentage-above-100", "negative", "window", "code-taken", "tier"],
)
def test_admin_refuses_a_promotion_the_rules_forbid(admin_client, discounts, form, message):
    before = list(Promotion.objects.order_by("pk").values())

    response = admin_client.post("/admin/pricing/promotion/add/", form)

    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert "Constraint" not in page
    assert list(Promotion.objects.order_by("pk").values()) == before


def test_admin_adds_a_voucher_with_its_code_upper_cased(admin_client, discounts):
    response = admin_client.post(
        "/admin/pricing/voucher/add/", voucher_form(tiers=["bronze"], times_used="9")
    )

    assert response.status_code == 302, response.content.decode()
    voucher = Voucher.objects.get(code="AUTUMN5")
    assert (voucher.value, voucher.tiers, voucher.times_used) == (Decimal("5.00"), ["bronze"], 0)


def test_admin_changes_a_voucher_and_keeps_its_uses(admin_client, discounts):
    voucher = discounts["voucher"]

    response = admin_client.post(
        f"/admin/pricing/voucher/{voucher.pk}/change/",
        voucher_form(code="summer10", usage_limit="2", times_used="0"),
    )

    assert response.status_code == 302, response.content.decode()
    voucher.refresh_from_db()
    assert (voucher.code, voucher.kind, voucher.usage_limit, voucher.times_used) == (
        "SUMMER10",
        "fixed",
        2,
        2,
    )


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (voucher_form(code="autumn 5"), "1 to 64 letters, digits, - and _."),
        (voucher_form(code="straße"), "1 to 64 letters, digits, - and _."),
        (voucher_form(code="summer10"), "A voucher with this code already exists"),
        (voucher_form(kind="free_shipping"), "A free-shipping voucher has no value"),
        (voucher_form(kind="percentage", value="101"), "A percentage is at most 100"),
        (voucher_form(value="0"), "Must be greater than 0."),
        (
            voucher_form(
                starts_at_0="2026-09-01",
                starts_at_1="00:00:00",
                ends_at_0="2026-09-01",
                ends_at_1="00:00:00",
            ),
            "Must be after starts_at",
        ),
    ],
    ids=[
        "space",
        "non-ascii",
        "code-taken-other-case",
        "free-shipping",
        "percentage",
        "zero",
        "window",
    ],
)
def test_admin_refuses_a_voucher_the_rules_forbid(admin_client, discounts, form, message):
    before = list(Voucher.objects.order_by("pk").values())

    response = admin_client.post("/admin/pricing/voucher/add/", form)

    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert "Constraint" not in page
    assert list(Voucher.objects.order_by("pk").values()) == before


def test_admin_refuses_a_usage_limit_below_the_uses(admin_client, discounts):
    voucher = discounts["voucher"]
    before = list(Voucher.objects.order_by("pk").values())

    response = admin_client.post(
        f"/admin/pricing/voucher/{voucher.pk}/change/",
        voucher_form(code="SUMMER10", usage_limit="1"),
    )

    assert response.status_code == 200
    assert "Already used 2 times: the limit may not be below that." in response.content.decode()
    assert list(Voucher.objects.order_by("pk").values()) == before
