"""The customer's wishlist through /api/me/wishlist/: reads at the viewer's prices, idempotent
adds, removal, bad input refused with nothing changed, and the query budgets."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import UserFactory
from storefront.catalog.models import Product
from storefront.catalog.tests.factories import ProductFactory, ProductImageFactory, VariantFactory
from storefront.wishlists.models import MAX_WISHLIST_ITEMS, WishlistItem
from storefront.wishlists.tests.factories import WishlistItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(customer_client) -> APIClient:
    return customer_client


def error(response) -> dict:
    return response.json()["error"]


def rows(customer) -> list[tuple]:
    return list(WishlistItem.objects.filter(customer=customer).values_list("id", "variant_id"))


# --- Reading ------------------------------------------------------------------------------


def test_wishlist_shows_items_at_current_prices(client, customer):
    variant = VariantFactory(price=Decimal("12.50"), stock_quantity=3)
    image = ProductImageFactory(product=variant.product)
    variant_item = WishlistItemFactory(customer=customer, variant=variant)
    product = ProductFactory()
    VariantFactory(product=product, price=Decimal("30.00"))
    VariantFactory(product=product, price=Decimal("25.00"))
    product_item = WishlistItemFactory(customer=customer, product=product)

    body = client.get("/api/me/wishlist/").json()

    assert body == {
        "items": [
            {
                "id": product_item.pk,
                "product": {
                    "id": product.pk,
                    "slug": product.slug,
                    "name": product.name,
                    "image": None,
                },
                "variant": None,
                "list_price": "25.00",
                "price": "25.00",
                "available": True,
                "added_at": body["items"][0]["added_at"],
            },
            {
                "id": variant_item.pk,
                "product": {
                    "id": variant.product.pk,
                    "slug": variant.product.slug,
                    "name": variant.product.name,
                    "image": f"http://testserver{image.image.url}",
                },
                "variant": {"id": variant.pk, "sku": variant.sku, "name": variant.name},
                "list_price": "12.50",
                "price": "12.50",
                "available": True,
                "added_at": body["items"][1]["added_at"],
            },
        ],
        "count": 2,
        "currency": "USD",
    }


def test_a_member_sees_their_member_price():
    gold = UserFactory(membership="gold")
    WishlistItemFactory(customer=gold, variant=VariantFactory(price=Decimal("19.99")))
    client = APIClient()
    client.force_authenticate(gold)

    (item,) = client.get("/api/me/wishlist/").json()["items"]

    # 10 % off 19.99 is 17.991, rounded half up per unit (pricing.quotes.member_price).
    assert (item["list_price"], item["price"]) == ("19.99", "17.99")


def test_an_out_of_stock_variant_shows_as_unavailable(client, customer):
    WishlistItemFactory(customer=customer, variant=VariantFactory(stock_quantity=0))
    (item,) = client.get("/api/me/wishlist/").json()["items"]
    assert item["available"] is False
    assert item["price"] == "19.99"


def test_a_product_without_stock_or_variants_shows_as_unavailable(client, customer):
    WishlistItemFactory(customer=customer, product=VariantFactory(stock_quantity=0).product)
    WishlistItemFactory(customer=customer, product=ProductFactory())

    items = client.get("/api/me/wishlist/").json()["items"]

    assert [(i["available"], i["list_price"], i["price"]) for i in items] == [
        (False, None, None),
        (False, "19.99", "19.99"),
    ]


def test_an_item_whose_product_was_unpublished_stays_as_unavailable(client, customer):
    variant = VariantFactory()
    WishlistItemFactory(customer=customer, variant=variant)
    WishlistItemFactory(customer=customer, product=variant.product)
    Product.objects.filter(pk=variant.product_id).update(is_published=False)

    items = client.get("/api/me/wishlist/").json()["items"]

    assert [item["available"] for item in items] == [False, False]


def test_an_item_whose_product_or_variant_was_deleted_is_dropped(client, customer):
    gone_variant = WishlistItemFactory(customer=customer, variant=VariantFactory())
    gone_product = WishlistItemFactory(customer=customer)
    kept = WishlistItemFactory(customer=customer)
    gone_variant.variant.delete()
    gone_product.product.delete()

    items = client.get("/api/me/wishlist/").json()["items"]

    assert [item["id"] for item in items] == [kept.pk]


def test_an_unknown_query_parameter_is_400(client, customer):
    response = client.get("/api/me/wishlist/", {"in_stok": "true"})
    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["in_stok"]


def test_a_customer_sees_only_their_own_wishlist(client, customer):
    WishlistItemFactory(customer=UserFactory())
    assert client.get("/api/me/wishlist/").json()["items"] == []


@pytest.mark.parametrize("items", [1, 10])
def test_wishlist_costs_a_fixed_number_of_queries(
    client, customer, items, django_assert_num_queries
):
    for _ in range(items):
        variant = VariantFactory()
        ProductImageFactory(product=variant.product)
        WishlistItemFactory(customer=customer, variant=variant)
        WishlistItemFactory(customer=customer, product=variant.product)
    # The items, with products, variants, first images and the tier's percentage.
    with django_assert_num_queries(1):
        response = client.get("/api/me/wishlist/")
    assert response.json()["count"] == 2 * items


# --- Adding -------------------------------------------------------------------------------


def test_adding_a_product_answers_201_with_the_item(client, customer):
    product = VariantFactory(price=Decimal("9.00")).product

    response = client.post("/api/me/wishlist/items/", {"product_id": product.pk})

    assert response.status_code == 201
    body = response.json()
    assert (body["product"]["id"], body["variant"], body["price"]) == (product.pk, None, "9.00")
    assert rows(customer) == [(body["id"], None)]


def test_adding_a_variant_answers_201_with_the_item_at_the_member_price():
    gold = UserFactory(membership="gold")
    variant = VariantFactory(price=Decimal("10.00"))
    client = APIClient()
    client.force_authenticate(gold)

    response = client.post(
        "/api/me/wishlist/items/",
        {"product_id": variant.product_id, "variant_id": variant.pk},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["variant"]["id"] == variant.pk
    assert response.json()["price"] == "9.00"


def test_adding_twice_answers_200_with_the_same_item(client, customer):
    variant = VariantFactory()
    body = {"product_id": variant.product_id, "variant_id": variant.pk}
    first = client.post("/api/me/wishlist/items/", body, format="json")

    again = client.post("/api/me/wishlist/items/", body, format="json")

    assert again.status_code == 200
    assert again.json() == first.json()
    assert rows(customer) == [(first.json()["id"], variant.pk)]


def test_a_product_and_one_of_its_variants_are_two_items(client, customer):
    variant = VariantFactory()
    client.post("/api/me/wishlist/items/", {"product_id": variant.product_id})
    client.post(
        "/api/me/wishlist/items/",
        {"product_id": variant.product_id, "variant_id": variant.pk},
        format="json",
    )
    assert sorted(variant_id or 0 for _, variant_id in rows(customer)) == [0, variant.pk]


def test_an_item_already_there_is_returned_even_at_the_cap(client, customer):
    kept = WishlistItemFactory(customer=customer)
    WishlistItem.objects.bulk_create(
        WishlistItem(customer=customer, product=ProductFactory())
        for _ in range(MAX_WISHLIST_ITEMS - 1)
    )
    response = client.post("/api/me/wishlist/items/", {"product_id": kept.product_id})
    assert response.status_code == 200
    assert response.json()["id"] == kept.pk


@pytest.mark.parametrize("already_there", [False, True])
def test_adding_costs_a_fixed_number_of_queries(
    client, customer, already_there, django_assert_num_queries
):
    variant = VariantFactory()
    WishlistItemFactory(customer=customer)
    if already_there:
        WishlistItemFactory(customer=customer, variant=variant)
    body = {"product_id": variant.product_id, "variant_id": variant.pk}
    # The product and variant, the wishlist's count and existing item, (a new item: its
    # INSERT in a savepoint,) then the item shown.
    with django_assert_num_queries(3 if already_there else 6):
        response = client.post("/api/me/wishlist/items/", body, format="json")
    assert response.status_code == (200 if already_there else 201)


# --- Bad input: 4xx in the error shape, nothing changed -----------------------------------


def assert_refused(client, customer, body, status, code, message=None):
    WishlistItemFactory(customer=customer)
    before = rows(customer)
    response = client.post("/api/me/wishlist/items/", body, format="json")
    assert response.status_code == status, response.content
    assert error(response)["code"] == code
    if message is not None:
        assert error(response)["message"] == message
    assert rows(customer) == before


def test_an_unknown_product_is_404(client, customer):
    assert_refused(client, customer, {"product_id": 10**9}, 404, "not_found", "No such product.")


def test_an_unpublished_product_is_404(client, customer):
    product = VariantFactory(product__is_published=False).product
    assert_refused(client, customer, {"product_id": product.pk}, 404, "not_found")


def test_an_unknown_variant_is_404(client, customer):
    product = VariantFactory().product
    body = {"product_id": product.pk, "variant_id": 10**9}
    assert_refused(client, customer, body, 404, "not_found", "No such variant of this product.")


def test_a_variant_of_another_product_is_404(client, customer):
    product = VariantFactory().product
    body = {"product_id": product.pk, "variant_id": VariantFactory().pk}
    assert_refused(client, customer, body, 404, "not_found", "No such variant of this product.")


@pytest.mark.parametrize(
    "body",
    [{}, {"product_id": "x"}, {"product_id": True}, {"product_id": 0}, {"product_id": 2**63}],
)
def test_a_malformed_body_is_400_invalid(client, customer, body):
    assert_refused(client, customer, body, 400, "invalid")
    assert (
        "product_id"
        in client.post("/api/me/wishlist/items/", body, format="json").json()["error"]["fields"]
    )


def test_a_malformed_variant_id_is_400_invalid(client, customer):
    body = {"product_id": ProductFactory().pk, "variant_id": "x"}
    assert_refused(client, customer, body, 400, "invalid")


def test_adding_past_the_cap_is_400(client, customer):
    WishlistItem.objects.bulk_create(
        WishlistItem(customer=customer, product=ProductFactory())
        for _ in range(MAX_WISHLIST_ITEMS - 1)
    )
    body = {"product_id": ProductFactory().pk}
    response = client.post("/api/me/wishlist/items/", {"product_id": ProductFactory().pk})
    assert response.status_code == 201  # the 200th
    before = rows(customer)

    response = client.post("/api/me/wishlist/items/", body)

    assert response.status_code == 400
    assert error(response) == {
        "status": 400,
        "code": "wishlist_limit_exceeded",
        "message": "A wishlist holds at most 200 items.",
        "details": {"max_items": 200},
    }
    assert rows(customer) == before


# --- Removing -----------------------------------------------------------------------------


def test_removing_an_item_answers_204(client, customer):
    item = WishlistItemFactory(customer=customer)
    kept = WishlistItemFactory(customer=customer)
    response = client.delete(f"/api/me/wishlist/items/{item.pk}/")
    assert response.status_code == 204
    assert rows(customer) == [(kept.pk, None)]


def test_removing_another_customers_item_is_404_and_changes_nothing(client, customer):
    other = WishlistItemFactory(customer=UserFactory())
    response = client.delete(f"/api/me/wishlist/items/{other.pk}/")
    assert response.status_code == 404
    assert error(response)["message"] == "Wishlist item not found."
    assert WishlistItem.objects.filter(pk=other.pk).exists()


def test_removing_a_guests_item_is_404(client):
    guest = WishlistItemFactory(customer=None, cart=_guest_cart())
    assert client.delete(f"/api/me/wishlist/items/{guest.pk}/").status_code == 404
    assert WishlistItem.objects.filter(pk=guest.pk).exists()


def _guest_cart():
    from storefront.carts.tests.factories import GuestCartFactory

    return GuestCartFactory()


# --- Permissions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/me/wishlist/"),
        ("post", "/api/me/wishlist/items/"),
        ("delete", "/api/me/wishlist/items/1/"),
        ("post", "/api/me/wishlist/items/1/move-to-cart/"),
    ],
)
def test_anonymous_visitors_without_a_guest_token_get_401(method, path):
    item = WishlistItemFactory()
    response = getattr(APIClient(), method)(path.replace("/1/", f"/{item.pk}/"))
    assert response.status_code == 401
    assert error(response)["code"] == "not_authenticated"
    assert WishlistItem.objects.filter(pk=item.pk).exists()
