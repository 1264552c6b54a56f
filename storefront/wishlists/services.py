"""Wishlist workflows: add and remove items, move one to the cart, merge a guest's at login.

A wishlist is named by its owner: a customer, or a guest cart (the guest's token opens it,
as it opens the cart). Each workflow takes exactly one of `customer` and `cart`
(WishlistItemQuerySet.owned_by; TypeError otherwise); `cart` must be a guest cart
(carts.services.get_guest_cart finds one by token).

The cap (MAX_WISHLIST_ITEMS) holds for one request at a time, as the cart's caps do: two
adds of different products to one wishlist at the same moment each count the wishlist as it
was, and may together pass it by one item each.
"""

from django.db import IntegrityError, router, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q

from storefront.accounts.models import User
from storefront.carts import services as carts
from storefront.carts.models import Cart, CartItem
from storefront.catalog.exceptions import ProductNotFound
from storefront.catalog.models import Product, ProductVariant
from storefront.core.models import is_valid_id
from storefront.wishlists.exceptions import (
    OutOfStock,
    VariantNotFound,
    VariantRequired,
    WishlistItemNotFound,
    WishlistLimitExceeded,
)
from storefront.wishlists.models import MAX_WISHLIST_ITEMS, WishlistItem


def add_to_wishlist(
    *,
    product_id: int,
    variant_id: int | None = None,
    customer: User | None = None,
    cart: Cart | None = None,
) -> tuple[WishlistItem, bool]:
    """Put product `product_id` (or its variant `variant_id`) on the wishlist of `customer`
    or of the guest cart `cart`; return (the item, whether it was created).

    Idempotent: an item already there is returned as it is (created False), whatever the
    cap. Raises ProductNotFound (404) for an unknown or unpublished product (the catalog's
    purchasable rule: ProductQuerySet.published), VariantNotFound (404) for a variant that
    is not one of that product's, WishlistLimitExceeded (400) when a new item would make
    more than MAX_WISHLIST_ITEMS. Nothing changes when an error is raised.

    Two queries (the product and variant, then the wishlist's count and existing item),
    plus the INSERT of a new item in a savepoint; a concurrent add of the same item makes
    the INSERT fail, and that item is returned instead.
    """
    owned = WishlistItem.objects.owned_by(customer=customer, cart=cart)
    if not is_valid_id(product_id):
        raise ProductNotFound()
    if variant_id is not None and not is_valid_id(variant_id):
        raise VariantNotFound()
    products = Product.objects.published().filter(pk=product_id)
    if variant_id is not None:
        variants = ProductVariant.objects.filter(pk=variant_id, product=OuterRef("pk"))
        products = products.annotate(has_variant=Exists(variants))
    found = products.values("pk", *(["has_variant"] if variant_id is not None else [])).first()
    if found is None:
        raise ProductNotFound()
    if variant_id is not None and not found["has_variant"]:
        raise VariantNotFound()
    if variant_id is None:
        same = Q(product_id=product_id, variant__isnull=True)
    else:
        same = Q(variant_id=variant_id)
    state = owned.aggregate(items=Count("pk"), existing=Max("pk", filter=same))
    if state["existing"] is not None:
        # The item as add_to_cart returns a cart item: the fields known, the rest (its
        # date) loaded on first access.
        existing = WishlistItem.from_db(
            router.db_for_read(WishlistItem),
            ["id", "customer_id", "cart_id", "product_id", "variant_id"],
            [
                state["existing"],
                customer.pk if customer is not None else None,
                cart.pk if cart is not None else None,
                product_id,
                variant_id,
            ],
        )
        return existing, False
    if state["items"] >= MAX_WISHLIST_ITEMS:
        raise WishlistLimitExceeded()
    try:
        with transaction.atomic():
            item = WishlistItem.objects.create(
                customer=customer, cart=cart, product_id=product_id, variant_id=variant_id
            )
    except IntegrityError:
        # A concurrent add of the same item won the unique constraint.
        item = owned.filter(same).first()
        if item is None:
            raise
        return item, False
    return item, True


def remove_from_wishlist(
    *, item_id: int, customer: User | None = None, cart: Cart | None = None
) -> None:
    """Delete one item of this wishlist; raise WishlistItemNotFound (404) if it is not on it."""
    owned = WishlistItem.objects.owned_by(customer=customer, cart=cart)
    deleted, _ = owned.filter(pk=item_id).delete()
    if not deleted:
        raise WishlistItemNotFound()


@transaction.atomic
def move_to_cart(
    *,
    item_id: int,
    quantity: int = 1,
    variant_id: int | None = None,
    customer: User | None = None,
    cart: Cart | None = None,
) -> CartItem:
    """Add the wishlist item `item_id` to the owner's cart, then remove it from the wishlist,
    in one transaction; return the cart item (carts.services.add_to_cart's).

    `quantity` units (1..1000) of `variant_id`, a variant of the item's product: by default
    the item's own variant, required for an item naming a product only. The add is the
    cart's own (carts.services.add_to_cart, every cap and the purchasable rule); then the
    cart item must be available (carts.models.CartItem.is_available: the stock covers its
    whole quantity, units already in the cart included). Raises WishlistItemNotFound (404),
    VariantRequired (400), VariantNotFound (404), OutOfStock (409), and whatever
    add_to_cart raises (VariantUnavailable for an unpublished product, InvalidQuantity,
    QuantityLimitExceeded, CartLinesLimitExceeded, CartTotalLimitExceeded, CartChanged);
    nothing changes when an error is raised. The item is locked first, so two moves of one
    item add it once (the second finds it gone).
    """
    item = (
        WishlistItem.objects.owned_by(customer=customer, cart=cart)
        .select_for_update()
        .filter(pk=item_id)
        .values_list("product_id", "variant_id")
        .first()
    )
    if item is None:
        raise WishlistItemNotFound()
    product_id, item_variant_id = item
    if variant_id is None:
        if item_variant_id is None:
            raise VariantRequired()
        variant_id = item_variant_id
    elif variant_id != item_variant_id and (
        not is_valid_id(variant_id)
        or not ProductVariant.objects.filter(pk=variant_id, product_id=product_id).exists()
    ):
        raise VariantNotFound()
    added = carts.add_to_cart(
        variant_id=variant_id,
        quantity=quantity,
        **({"customer": customer} if customer is not None else {"cart": cart}),
    )
    line = CartItem.objects.select_related("variant__product").get(pk=added.pk)
    if not line.is_available:
        # Raised inside the transaction: the add rolls back, the wishlist item stays.
        raise OutOfStock(
            variant_id=variant_id, requested=line.quantity, available=line.variant.stock_quantity
        )
    WishlistItem.objects.filter(pk=item_id).delete()
    return added


def merge_guest_wishlist(*, customer: User, guest_cart: Cart) -> None:
    """Move the wishlist of `guest_cart` to `customer`'s; carts.services.merge_carts calls it
    at login, in its transaction, before deleting the guest cart.

    Idempotent: an item the customer already has is not added twice (the guest's copy is
    deleted). The customer's wishlist is filled up to MAX_WISHLIST_ITEMS with the guest's
    newest items; guest items beyond that stay with the guest cart, which the merge deletes
    (a merge is never refused for the wishlist's sake). Items keep their ids and dates.
    Three queries whatever the number of items (plus a savepoint), and once more if a
    concurrent add made one of the moved items a duplicate.
    """
    guest = WishlistItem.objects.filter(cart=guest_cart)
    customers = WishlistItem.objects.filter(customer=customer)
    duplicate = Q(variant__isnull=False) & Exists(customers.filter(variant=OuterRef("variant")))
    duplicate |= Q(variant__isnull=True) & Exists(
        customers.filter(variant__isnull=True, product=OuterRef("product"))
    )
    for attempt in range(2):
        try:
            with transaction.atomic():
                guest.filter(duplicate).delete()
                room = MAX_WISHLIST_ITEMS - customers.count()
                if room > 0:
                    newest = guest.order_by("-created_at", "-id").values("pk")[:room]
                    WishlistItem.objects.filter(pk__in=newest).update(customer=customer, cart=None)
            return
        except IntegrityError:
            # A concurrent add to the customer's wishlist made a moved item a duplicate.
            if attempt:
                raise
