"""The shipping admin (storefront/pricing/admin.py): its pages load for a superuser, and its
forms keep the rules of docs/shipping.md."""

import pytest
from django.test import Client

from storefront.accounts.models import User
from storefront.pricing.models import ShippingMethod, ShippingZone, ShippingZoneCountry
from storefront.pricing.tests.factories import domestic_zone

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("admin@example.com", "pw-for-tests-only"))
    return client


@pytest.fixture
def domestic(db) -> ShippingZone:
    return domestic_zone()


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
    ],
)
def test_admin_pages_load(admin_client, domestic, path):
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
