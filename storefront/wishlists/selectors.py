"""Wishlist reads: the items with everything their API representation needs, in one query."""

from decimal import Decimal

from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce

from storefront.accounts.models import User
from storefront.carts.models import Cart
from storefront.catalog.models import ProductImage
from storefront.catalog.querysets import tier_percentage
from storefront.pricing import quotes
from storefront.wishlists.models import WishlistItem


def wishlist_items(
    *,
    customer: User | None = None,
    cart: Cart | None = None,
    membership: str | None = None,
    item_id: int | None = None,
) -> list[WishlistItem]:
    """The items of the wishlist of `customer` or of the guest cart `cart`, newest first,
    at the prices of a viewer of `membership` (pricing.quotes.membership_of; None: list
    prices, as for a guest); only the item `item_id` when given. One query, whatever the
    number of items: products, variants, first images and the tier's percentage are read
    in it.

    Each item gets, for the wishlist serializer:
    - `shown_product`: its variant's product for a variant item, else its product, with
      `first_image` (the file name of its first image in display order, or None);
    - `list_price`: the variant's price, or for a product item the product's lowest variant
      price (Product.min_price, None without variants), as the catalog shows it;
    - `viewer_price`: the member price of `list_price` at the viewer's tier
      (quotes.member_price; the percentage read in the query, 0 without a tier row);
    - `is_available`: whether a customer may buy it now: the product is published (the
      purchasable rule) and the variant, or for a product item any variant, is in stock.
    """
    first_image = (
        ProductImage.objects.filter(product=OuterRef("shown_product_id"))
        .order_by("sort_order", "id")
        .values("image")[:1]
    )
    items = (
        WishlistItem.objects.owned_by(customer=customer, cart=cart)
        .select_related("product", "variant__product")
        .annotate(shown_product_id=Coalesce("variant__product_id", "product_id"))
        .annotate(first_image=Subquery(first_image))
    )
    if item_id is not None:
        items = items.filter(pk=item_id)
    if membership is not None:
        items = items.annotate(tier_percentage=tier_percentage(membership))
    rows = list(items)
    percentage = rows[0].tier_percentage if rows and membership is not None else Decimal("0")
    for item in rows:
        variant = item.variant
        if variant is not None:
            product = variant.product
            item.list_price = variant.price
            item.is_available = variant.is_purchasable and variant.stock_quantity > 0
        else:
            product = item.product
            item.list_price = product.min_price
            item.is_available = product.is_published and product.in_stock
        product.first_image = item.first_image
        item.shown_product = product
        item.viewer_price = (
            None if item.list_price is None else quotes.member_price(item.list_price, percentage)
        )
    return rows
