"""Cart reads: a cart with everything its API representation needs, in one query."""

from decimal import Decimal

from django.db.models import OuterRef, Subquery

from storefront.carts.models import Cart, CartItem
from storefront.catalog.models import ProductImage
from storefront.catalog.querysets import tier_percentage
from storefront.core.models import seed_prefetch_cache
from storefront.pricing import quotes


def load_cart_contents(cart: Cart, *, membership: str | None = None) -> Cart:
    """Load the cart's items, with their variants and products, onto `cart` (1 query), at
    the prices of a customer of `membership` (pricing.quotes.membership_of of the cart's
    customer; None for a guest cart: list prices).

    Returns the same instance, ready for the cart serializer: `cart.items.all()` then costs
    no query, and each item's `variant.product.first_image` is the file name of the product's
    first image in display order (sort order, then id), or None when it has none. Amounts
    (store currency), the rules of pricing.quotes: each item's `member_unit_price` is the
    member price of its variant's price (the list price) at the tier of `membership`,
    `member_line_total` that times the quantity, to the cent; `cart.member_total` their sum.
    The tier's percentage is read in the same query (0 without a tier row, as
    quotes.tier_discount). CartItem.unit_price, CartItem.line_total and Cart.total() stay
    the list prices'.
    """
    first_image = (
        ProductImage.objects.filter(product=OuterRef("variant__product"))
        .order_by("sort_order", "id")
        .values("image")[:1]
    )
    lines = (
        CartItem.objects.filter(cart=cart)
        .select_related("variant__product")
        .annotate(first_image=Subquery(first_image))
    )
    if membership is not None:
        lines = lines.annotate(tier_percentage=tier_percentage(membership))
    items = list(lines)
    percentage = items[0].tier_percentage if items and membership is not None else Decimal("0")
    for item in items:
        item.variant.product.first_image = item.first_image
        item.member_unit_price = quotes.member_price(item.variant.price, percentage)
        item.member_line_total = quotes.line_total(
            unit_price=item.member_unit_price, quantity=item.quantity
        )
    cart.member_total = sum((item.member_line_total for item in items), Decimal("0.00"))
    seed_prefetch_cache(cart, items=items)
    return cart


def customer_cart_items(*, customer) -> list[CartItem]:
    """The items of `customer`'s cart with their variants, oldest first (1 query)."""
    return list(
        CartItem.objects.filter(cart__customer=customer).select_related("variant").order_by("id")
    )
