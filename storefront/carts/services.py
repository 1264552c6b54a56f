"""Cart workflows: create carts, add, change and remove items, merge a guest cart on login.

Quantities are units of one variant, 1 to MAX_CART_ITEM_QUANTITY per cart item. Concurrent
requests on the same cart never lose an update: adding is one INSERT ... ON CONFLICT DO
UPDATE on the (cart, variant) unique constraint, other quantity changes are conditional
UPDATEs on `F("quantity")`, and a merged item is inserted in a savepoint so that a concurrent
insert of the same variant falls back to the UPDATE.
"""

import uuid
from datetime import datetime

from django.db import IntegrityError, connections, router, transaction
from django.db.models import F, Value
from django.db.models.functions import Least
from django.utils import timezone

from storefront.accounts.models import User
from storefront.carts.exceptions import (
    CartItemNotFound,
    CartNotFound,
    InvalidQuantity,
    QuantityLimitExceeded,
    VariantUnavailable,
)
from storefront.carts.models import MAX_CART_ITEM_QUANTITY, Cart, CartItem, is_valid_quantity
from storefront.catalog.models import Product, ProductVariant


def get_or_create_customer_cart(*, customer: User) -> Cart:
    """Return the customer's cart (one query); create it if missing.

    User.save() creates the cart with the customer, and a migration gave one to every
    customer created before that; the fallback covers users inserted behind the ORM's back.
    """
    cart, _ = Cart.objects.get_or_create(customer=customer)
    return cart


def create_guest_cart() -> Cart:
    """Create an empty guest cart; the caller hands its `token` (UUID) to the visitor."""
    return Cart.objects.create()


def get_guest_cart(*, token: uuid.UUID) -> Cart:
    """Return the guest cart with this token; raise CartNotFound (404) for any other token."""
    try:
        return Cart.objects.guests().get(token=token)
    except Cart.DoesNotExist:
        raise CartNotFound() from None


def add_to_cart(*, cart: Cart, variant: ProductVariant, quantity: int = 1) -> CartItem:
    """Put `quantity` units of `variant` in the cart, adding to the item if it is there already.

    `variant` must come with its product loaded (select_related) so publication is checked
    without a query. One SQL statement, safe under concurrent adds to the same cart. Returns
    the item with its new quantity. Raises VariantUnavailable (400) for an unpublished
    product, QuantityLimitExceeded (400) when the item would exceed MAX_CART_ITEM_QUANTITY
    units, InvalidQuantity (400) for a quantity outside 1..MAX_CART_ITEM_QUANTITY.
    Nothing changes when an error is raised.
    """
    _require_purchasable(variant)
    _require_quantity(quantity)
    row = _insert_or_add(cart_id=cart.pk, variant_id=variant.pk, quantity=quantity)
    if row is None:
        in_cart = _quantity_in_cart(cart=cart, variant_id=variant.pk)
        raise _limit_exceeded(variant_id=variant.pk, in_cart=in_cart or 0)
    item_id, new_quantity = row
    # The fields not read back (timestamps) load on first access.
    item = CartItem.from_db(
        router.db_for_write(CartItem),
        ["id", "cart_id", "variant_id", "quantity"],
        [item_id, cart.pk, variant.pk, new_quantity],
    )
    item.cart, item.variant = cart, variant
    return item


def add_to_cart_by_ids(
    *,
    variant_id: int,
    quantity: int,
    customer_id: int | None = None,
    token: uuid.UUID | None = None,
) -> Cart | None:
    """Add `quantity` units of variant `variant_id` to a cart in one SQL statement.

    The hot path of adding to a cart: the cart is found by exactly one of `customer_id` (the
    customer's cart) or `token` (a guest cart), and the variant is checked to belong to a
    published product, inside the INSERT ... SELECT ... ON CONFLICT DO UPDATE that adds the
    units. `variant_id` is a positive int; `quantity` an int in 1..MAX_CART_ITEM_QUANTITY
    (checked, InvalidQuantity otherwise). Returns the cart (its id and customer; a guest
    cart also its token), or None when the statement changed nothing: no such cart, an
    unknown or unpublished variant, or an item that would exceed MAX_CART_ITEM_QUANTITY.
    The caller then takes the checked path (the cart lookup, the input serializer and
    add_to_cart), which says which it was.
    """
    if (customer_id is None) == (token is None):
        raise TypeError("Pass exactly one of customer_id and token.")
    _require_quantity(quantity)
    connection = connections[router.db_for_write(CartItem)]
    quote = connection.ops.quote_name
    owner = (
        "cart.customer_id = %s" if token is None else "cart.token = %s AND cart.customer_id IS NULL"
    )
    source = f"""
        SELECT %s, %s, cart.id, variant.id, %s
        FROM {quote(Cart._meta.db_table)} AS cart,
            {quote(ProductVariant._meta.db_table)} AS variant
            JOIN {quote(Product._meta.db_table)} AS product ON product.id = variant.product_id
        WHERE {owner} AND variant.id = %s AND product.is_published
    """
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    if token is None:
        owner_value = customer_id
    else:
        owner_value = Cart._meta.get_field("token").get_db_prep_value(token, connection)
    row = _upsert(connection, source, [now, now, quantity, owner_value, variant_id])
    if row is None:
        return None
    cart = Cart.from_db(connection.alias, ["id", "customer_id"], [row[2], customer_id])
    if token is not None:
        cart.token = token
    return cart


def _insert_or_add(*, cart_id: int, variant_id: int, quantity: int) -> tuple[int, int] | None:
    """Insert the item, or add `quantity` to the existing one if that stays within the limit.

    Returns (item id, new quantity), or None when the existing item would exceed
    MAX_CART_ITEM_QUANTITY.
    """
    connection = connections[router.db_for_write(CartItem)]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    row = _upsert(
        connection, "VALUES (%s, %s, %s, %s, %s)", [now, now, cart_id, variant_id, quantity]
    )
    return (row[0], row[1]) if row else None


def _upsert(connection, source: str, params: list) -> tuple[int, int, int] | None:
    """INSERT the cart item row(s) from `source` (VALUES or SELECT of created_at, updated_at,
    cart_id, variant_id, quantity), or add the quantity to an existing item if that stays
    within MAX_CART_ITEM_QUANTITY; return (item id, new quantity, cart id) or None.

    One INSERT ... ON CONFLICT DO UPDATE (PostgreSQL 9.5+, SQLite 3.35+): atomic against a
    concurrent add of the same variant, with no savepoint and no retry.
    """
    table = connection.ops.quote_name(CartItem._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} AS item (created_at, updated_at, cart_id, variant_id, quantity)
            {source}
            ON CONFLICT (cart_id, variant_id) DO UPDATE
                SET quantity = item.quantity + excluded.quantity,
                    updated_at = excluded.updated_at
                WHERE item.quantity <= %s - excluded.quantity
            RETURNING id, quantity, cart_id
            """,
            [*params, MAX_CART_ITEM_QUANTITY],
        )
        return cursor.fetchone()


def update_cart_item(*, cart: Cart, item_id: int, quantity: int) -> None:
    """Set the quantity (units) of one item of this cart.

    Raises CartItemNotFound (404) if the item is not in this cart, InvalidQuantity (400) for
    a quantity outside 1..MAX_CART_ITEM_QUANTITY.
    """
    _require_quantity(quantity)
    updated = CartItem.objects.filter(pk=item_id, cart=cart).update(
        quantity=quantity, updated_at=timezone.now()
    )
    if not updated:
        raise CartItemNotFound()


def remove_cart_item(*, cart: Cart, item_id: int) -> None:
    """Delete one item of this cart; raise CartItemNotFound (404) if it is not in this cart."""
    deleted, _ = CartItem.objects.filter(pk=item_id, cart=cart).delete()
    if not deleted:
        raise CartItemNotFound()


@transaction.atomic
def merge_carts(*, customer: User, guest_token: uuid.UUID) -> Cart:
    """Move the items of the guest cart `guest_token` into the customer's cart; return it.

    Quantities of the same variant add up, capped at MAX_CART_ITEM_QUANTITY; the guest cart
    is then deleted. Raises CartNotFound (404) for an unknown token or a customer's cart's
    token. The guest cart row is locked first, so two merges of one guest cart move its
    items once (the second finds it gone). Costs two or three queries per guest item; guest
    carts are small.
    """
    cart = get_or_create_customer_cart(customer=customer)
    try:
        guest_cart = Cart.objects.guests().select_for_update().get(token=guest_token)
    except Cart.DoesNotExist:
        raise CartNotFound() from None
    now = timezone.now()
    for variant_id, quantity in guest_cart.items.values_list("variant_id", "quantity"):
        _merge_item(cart=cart, variant_id=variant_id, quantity=quantity, now=now)
    guest_cart.delete()
    return cart


def delete_stale_guest_carts(*, updated_before: datetime) -> int:
    """Delete guest carts (and their items) untouched since `updated_before`; return how many.

    A guest cart's `updated_at` moves whenever one of its items changes.
    """
    stale = (
        Cart.objects.guests()
        .filter(updated_at__lt=updated_before)
        .exclude(items__updated_at__gte=updated_before)
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


def _quantity_in_cart(*, cart: Cart, variant_id: int) -> int | None:
    return (
        CartItem.objects.filter(cart=cart, variant_id=variant_id)
        .values_list("quantity", flat=True)
        .first()
    )


def _limit_exceeded(*, variant_id: int, in_cart: int) -> QuantityLimitExceeded:
    return QuantityLimitExceeded(
        f"A cart item holds at most {MAX_CART_ITEM_QUANTITY} units; this one has {in_cart}.",
        details={
            "variant_id": variant_id,
            "max_quantity": MAX_CART_ITEM_QUANTITY,
            "in_cart": in_cart,
        },
    )


def _require_purchasable(variant: ProductVariant) -> None:
    if not variant.product.is_published:
        raise VariantUnavailable()


def _require_quantity(quantity: int) -> None:
    if not is_valid_quantity(quantity):
        raise InvalidQuantity()
