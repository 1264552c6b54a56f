import uuid
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import MAX_CART_ITEM_QUANTITY, MAX_CART_LINES, Cart, CartItem
from storefront.carts.tests.factories import CartItemFactory, GuestCartFactory
from storefront.catalog.models import ProductVariant
from storefront.catalog.tests.factories import ProductFactory, ProductImageFactory, VariantFactory

pytestmark = pytest.mark.django_db

# What ProductVariant.price (DECIMAL(12, 2)) holds at most.
LARGEST_PRICE = Decimal("9999999999.99")


@pytest.fixture
def client(customer_client) -> APIClient:
    return customer_client


def error_code(response) -> str:
    return response.json()["error"]["code"]


def item_quantities(cart: Cart) -> dict[int, int]:
    return dict(cart.items.values_list("variant_id", "quantity"))


# --- The customer's cart ------------------------------------------------------------------


def test_cart_shows_items_at_current_prices(client, customer):
    variant = VariantFactory(price=Decimal("12.50"), stock_quantity=5)
    ProductImageFactory(product=variant.product, sort_order=1)
    first_image = ProductImageFactory(product=variant.product, sort_order=0)
    item = CartItemFactory(cart=customer.cart, variant=variant, quantity=2)

    body = client.get("/api/cart/").json()

    assert body == {
        "id": customer.cart.pk,
        "items": [
            {
                "id": item.pk,
                "variant": {
                    "id": variant.pk,
                    "sku": variant.sku,
                    "name": variant.name,
                    "product": {
                        "id": variant.product.pk,
                        "slug": variant.product.slug,
                        "name": variant.product.name,
                        "image": f"http://testserver{first_image.image.url}",
                    },
                },
                "quantity": 2,
                "list_price": "12.50",
                "unit_price": "12.50",
                "line_total": "25.00",
                "available": True,
            }
        ],
        "total": "25.00",
        "currency": "USD",
    }


def test_cart_image_is_null_without_product_images(client, customer):
    CartItemFactory(cart=customer.cart)
    body = client.get("/api/cart/").json()
    assert body["items"][0]["variant"]["product"]["image"] is None


def test_cart_item_is_unavailable_when_stock_does_not_cover_it(client, customer):
    CartItemFactory(cart=customer.cart, variant=VariantFactory(stock_quantity=1), quantity=2)
    assert client.get("/api/cart/").json()["items"][0]["available"] is False


def test_cart_item_is_unavailable_once_its_product_is_unpublished(client, customer):
    CartItemFactory(cart=customer.cart, variant=VariantFactory(product__is_published=False))
    assert client.get("/api/cart/").json()["items"][0]["available"] is False


def test_cart_prices_follow_the_catalog(client, customer):
    item = CartItemFactory(cart=customer.cart, variant=VariantFactory(price=Decimal("10.00")))
    item.variant.price = Decimal("8.00")
    item.variant.save()
    assert client.get("/api/cart/").json()["total"] == "8.00"


@pytest.mark.parametrize("lines", [1, 10])
def test_cart_costs_a_fixed_number_of_queries(client, customer, lines, django_assert_num_queries):
    for _ in range(lines):
        item = CartItemFactory(cart=customer.cart)
        ProductImageFactory(product=item.variant.product)
    # The cart, then its items with variants, products and first images.
    with django_assert_num_queries(2):
        response = client.get("/api/cart/")
    assert len(response.json()["items"]) == lines


@pytest.mark.parametrize("already_in_cart", [False, True])
def test_adding_an_item_costs_a_fixed_number_of_queries(
    client, customer, already_in_cart, django_assert_num_queries
):
    variant = VariantFactory()
    CartItemFactory(cart=customer.cart)
    if already_in_cart:
        CartItemFactory(cart=customer.cart, variant=variant, quantity=2)

    # One upsert that also finds the cart and checks the variant, then the cart shown.
    with django_assert_num_queries(2):
        response = client.post("/api/cart/items/", {"variant_id": variant.pk, "quantity": 1})

    assert response.status_code == 201
    assert item_quantities(customer.cart)[variant.pk] == (3 if already_in_cart else 1)


def test_guest_adding_an_item_costs_a_fixed_number_of_queries(django_assert_num_queries):
    guest_cart = GuestCartFactory()
    variant = VariantFactory()
    with django_assert_num_queries(2):
        response = APIClient().post(
            f"/api/carts/{guest_cart.token}/items/", {"variant_id": variant.pk}
        )
    assert response.status_code == 201
    assert response.json()["token"] == str(guest_cart.token)
    assert item_quantities(guest_cart) == {variant.pk: 1}


def test_add_item_gives_a_customer_without_a_cart_row_a_cart(client, customer):
    # Users created outside registration (the admin, createsuperuser) have no cart until
    # their first use of it; the add creates it.
    Cart.objects.filter(customer=customer).delete()
    variant = VariantFactory()
    response = client.post("/api/cart/items/", {"variant_id": variant.pk, "quantity": 2})
    assert response.status_code == 201
    assert item_quantities(Cart.objects.get(customer=customer)) == {variant.pk: 2}


def test_cart_requires_authentication():
    response = APIClient().get("/api/cart/")
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


def test_add_item_answers_201_with_the_cart(client, customer):
    variant = VariantFactory()
    response = client.post("/api/cart/items/", {"variant_id": variant.pk, "quantity": 2})
    assert response.status_code == 201
    assert response.json()["items"][0]["variant"]["id"] == variant.pk
    assert item_quantities(customer.cart) == {variant.pk: 2}


def test_add_item_quantity_defaults_to_one(client, customer):
    variant = VariantFactory()
    client.post("/api/cart/items/", {"variant_id": variant.pk})
    assert item_quantities(customer.cart) == {variant.pk: 1}


def test_adding_the_same_variant_twice_adds_up(client, customer):
    variant = VariantFactory()
    client.post("/api/cart/items/", {"variant_id": variant.pk, "quantity": 2})
    client.post("/api/cart/items/", {"variant_id": variant.pk, "quantity": 3})
    assert item_quantities(customer.cart) == {variant.pk: 5}


@pytest.mark.parametrize(
    "quantity", [0, -1, MAX_CART_ITEM_QUANTITY + 1, 10**30, "abc", 1.5, True, None, [1], {}]
)
def test_add_item_refuses_bad_quantities(client, customer, quantity):
    variant = VariantFactory()
    response = client.post("/api/cart/items/", {"variant_id": variant.pk, "quantity": quantity})
    assert response.status_code == 400
    assert "quantity" in response.json()["error"]["fields"]
    assert not customer.cart.items.exists()


@pytest.mark.parametrize("variant_id", [999_999_999, 10**30, -1, "abc", True, None, [], {}])
def test_add_item_refuses_unknown_variant_ids(client, customer, variant_id):
    response = client.post("/api/cart/items/", {"variant_id": variant_id})
    assert response.status_code == 400
    assert "variant_id" in response.json()["error"]["fields"]
    assert not customer.cart.items.exists()


def test_add_item_names_an_unknown_variant_on_its_field(client, customer):
    response = client.post("/api/cart/items/", {"variant_id": 999_999_999})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "status": 400,
        "code": "invalid",
        "message": 'variant_id: Invalid pk "999999999" - object does not exist.',
        "fields": {"variant_id": ['Invalid pk "999999999" - object does not exist.']},
    }


def test_add_item_takes_form_data(client, customer):
    variant = VariantFactory()
    response = client.post(
        "/api/cart/items/", {"variant_id": str(variant.pk), "quantity": "2"}, format="multipart"
    )
    assert response.status_code == 201
    assert item_quantities(customer.cart) == {variant.pk: 2}


def test_add_item_refuses_a_variant_of_an_unpublished_product(client, customer):
    variant = VariantFactory(product__is_published=False)
    response = client.post("/api/cart/items/", {"variant_id": variant.pk})
    assert response.status_code == 400
    assert "variant_id" in response.json()["error"]["fields"]
    assert not customer.cart.items.exists()


def test_add_item_past_the_maximum_is_refused(client, customer):
    item = CartItemFactory(cart=customer.cart, quantity=MAX_CART_ITEM_QUANTITY)
    response = client.post("/api/cart/items/", {"variant_id": item.variant_id})
    assert response.status_code == 400
    assert error_code(response) == "quantity_limit_exceeded"
    assert item_quantities(customer.cart) == {item.variant_id: MAX_CART_ITEM_QUANTITY}


def test_add_item_past_the_lines_cap_is_refused_with_its_details(client, customer):
    variants = VariantFactory.create_batch(MAX_CART_LINES, product=ProductFactory())
    CartItem.objects.bulk_create(
        CartItem(cart=customer.cart, variant=variant, quantity=1) for variant in variants
    )
    response = client.post("/api/cart/items/", {"variant_id": VariantFactory().pk})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "status": 400,
        "code": "cart_lines_limit_exceeded",
        "message": (
            f"A cart holds at most {MAX_CART_LINES} different items; this would make "
            f"{MAX_CART_LINES + 1}."
        ),
        "details": {"max_lines": MAX_CART_LINES, "lines": MAX_CART_LINES + 1},
    }
    assert customer.cart.items.count() == MAX_CART_LINES


def test_guest_add_item_past_the_total_cap_is_refused_with_its_details():
    item = CartItemFactory(
        cart=GuestCartFactory(), variant=VariantFactory(price=LARGEST_PRICE), quantity=100
    )
    response = APIClient().post(
        f"/api/carts/{item.cart.token}/items/", {"variant_id": VariantFactory().pk}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "cart_total_limit_exceeded"
    assert error["details"] == {
        "max_total": "999999999999.99",
        "total": "999999999999.00",
        "new_total": "1000000000018.99",
        "currency": "USD",
    }
    assert item_quantities(item.cart) == {item.variant_id: 100}


def test_a_cart_a_price_rise_took_past_the_total_cap_still_reads_and_checkout_refuses_it(
    client, customer
):
    variant = VariantFactory(price=Decimal("1000.00"), stock_quantity=5000)
    client.post("/api/cart/items/", {"variant_id": variant.pk, "quantity": MAX_CART_ITEM_QUANTITY})
    ProductVariant.objects.filter(pk=variant.pk).update(price=LARGEST_PRICE)

    cart = client.get("/api/cart/")
    checkout = client.post(
        "/api/orders/",
        {
            "shipping_address": "1 Main St",
            "billing_address": "1 Main St",
            "phone_number": "+1 555 0100",
        },
    )
    add = client.post("/api/cart/items/", {"variant_id": VariantFactory().pk})

    assert cart.status_code == 200
    assert cart.json()["total"] == cart.json()["items"][0]["line_total"] == "9999999999990.00"
    assert checkout.status_code == 400
    assert error_code(checkout) == "order_too_large"
    assert error_code(add) == "cart_total_limit_exceeded"
    assert not customer.orders.exists()
    assert item_quantities(customer.cart) == {variant.pk: MAX_CART_ITEM_QUANTITY}
    variant.refresh_from_db()
    assert variant.stock_quantity == 5000


def test_patch_item_past_the_total_cap_is_refused(client, customer):
    item = CartItemFactory(
        cart=customer.cart, variant=VariantFactory(price=LARGEST_PRICE), quantity=100
    )
    response = client.patch(f"/api/cart/items/{item.pk}/", {"quantity": 101})
    assert response.status_code == 400
    assert error_code(response) == "cart_total_limit_exceeded"
    item.refresh_from_db()
    assert item.quantity == 100


def test_add_item_refuses_a_body_that_is_not_json(client, customer):
    response = client.generic(
        "POST", "/api/cart/items/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert error_code(response) == "parse_error"


def test_patch_item_sets_its_quantity(client, customer):
    item = CartItemFactory(cart=customer.cart, quantity=1)
    response = client.patch(f"/api/cart/items/{item.pk}/", {"quantity": 7})
    assert response.status_code == 200
    assert response.json()["items"][0]["quantity"] == 7


@pytest.mark.parametrize("quantity", [0, -3, MAX_CART_ITEM_QUANTITY + 1, "x", None])
def test_patch_item_refuses_bad_quantities(client, customer, quantity):
    item = CartItemFactory(cart=customer.cart, quantity=1)
    response = client.patch(f"/api/cart/items/{item.pk}/", {"quantity": quantity})
    assert response.status_code == 400
    item.refresh_from_db()
    assert item.quantity == 1


def test_patch_another_customers_item_is_404(client):
    other_item = CartItemFactory(cart=UserFactory().cart, quantity=1)
    response = client.patch(f"/api/cart/items/{other_item.pk}/", {"quantity": 5})
    assert response.status_code == 404
    assert error_code(response) == "not_found"
    other_item.refresh_from_db()
    assert other_item.quantity == 1


@pytest.mark.parametrize("item_id", ["999999999", "99999999999999999999999999"])
def test_patch_unknown_item_is_404(client, item_id):
    response = client.patch(f"/api/cart/items/{item_id}/", {"quantity": 5})
    assert response.status_code == 404


def test_delete_item_answers_204(client, customer):
    item = CartItemFactory(cart=customer.cart)
    assert client.delete(f"/api/cart/items/{item.pk}/").status_code == 204
    assert not customer.cart.items.exists()


def test_delete_another_customers_item_is_404_and_keeps_it(client):
    other_item = CartItemFactory(cart=UserFactory().cart)
    assert client.delete(f"/api/cart/items/{other_item.pk}/").status_code == 404
    assert CartItem.objects.filter(pk=other_item.pk).exists()


# --- Guest carts --------------------------------------------------------------------------


def test_guest_creates_a_cart_and_gets_its_token():
    response = APIClient().post("/api/carts/")
    assert response.status_code == 201
    body = response.json()
    cart = Cart.objects.get(token=body["token"])
    assert cart.customer is None
    assert body == {
        "id": cart.pk,
        "token": str(cart.token),
        "items": [],
        "total": "0.00",
        "currency": "USD",
    }


def test_guest_adds_changes_and_removes_items_by_token():
    guest = APIClient()
    token = guest.post("/api/carts/").json()["token"]
    variant = VariantFactory()

    added = guest.post(f"/api/carts/{token}/items/", {"variant_id": variant.pk, "quantity": 2})
    item_id = added.json()["items"][0]["id"]
    changed = guest.patch(f"/api/carts/{token}/items/{item_id}/", {"quantity": 3})
    removed = guest.delete(f"/api/carts/{token}/items/{item_id}/")

    assert (added.status_code, changed.status_code, removed.status_code) == (201, 200, 204)
    assert changed.json()["total"] == str(variant.price * 3)
    assert guest.get(f"/api/carts/{token}/").json()["items"] == []


def test_guest_cart_with_an_unknown_token_is_404():
    response = APIClient().get(f"/api/carts/{uuid.uuid4()}/")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_guest_cart_with_a_malformed_token_is_404_in_the_error_shape():
    response = APIClient().get("/api/carts/not-a-uuid/")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_a_customers_cart_cannot_be_reached_by_its_token(customer):
    CartItemFactory(cart=customer.cart)
    response = APIClient().get(f"/api/carts/{customer.cart.token}/")
    assert response.status_code == 404


def test_guest_cannot_touch_an_item_of_another_cart():
    guest_cart = GuestCartFactory()
    other_item = CartItemFactory(quantity=1)
    response = APIClient().patch(
        f"/api/carts/{guest_cart.token}/items/{other_item.pk}/", {"quantity": 9}
    )
    assert response.status_code == 404
    other_item.refresh_from_db()
    assert other_item.quantity == 1


def test_guest_add_item_with_an_unknown_token_is_404_and_adds_nothing(customer):
    variant = VariantFactory()
    for token in (uuid.uuid4(), customer.cart.token):
        response = APIClient().post(f"/api/carts/{token}/items/", {"variant_id": variant.pk})
        assert response.status_code == 404
        assert error_code(response) == "not_found"
    assert not CartItem.objects.exists()


def test_guest_add_item_past_the_maximum_is_refused():
    item = CartItemFactory(cart=GuestCartFactory(), quantity=MAX_CART_ITEM_QUANTITY)
    response = APIClient().post(
        f"/api/carts/{item.cart.token}/items/", {"variant_id": item.variant_id}
    )
    assert response.status_code == 400
    assert error_code(response) == "quantity_limit_exceeded"
    assert response.json()["error"]["details"]["in_cart"] == MAX_CART_ITEM_QUANTITY


def test_guest_add_item_refuses_bad_input():
    guest_cart = GuestCartFactory()
    response = APIClient().post(
        f"/api/carts/{guest_cart.token}/items/", {"variant_id": "x", "quantity": -1}
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"variant_id", "quantity"}
    assert not guest_cart.items.exists()


# --- Merging a guest cart on login --------------------------------------------------------


def test_merge_moves_the_guest_items_into_the_customers_cart(client, customer):
    variant = VariantFactory()
    CartItemFactory(cart=customer.cart, variant=variant, quantity=1)
    guest_cart = GuestCartFactory()
    CartItemFactory(cart=guest_cart, variant=variant, quantity=2)

    response = client.post("/api/cart/merge/", {"token": str(guest_cart.token)})

    assert response.status_code == 200
    assert response.json()["items"][0]["quantity"] == 3
    assert not Cart.objects.filter(pk=guest_cart.pk).exists()


@pytest.mark.parametrize("token", ["not-a-uuid", 5, None, ""])
def test_merge_refuses_a_malformed_token(client, token):
    response = client.post("/api/cart/merge/", {"token": token})
    assert response.status_code == 400
    assert "token" in response.json()["error"]["fields"]


def test_merge_with_an_unknown_token_is_404(client):
    response = client.post("/api/cart/merge/", {"token": str(uuid.uuid4())})
    assert response.status_code == 404


def test_merge_requires_authentication():
    guest_cart = GuestCartFactory()
    response = APIClient().post("/api/cart/merge/", {"token": str(guest_cart.token)})
    assert response.status_code == 401
    assert Cart.objects.filter(pk=guest_cart.pk).exists()
