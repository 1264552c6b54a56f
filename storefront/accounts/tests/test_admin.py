import pytest
from django.forms import inlineformset_factory

from storefront.accounts.admin import AddressInlineFormSet
from storefront.accounts.models import Address, User
from storefront.accounts.tests.factories import AddressFactory, UserFactory

pytestmark = pytest.mark.django_db

USERS_URL = "/admin/accounts/user/"
ADDRESSES_URL = "/admin/accounts/address/"


def test_user_changelist_searches_by_email_and_name(admin):
    UserFactory(email="ada@example.com", first_name="Ada")
    UserFactory(email="grace@example.com", first_name="Grace")

    response = admin.get(USERS_URL, {"q": "Ada"})

    assert response.status_code == 200
    assert [user.email for user in response.context["cl"].result_list] == ["ada@example.com"]


def test_user_changelist_filters_by_membership_and_orders_by_email(admin):
    UserFactory(email="zed@example.com", membership="gold")
    UserFactory(email="amy@example.com", membership="gold")
    UserFactory(email="bob@example.com", membership="silver")

    response = admin.get(USERS_URL, {"membership__exact": "gold"})

    emails = [user.email for user in response.context["cl"].result_list]
    assert emails == ["amy@example.com", "zed@example.com"]


def test_user_changelist_filters_by_staff(admin):
    UserFactory(email="customer@example.com")

    response = admin.get(USERS_URL, {"is_staff__exact": "1"})

    assert [user.email for user in response.context["cl"].result_list] == ["root@example.com"]


def test_user_add_form_asks_for_email_and_password_twice(admin):
    response = admin.get(f"{USERS_URL}add/")

    assert response.status_code == 200
    assert list(response.context["adminform"].form.fields) == ["email", "password1", "password2"]


def test_user_add_creates_a_user_with_a_hashed_password(admin):
    response = admin.post(
        f"{USERS_URL}add/",
        {
            "email": "New@Example.com",
            "password1": "a-long-password-9",
            "password2": "a-long-password-9",
        },
    )

    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    assert user.check_password("a-long-password-9")
    assert user.password != "a-long-password-9"


def test_user_add_refuses_an_email_taken_in_another_case(admin):
    UserFactory(email="taken@example.com")

    response = admin.post(
        f"{USERS_URL}add/",
        {
            "email": "TAKEN@example.com",
            "password1": "a-long-password-9",
            "password2": "a-long-password-9",
        },
    )

    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors
    assert User.objects.filter(email="taken@example.com").count() == 1


def test_user_add_refuses_mismatched_passwords(admin):
    response = admin.post(
        f"{USERS_URL}add/",
        {
            "email": "new@example.com",
            "password1": "a-long-password-9",
            "password2": "other-password-9",
        },
    )

    assert response.status_code == 200
    assert not User.objects.filter(email="new@example.com").exists()


def test_user_change_page_shows_the_addresses_inline(admin):
    address = AddressFactory(line1="7 Inline Road")

    response = admin.get(f"{USERS_URL}{address.customer.pk}/change/")

    assert response.status_code == 200
    assert b"7 Inline Road" in response.content


def test_address_inline_refuses_two_default_shipping_addresses():
    customer = UserFactory()
    formset_class = inlineformset_factory(
        User,
        Address,
        formset=AddressInlineFormSet,
        fields=("line1", "city", "postal_code", "country", "is_default_shipping"),
        extra=2,
    )
    row = {"line1": "1 A St", "city": "X", "postal_code": "1", "country": "US"}
    data = {
        "addresses-TOTAL_FORMS": "2",
        "addresses-INITIAL_FORMS": "0",
        **{f"addresses-0-{key}": value for key, value in row.items()},
        **{f"addresses-1-{key}": value for key, value in row.items()},
        "addresses-0-is_default_shipping": "on",
        "addresses-1-is_default_shipping": "on",
    }

    formset = formset_class(data, instance=customer)

    assert not formset.is_valid()
    assert formset.non_form_errors()


def test_address_changelist_and_change_page_render(admin):
    address = AddressFactory(city="Gotham", country="US")

    changelist = admin.get(ADDRESSES_URL, {"q": "Gotham"})
    change = admin.get(f"{ADDRESSES_URL}{address.pk}/change/")

    assert [row.pk for row in changelist.context["cl"].result_list] == [address.pk]
    assert change.status_code == 200


def test_address_changelist_filters_by_country(admin):
    french = AddressFactory(country="FR")
    AddressFactory(country="US")

    response = admin.get(ADDRESSES_URL, {"country": "FR"})

    assert [row.pk for row in response.context["cl"].result_list] == [french.pk]
