"""Cart reads: a cart with everything its API representation needs, in one query."""

from django.db.models import OuterRef, Subquery

from storefront.carts.models import Cart, CartItem
from storefront.catalog.models import ProductImage
from storefront.core.models import seed_prefetch_cache


def load_cart_contents(cart: Cart) -> Cart:
    """Load the cart's items, with their variants and products, onto `cart` (1 query).

    Returns the same instance, ready for the cart serializer: `cart.items.all()` then costs
    no query, and each item's `variant.product.first_image` is the file name of the product's
    first image in display order (sort order, then id), or None when it has none.
    """
    first_image = (
        ProductImage.objects.filter(product=OuterRef("variant__product"))
        .order_by("sort_order", "id")
        .values("image")[:1]
    )
    items = list(
        CartItem.objects.filter(cart=cart)
        .select_related("variant__product")
        .annotate(first_image=Subquery(first_image))
    )
    for item in items:
        item.variant.product.first_image = item.first_image
    seed_prefetch_cache(cart, items=items)
    return cart


def customer_cart_items(*, customer) -> list[CartItem]:
    """The items of `customer`'s cart with their variants and products, oldest first (1
    query)."""
    return list(
        CartItem.objects.filter(cart__customer=customer)
        .select_related("variant__product")
        .order_by("id")
    )


def cart_items(*, cart: Cart) -> list[CartItem]:
    """The items of `cart` with their variants and products, oldest first (1 query)."""
    return list(
        CartItem.objects.filter(cart=cart).select_related("variant__product").order_by("id")
    )
