import pytest

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.carts.tests.factories import CartItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


@pytest.mark.parametrize("term", ["customer", "not-a-uuid"])
def test_cart_search_by_email_or_any_text(staff_client, term):
    customer = UserFactory(email="customer@example.com")
    CartItemFactory(cart=customer.cart)
    response = staff_client.get("/admin/carts/cart/", {"q": term})
    assert response.status_code == 200


def test_cart_search_by_token_finds_the_guest_cart(staff_client):
    cart = CartItemFactory().cart
    response = staff_client.get("/admin/carts/cart/", {"q": str(cart.token)})
    assert list(response.context["cl"].result_list) == [cart]


def test_cart_page_shows_its_items(staff_client):
    item = CartItemFactory()
    response = staff_client.get(f"/admin/carts/cart/{item.cart_id}/change/")
    assert response.status_code == 200
    assert str(item.variant_id) in response.content.decode()
