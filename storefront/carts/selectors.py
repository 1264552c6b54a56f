"""Cart reads: a cart with everything its API representation needs, in a fixed query count."""

from django.db.models import Prefetch, prefetch_related_objects

from storefront.carts.models import Cart, CartItem
from storefront.catalog.models import ProductImage


def _item_prefetches() -> tuple[Prefetch, Prefetch]:
    return (
        Prefetch("items", queryset=CartItem.objects.select_related("variant__product")),
        Prefetch(
            "items__variant__product__images",
            queryset=ProductImage.objects.order_by("sort_order", "id"),
        ),
    )


def load_cart_contents(cart: Cart) -> Cart:
    """Load the cart's items, variants, products and product images onto `cart` (2 queries).

    Returns the same instance, ready for the cart serializer: `cart.items.all()` and
    `item.variant.product.images.all()` then cost no further query.
    """
    prefetch_related_objects([cart], *_item_prefetches())
    return cart
