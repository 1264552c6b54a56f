"""Cart workflows: create carts, add, change and remove items, merge a guest cart on login.

Quantities are units of one variant, 1 to MAX_CART_ITEM_QUANTITY per cart item. Concurrent
requests on the same cart never lose an update: adding is one INSERT ... ON CONFLICT DO
UPDATE on the (cart, variant) unique constraint, other quantity changes are conditional
UPDATEs on `F("quantity")`, and a merged item is inserted in a savepoint so that a concurrent
insert of the same variant falls back to the UPDATE.

What a cart holds is capped, so that every cart can be checked out: at most MAX_CART_LINES
items, and a total at current prices (the sum of price x quantity over its items) of at most
MAX_ORDER_TOTAL, what an order records. Adding, merging and raising a quantity check both in
the statement that writes; lowering a quantity or removing an item is always allowed. The
caps hold for one request at a time: two adds to one cart at the same moment each check the
cart as it was, and may together pass a cap by their own lines. A staff price increase can
also take a cart past the total cap; such a cart still reads, lowers and removes, and
checkout refuses it (orders.exceptions.OrderTooLarge).
"""

import uuid
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Count, DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from storefront.accounts.models import User
from storefront.carts.exceptions import (
    CartChanged,
    CartItemNotFound,
    CartLinesLimitExceeded,
    CartNotFound,
    CartTotalLimitExceeded,
    InvalidQuantity,
    QuantityLimitExceeded,
    VariantUnavailable,
)
from storefront.carts.models import (
    MAX_CART_ITEM_QUANTITY,
    MAX_CART_LINES,
    Cart,
    CartItem,
    is_valid_quantity,
)
from storefront.catalog.models import Product, ProductVariant
from storefront.catalog.querysets import purchasable_sql
from storefront.core.models import is_valid_id
from storefront.orders.models import MAX_ORDER_TOTAL


def get_or_create_customer_cart(*, customer: User) -> Cart:
    """Return the customer's cart (one query when it exists); create it if missing.

    Registration (accounts.services.register_customer) creates the cart with the customer;
    users created elsewhere (the admin, createsuperuser) get theirs here, on first use.
    """
    cart, _ = Cart.objects.get_or_create(customer=customer)
    return cart


def create_customer_cart(*, customer: User) -> Cart:
    """Create the empty cart of `customer`, who has none (one INSERT): registration calls it
    in the transaction that creates the customer. Raises IntegrityError if a cart exists."""
    return Cart.objects.create(customer=customer)


def create_guest_cart() -> Cart:
    """Create an empty guest cart; the caller hands its `token` (UUID) to the visitor."""
    return Cart.objects.create()


def get_guest_cart(*, token: uuid.UUID) -> Cart:
    """Return the guest cart with this token; raise CartNotFound (404) for any other token."""
    try:
        return Cart.objects.guests().get(token=token)
    except Cart.DoesNotExist:
        raise CartNotFound() from None


def add_to_cart(
    *,
    variant_id: int,
    quantity: int = 1,
    cart: Cart | None = None,
    customer: User | None = None,
    token: uuid.UUID | None = None,
) -> CartItem:
    """Put `quantity` units of variant `variant_id` in a cart, adding to its item if the
    variant is there already; return the item with its new quantity.

    The cart is named by exactly one of `cart`, `customer` (the customer's cart, created if
    the customer has none) or `token` (a guest cart); TypeError otherwise. `variant_id` is
    an int; `quantity` an int in 1..MAX_CART_ITEM_QUANTITY (units). The returned item holds
    its id, quantity, `variant_id` and `cart` (a Cart with its id, customer id and, for a
    guest cart, token; the instance passed as `cart`, if one was).

    One SQL statement, safe under concurrent adds to the same cart, finds the cart, checks
    that the variant is purchasable (catalog/querysets.py) and that the add stays within the
    caps, and adds (_add_in_one_statement). When it adds nothing, this function finds out
    why, as the cart is now (three queries), and raises it: CartNotFound (404) for an
    unknown guest token or `cart`; VariantUnavailable (400) for an unknown variant or one
    that is not purchasable; QuantityLimitExceeded (400) when the item would exceed
    MAX_CART_ITEM_QUANTITY units, CartLinesLimitExceeded (400) when a new item would make
    more than MAX_CART_LINES, CartTotalLimitExceeded (400) when the cart's total would pass
    MAX_ORDER_TOTAL; when nothing refuses the add any more (a customer's cart just created,
    an item removed meanwhile) it runs the statement once more, and raises CartChanged (409)
    if that adds nothing either. InvalidQuantity (400) for a quantity outside
    1..MAX_CART_ITEM_QUANTITY, before any query. Nothing changes when an error is raised.
    """
    if sum(owner is not None for owner in (cart, customer, token)) != 1:
        raise TypeError("Pass exactly one of cart, customer and token.")
    _require_quantity(quantity)
    if not is_valid_id(variant_id):
        raise VariantUnavailable()
    connection = connections[router.db_for_write(CartItem)]
    if cart is not None:
        owner, owner_value = "cart.id = %s", cart.pk
    elif customer is not None:
        owner, owner_value = "cart.customer_id = %s", customer.pk
    else:
        owner = "cart.token = %s AND cart.customer_id IS NULL"
        owner_value = Cart._meta.get_field("token").get_db_prep_value(token, connection)
    for _ in range(2):
        row = _add_in_one_statement(
            connection,
            owner=owner,
            owner_value=owner_value,
            variant_id=variant_id,
            quantity=quantity,
        )
        if row is not None:
            break
        found = _find_cart(cart=cart, customer=customer, token=token)
        refusal = _refusal(cart_id=found.pk, variant_id=variant_id, quantity=quantity)
        if refusal is not None:
            raise refusal
        # Nothing refuses the add now: the cart was just created, or changed in between (an
        # item removed); run the statement again.
    else:
        raise CartChanged()
    item_id, new_quantity, cart_id = row
    if cart is None:
        cart = Cart.from_db(
            connection.alias,
            ["id", "customer_id"],
            [cart_id, customer.pk if customer is not None else None],
        )
        if token is not None:
            cart.token = token
    # The fields not read back (timestamps) load on first access.
    item = CartItem.from_db(
        connection.alias,
        ["id", "cart_id", "variant_id", "quantity"],
        [item_id, cart_id, variant_id, new_quantity],
    )
    item.cart = cart
    return item


def _add_in_one_statement(
    connection, *, owner: str, owner_value, variant_id: int, quantity: int
) -> tuple[int, int, int] | None:
    """Add `quantity` units of variant `variant_id` to the cart that `owner` finds (SQL on
    the alias `cart`, with one %s for `owner_value`); return (item id, new quantity, cart
    id), or None when nothing changed.

    Nothing changes unless the cart exists, the variant is purchasable (purchasable_sql,
    catalog/querysets.py) and the add stays within the caps: the cart's other items fewer
    than MAX_CART_LINES, its total plus price x quantity at most MAX_ORDER_TOTAL (the total
    grows by that whether the variant is in the cart or not), and the item at most
    MAX_CART_ITEM_QUANTITY units. The total is Cart.total() in SQL: the sum of price x
    quantity over the cart's items.

    One INSERT ... SELECT ... ON CONFLICT DO UPDATE (PostgreSQL 9.5+): atomic
    against a concurrent add of the same variant, with no savepoint and no retry. The caps
    are read in the same statement; concurrent adds of different variants each read the
    cart as it was (see the module docstring).
    """
    quote = connection.ops.quote_name
    items = quote(CartItem._meta.db_table)
    variants = quote(ProductVariant._meta.db_table)
    carts = quote(Cart._meta.db_table)
    products = quote(Product._meta.db_table)
    purchasable = purchasable_sql(product="product")
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        try:
            cursor.execute(
                f"""
                INSERT INTO {items} AS item (created_at, updated_at, cart_id, variant_id, quantity)
                SELECT %s, %s, cart.id, variant.id, %s
                FROM {carts} AS cart,
                    {variants} AS variant
                    JOIN {products} AS product ON product.id = variant.product_id
                WHERE {owner} AND variant.id = %s AND {purchasable}
                    AND (
                        SELECT COUNT(CASE WHEN line.variant_id <> variant.id THEN 1 END) < %s
                            AND COALESCE(SUM(line_variant.price * line.quantity), 0)
                                + variant.price * %s <= CAST(%s AS NUMERIC)
                        FROM {items} AS line
                            JOIN {variants} AS line_variant ON line_variant.id = line.variant_id
                        WHERE line.cart_id = cart.id
                    )
                ON CONFLICT (cart_id, variant_id) DO UPDATE
                    SET quantity = item.quantity + excluded.quantity,
                        updated_at = excluded.updated_at
                    WHERE item.quantity <= %s - excluded.quantity
                RETURNING id, quantity, cart_id
                """,
                [
                    now,
                    now,
                    quantity,
                    owner_value,
                    variant_id,
                    MAX_CART_LINES,
                    quantity,
                    MAX_ORDER_TOTAL,
                    MAX_CART_ITEM_QUANTITY,
                ],
            )
        except IntegrityError:
            # The variant was deleted after the statement read it: the foreign-key check at
            # the statement's end (autocommit) found it gone, and nothing was added;
            # add_to_cart then finds the variant gone: VariantUnavailable. Inside a transaction
            # that check waits for COMMIT, so it is never caught here.
            if not connection.get_autocommit():
                raise
            return None
        return cursor.fetchone()


def update_cart_item(*, cart: Cart, item_id: int, quantity: int) -> None:
    """Set the quantity (units) of one item of this cart.

    One conditional UPDATE: lowering a quantity is always allowed, raising it only while the
    cart's total at current prices stays within MAX_ORDER_TOTAL. Raises CartItemNotFound
    (404) if the item is not in this cart, InvalidQuantity (400) for a quantity outside
    1..MAX_CART_ITEM_QUANTITY, CartTotalLimitExceeded (400) past the total cap, CartChanged
    (409) if the cart changed under two attempts in a row.
    """
    _require_quantity(quantity)
    cart_total = Subquery(
        CartItem.objects.filter(cart_id=OuterRef("cart_id"))
        .values("cart_id")
        .annotate(total=Sum(_LINE_TOTAL))
        .values("total")
    )
    fits = Q(quantity__gte=quantity) | Q(
        new_total__lte=Value(MAX_ORDER_TOTAL, output_field=_AMOUNT)
    )
    for _ in range(2):
        updated = (
            CartItem.objects.filter(pk=item_id, cart=cart)
            .alias(new_total=cart_total + F("variant__price") * (quantity - F("quantity")))
            .filter(fits)
            .update(quantity=quantity, updated_at=timezone.now())
        )
        if updated:
            return
        item = (
            CartItem.objects.filter(pk=item_id, cart=cart)
            .values_list("quantity", "variant__price")
            .first()
        )
        if item is None:
            raise CartItemNotFound()
        in_cart, price = item
        total = _contents(cart_id=cart.pk)["total"]
        new_total = total + price * (quantity - in_cart)
        if quantity > in_cart and new_total > MAX_ORDER_TOTAL:
            raise CartTotalLimitExceeded(total=total, new_total=new_total)
    raise CartChanged()


def remove_cart_item(*, cart: Cart, item_id: int) -> None:
    """Delete one item of this cart; raise CartItemNotFound (404) if it is not in this cart."""
    deleted, _ = CartItem.objects.filter(pk=item_id, cart=cart).delete()
    if not deleted:
        raise CartItemNotFound()


@transaction.atomic
def merge_carts(*, customer: User, guest_token: uuid.UUID) -> Cart:
    """Move the items of the guest cart `guest_token` into the customer's cart, and its
    wishlist into the customer's (wishlists.services.merge_guest_wishlist); return the cart.

    Quantities of the same variant add up, capped at MAX_CART_ITEM_QUANTITY; the guest cart
    is then deleted. Raises CartNotFound (404) for an unknown token or a customer's cart's
    token, CartLinesLimitExceeded or CartTotalLimitExceeded (400) when the merged cart would
    have more than MAX_CART_LINES items or a total past MAX_ORDER_TOTAL (more than it had):
    nothing moves then, and the guest cart stays. The guest cart row is locked first, so
    two merges of one guest cart move its items once (the second finds it gone). Costs two
    or three queries per guest item, plus two; guest carts are small.
    """
    cart = get_or_create_customer_cart(customer=customer)
    try:
        guest_cart = Cart.objects.guests().select_for_update().get(token=guest_token)
    except Cart.DoesNotExist:
        raise CartNotFound() from None
    before = _contents(cart_id=cart.pk)
    now = timezone.now()
    for variant_id, quantity in guest_cart.items.values_list("variant_id", "quantity"):
        _merge_item(cart=cart, variant_id=variant_id, quantity=quantity, now=now)
    after = _contents(cart_id=cart.pk)
    # Raised inside the transaction: the merged items roll back.
    if after["lines"] > MAX_CART_LINES and after["lines"] > before["lines"]:
        raise CartLinesLimitExceeded(lines=after["lines"])
    if after["total"] > MAX_ORDER_TOTAL and after["total"] > before["total"]:
        raise CartTotalLimitExceeded(total=before["total"], new_total=after["total"])
    # Imported here: wishlists.services imports this module.
    from storefront.wishlists.services import merge_guest_wishlist

    merge_guest_wishlist(customer=customer, guest_cart=guest_cart)
    guest_cart.delete()
    return cart


def delete_stale_guest_carts(*, updated_before: datetime) -> int:
    """Delete guest carts (and their items and wishlist) untouched since `updated_before`;
    return how many.

    A guest cart's `updated_at` moves whenever one of its items changes; an item added to
    its wishlist since then keeps it too.
    """
    stale = (
        Cart.objects.guests()
        .filter(updated_at__lt=updated_before)
        .exclude(items__updated_at__gte=updated_before)
        .exclude(wishlist_items__created_at__gte=updated_before)
    )
    _, per_model = stale.delete()
    return per_model.get(Cart._meta.label, 0)


def _merge_item(*, cart: Cart, variant_id: int, quantity: int, now: datetime) -> None:
    capped_sum = Least(F("quantity") + quantity, Value(MAX_CART_ITEM_QUANTITY))
    existing = CartItem.objects.filter(cart=cart, variant_id=variant_id)
    if existing.update(quantity=capped_sum, updated_at=now):
        return
    try:
        with transaction.atomic():
            CartItem.objects.create(
                cart=cart, variant_id=variant_id, quantity=min(quantity, MAX_CART_ITEM_QUANTITY)
            )
    except IntegrityError:
        # A concurrent add created the item in between; add to it instead.
        if not existing.update(quantity=capped_sum, updated_at=now):
            raise


# A cart item's total at current prices, in SQL: CartItem.line_total.
_AMOUNT = DecimalField(max_digits=None, decimal_places=2)
_LINE_TOTAL = F("variant__price") * F("quantity")


def _contents(*, cart_id: int, variant_id: int | None = None) -> dict:
    """{"lines": items, "in_cart": units of `variant_id`, "total": Cart.total()} (1 query)."""
    return CartItem.objects.filter(cart_id=cart_id).aggregate(
        lines=Count("pk"),
        in_cart=Coalesce(Sum("quantity", filter=Q(variant_id=variant_id)), 0),
        total=Coalesce(Sum(_LINE_TOTAL, output_field=_AMOUNT), Value(Decimal("0.00"))),
    )


def _find_cart(*, cart: Cart | None, customer: User | None, token: uuid.UUID | None) -> Cart:
    """The cart an add names, for finding out why the add was refused (1 query): raises
    CartNotFound for an unknown guest token or a cart deleted meanwhile; a customer without
    a cart row (one inserted behind the ORM's back) gets one."""
    if customer is not None:
        return get_or_create_customer_cart(customer=customer)
    if token is not None:
        return get_guest_cart(token=token)
    if not Cart.objects.filter(pk=cart.pk).exists():
        raise CartNotFound()
    return cart


def _refusal(*, cart_id: int, variant_id: int, quantity: int) -> Exception | None:
    """Why _add_in_one_statement refused the add, as the cart is now (2 queries), or None
    when nothing refuses it any more."""
    price = (
        ProductVariant.objects.purchasable()
        .filter(pk=variant_id)
        .values_list("price", flat=True)
        .first()
    )
    if price is None:
        return VariantUnavailable()
    contents = _contents(cart_id=cart_id, variant_id=variant_id)
    in_cart = contents["in_cart"]
    if in_cart + quantity > MAX_CART_ITEM_QUANTITY:
        return _limit_exceeded(variant_id=variant_id, in_cart=in_cart)
    if not in_cart and contents["lines"] >= MAX_CART_LINES:
        return CartLinesLimitExceeded(lines=contents["lines"] + 1)
    new_total = contents["total"] + price * quantity
    if new_total > MAX_ORDER_TOTAL:
        return CartTotalLimitExceeded(total=contents["total"], new_total=new_total)
    return None


def _limit_exceeded(*, variant_id: int, in_cart: int) -> QuantityLimitExceeded:
    return QuantityLimitExceeded(
        f"A cart item holds at most {MAX_CART_ITEM_QUANTITY} units; this one has {in_cart}.",
        details={
            "variant_id": variant_id,
            "max_quantity": MAX_CART_ITEM_QUANTITY,
            "in_cart": in_cart,
        },
    )


def _require_quantity(quantity: int) -> None:
    if not is_valid_quantity(quantity):
        raise InvalidQuantity()
