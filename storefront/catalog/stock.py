"""Stock: the only code that changes the units on hand of existing variants.

Every change of a variant's `stock_quantity` goes through one of three functions:

- `sell`: a checkout takes units (orders.services.place_order);
- `restock`: units come back (a cancellation, orders.services.cancel_order; a refund with
  restock and a return received, through orders.services.restock_lines);
- `set_stock`: staff set the units they counted (the product API and the admin's product
  page through catalog.services.update_product, the admin's variant list and form, a
  warehouse's stock sync by SKU and a catalog import through catalog.services.sync_variants).

Each writes with one UPDATE (`F()` and `CASE`: a sale or a restock never writes a number
computed in Python from a copy read earlier), then does, in the same transaction, the
things that follow from any stock change, which nothing else calls:

- `check_low_stock`: open or resolve the variants' low-stock alerts (LowStockAlert, in
  storefront/notifications/models.py) and queue their emails through the outbox
  (notifications.services.enqueue);
- catalog.cache.invalidate_stock: the products are marked pending in the cache at once and,
  after commit, the cached catalog responses showing them go; all of them when a variant ran
  out or came back from zero;
- `notify_back_in_stock`, only for the variants that came back from zero: end their open
  back-in-stock subscriptions (BackInStockSubscription, next to LowStockAlert) and queue one
  email per subscriber. `subscribe_back_in_stock` opens them (POST
  /api/variants/{id}/notify-me/), under the variant's lock, so that no rise can pass between
  its check that the variant is out of stock and its subscription.

Creating a variant with its first units (catalog.services, the admin, the demo catalog) is
not a change of stock: it raises no alert (an alert is about stock running low, not stock
never received), and the catalog write invalidates the cache on its own. Stock quantities are
units (ints, never negative: a database CHECK).

Locks follow the lock order of docs/checkout.md (storefront/orders/services.py): variants in
ascending id, each followed by its low-stock alert and its back-in-stock subscriptions.
`sell` relies on its caller's locks (a checkout locks its lines, cart and variants in one
statement); `restock` and `set_stock` take their own, which is free when the caller holds
them already.
"""

import operator
from collections.abc import Iterable, Mapping, Sequence
from functools import reduce

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Case, F, PositiveIntegerField, Q, When
from django.utils import timezone

from storefront.accounts.models import User
from storefront.catalog import cache
from storefront.catalog.models import ProductVariant
from storefront.core.exceptions import Conflict, NotFound
from storefront.notifications import services as notifications
from storefront.notifications.models import BackInStockSubscription, LowStockAlert
from storefront.orders.exceptions import OutOfStock
from storefront.webhooks import services as webhooks


class VariantNotFound(NotFound):
    default_message = "No such variant."


class VariantInStock(Conflict):
    """A back-in-stock alert was asked for a variant that has stock: it can be bought now."""

    code = "in_stock"
    default_message = "This variant is in stock: no alert is needed."


def sell(*, lines: Sequence[tuple[ProductVariant, int]]) -> None:
    """Take the units of each (variant, units) of `lines` out of stock, in one conditional
    UPDATE; each variant's `stock_quantity` becomes the units left.

    Each variant appears once, with units >= 1, locked by the caller in the current
    transaction (FOR UPDATE or FOR NO KEY UPDATE) and read under that lock, so its
    `stock_quantity` is what it holds. The caller checks that it covers the units (see
    orders.services.place_order): the UPDATE's condition (`stock_quantity >= units`) and
    its row count only guard against a caller that forgot the lock, raising OutOfStock
    (409); the caller's transaction must then roll back, which undoes the rows written.

    Then check_low_stock with the units left (no query unless a variant fell below
    settings.LOW_STOCK_THRESHOLD) and the cache invalidation (no query). One statement
    whatever the number of lines.
    """
    if not lines:
        return
    enough_stock = reduce(
        operator.or_,
        (Q(pk=variant.pk, stock_quantity__gte=units) for variant, units in lines),
    )
    decremented = Case(
        *(When(pk=variant.pk, then=F("stock_quantity") - units) for variant, units in lines),
        default=F("stock_quantity"),
        output_field=PositiveIntegerField(),
    )
    updated = ProductVariant.objects.filter(enough_stock).update(
        stock_quantity=decremented, updated_at=timezone.now()
    )
    if updated != len(lines):
        raise OutOfStock("Stock changed while the order was being placed; try again.")
    for variant, units in lines:
        variant.stock_quantity -= units
    left = {variant.pk: variant.stock_quantity for variant, _ in lines}
    _moved(
        left,
        product_of={variant.pk: variant.product_id for variant, _ in lines},
        availability_changed=not all(left.values()),
        fell=True,
    )


def restock(*, quantities: Mapping[int, int]) -> None:
    """Put units back in stock: `quantities` maps a variant id to the units to add (>= 1).

    Locks the variants FOR UPDATE in ascending id (as a checkout locks them, so the two
    cannot deadlock), adds the units in one UPDATE, then runs check_low_stock (a variant
    back at the threshold resolves its alert), the cache invalidation and, for the variants
    that were out of stock, notify_back_in_stock. Ids of variants deleted meanwhile are
    skipped. Two queries plus check_low_stock's (one to four, the stock being known) plus,
    when a variant came back from zero, notify_back_in_stock's (one or two); none for an
    empty mapping. Runs in the caller's transaction, or in its own.
    """
    if not quantities:
        return
    with transaction.atomic(savepoint=False):
        locked = list(
            ProductVariant.objects.select_for_update()
            .filter(pk__in=quantities)
            .order_by("pk")
            .values_list("pk", "product_id", "stock_quantity")
        )
        ProductVariant.objects.filter(pk__in=quantities).update(
            stock_quantity=Case(
                *(When(pk=pk, then=F("stock_quantity") + n) for pk, n in quantities.items()),
                default=F("stock_quantity"),
                output_field=PositiveIntegerField(),
            ),
            updated_at=timezone.now(),
        )
        refilled = [pk for pk, _, stock in locked if stock == 0 and quantities[pk] > 0]
        _moved(
            {pk: stock + quantities[pk] for pk, _, stock in locked},
            product_of={pk: product_id for pk, product_id, _ in locked},
            availability_changed=any(stock == 0 for _, _, stock in locked),
            refilled=refilled,
        )


def set_stock(*, quantities: Mapping[int, int]) -> None:
    """Set the units on hand that staff counted: `quantities` maps a variant id to its new
    stock (units, >= 0; a negative one fails the database CHECK, IntegrityError).

    Locks the variants FOR NO KEY UPDATE in ascending id (step 3 of the lock order; a caller
    that locked them already, as catalog.services.update_product does, holds them, and one
    that locked their product first keeps step 2 before it), writes the variants whose stock
    differs in one UPDATE, then runs check_low_stock (lowered by hand: an alert; restocked:
    resolved), the cache invalidation and, for the variants set above zero from zero,
    notify_back_in_stock. Only what the caller names is written: a stock staff did not touch
    is left to the sales made since it was shown. Ids of variants deleted meanwhile are
    skipped. Two queries plus check_low_stock's (one to four, the stock being known) plus,
    when a variant came back from zero, notify_back_in_stock's (one or two); one when nothing
    differs, none for an empty mapping. Runs in the caller's transaction, or in its own.
    """
    if not quantities:
        return
    with transaction.atomic(savepoint=False):
        locked = list(
            ProductVariant.objects.select_for_update(no_key=True)
            .filter(pk__in=quantities)
            .order_by("pk")
            .values_list("pk", "product_id", "stock_quantity")
        )
        changed = [(pk, product, stock) for pk, product, stock in locked if quantities[pk] != stock]
        if not changed:
            return
        ProductVariant.objects.filter(pk__in=[pk for pk, _, _ in changed]).update(
            stock_quantity=Case(
                *(When(pk=pk, then=quantities[pk]) for pk, _, _ in changed),
                default=F("stock_quantity"),
                output_field=PositiveIntegerField(),
            ),
            updated_at=timezone.now(),
        )
        _moved(
            {pk: quantities[pk] for pk, _, _ in changed},
            product_of={pk: product_id for pk, product_id, _ in changed},
            availability_changed=any(
                (stock == 0) != (quantities[pk] == 0) for pk, _, stock in changed
            ),
            refilled=[pk for pk, _, stock in changed if stock == 0],
        )


def _moved(
    stock_now: Mapping[int, int],
    *,
    product_of: Mapping[int, int],
    availability_changed: bool,
    refilled: Sequence[int] = (),
    fell: bool = False,
) -> None:
    """What follows any change of stock, in its transaction: the low-stock alerts of the
    variants (`stock_now`: variant id -> units now), the cache of their products
    (`product_of`: variant id -> product id; `availability_changed`: a variant ran out or
    came back from zero), the back-in-stock alerts of the variants that came back from zero
    (`refilled`, ids; none for a sale) and a `stock.changed` webhook event per variant
    (storefront/webhooks: none written when no endpoint subscribes; a checkout and a
    cancellation write theirs in the statement of their own events)."""
    # The cache's after-commit bump first: it then runs before the alert's email publish
    # hooks, which may wait on the broker, so the products stay marked pending (readers go
    # to the database: catalog/cache.py) for one Redis round trip after the commit.
    cache.invalidate_stock(
        product_ids=list(product_of.values()), availability_changed=availability_changed
    )
    check_low_stock(variant_ids=list(stock_now), stock=stock_now, fell=fell)
    if refilled:
        notify_back_in_stock(variant_ids=refilled)
    webhooks.emit_many(
        [
            (
                "stock.changed",
                {"variant_id": pk, "product_id": product_of[pk], "stock_quantity": units},
            )
            for pk, units in stock_now.items()
        ]
    )


def check_low_stock(
    *, variant_ids: Iterable[int], stock: Mapping[int, int] | None = None, fell: bool = False
) -> None:
    """Alert staff about variants whose stock is now below settings.LOW_STOCK_THRESHOLD.

    Called by sell, restock and set_stock in the transaction that changed the stock, after
    the change; other code changes stock through them. `stock`, when the caller knows it
    (variant id: units now on hand, for every id of `variant_ids`), saves reading it again.
    A variant alerts once per crossing: the first call that finds it low opens a
    `LowStockAlert` and queues one email (an outbox message of kind low_stock); later calls while it
    stays low queue nothing; a call that finds it back at or above the threshold resolves
    the alert, so the next fall alerts again. `fell=True` says the stock only went down (a
    sale): every rise resolves the alerts it ends, so a fall has none to resolve and skips
    that query. Safe under concurrent checkouts (one open alert per variant is a database
    constraint). Zero to five queries, whatever the number of variants.
    """
    variant_ids = list(variant_ids)
    if not variant_ids:
        return
    threshold = settings.LOW_STOCK_THRESHOLD
    if stock is None:
        stock = dict(
            ProductVariant.objects.filter(pk__in=set(variant_ids)).values_list(
                "pk", "stock_quantity"
            )
        )
    low = {pk: quantity for pk, quantity in stock.items() if quantity < threshold}
    restocked = [] if fell else [pk for pk in stock if pk not in low]
    if restocked:
        LowStockAlert.objects.filter(variant_id__in=restocked, resolved_at__isnull=True).update(
            resolved_at=timezone.now()
        )
    if not low:
        return
    LowStockAlert.objects.bulk_create(
        [
            LowStockAlert(variant_id=pk, stock_quantity=quantity, threshold=threshold)
            for pk, quantity in low.items()
        ],
        ignore_conflicts=True,
    )
    # An alert already open keeps its key, so the conflict-free insert below skips it.
    alert_ids = LowStockAlert.objects.filter(
        variant_id__in=list(low), resolved_at__isnull=True
    ).values_list("pk", flat=True)
    notifications.enqueue(
        [
            (notifications.Kind.LOW_STOCK, f"low_stock:alert:{alert_id}", {"alert_id": alert_id})
            for alert_id in alert_ids
        ]
    )


# --- Back in stock -------------------------------------------------------------------------


def subscribe_back_in_stock(*, variant_id: int, customer: User | None, email: str = "") -> str:
    """Ask for one email when variant `variant_id`, now out of stock, is back in stock;
    return the address it will go to.

    A `customer` (signed in) is emailed at their account's address, `email` ignored; a
    guest (`customer` None) at `email`, which the caller validated (stored lower-cased).
    Subscribing again while a subscription is open keeps that one (one open subscription
    per variant and person, a database constraint). The variant is locked FOR NO KEY
    UPDATE, as set_stock and restock lock it, so a rise either commits before (and this
    sees the stock) or waits for this subscription and ends it.

    Raises VariantNotFound (404) for a variant that does not exist or is not purchasable
    (querysets.VariantQuerySet.purchasable) and VariantInStock (409) when it has stock;
    nothing is written then. Two queries (the lock, the insert), in the caller's transaction
    or its own.
    """
    address = customer.email if customer is not None else User.objects.normalize_email(email)
    with transaction.atomic(savepoint=False):
        stock = (
            ProductVariant.objects.purchasable()
            .select_for_update(no_key=True, of=("self",))
            .filter(pk=variant_id)
            .values_list("stock_quantity", flat=True)
            .first()
        )
        if stock == 0:
            BackInStockSubscription.objects.bulk_create(
                [
                    BackInStockSubscription(
                        variant_id=variant_id,
                        customer=customer,
                        email="" if customer is not None else address,
                    )
                ],
                ignore_conflicts=True,
            )
    # Raised outside the block: an error inside one without a savepoint would break the
    # caller's transaction, and there is nothing to undo.
    if stock is None:
        raise VariantNotFound()
    if stock > 0:
        raise VariantInStock()
    return address


def notify_back_in_stock(*, variant_ids: Sequence[int]) -> None:
    """End the open back-in-stock subscriptions of `variant_ids` (variants whose stock just
    rose from zero, locked by the caller) and queue one email per subscription, in the
    caller's transaction: the emails go if and only if the rise commits, once (the outbox
    key names the subscription).

    Called by _moved only (restock and set_stock), so every rise from zero notifies,
    whichever path raised it. One query when nobody subscribed, two otherwise (the outbox
    insert), whatever the number of variants and subscribers.
    """
    ended = _end_open_subscriptions(variant_ids)
    notifications.enqueue(
        [
            (
                notifications.Kind.BACK_IN_STOCK,
                f"back_in_stock:subscription:{pk}",
                {"subscription_id": pk},
            )
            for pk in ended
        ]
    )


def _end_open_subscriptions(variant_ids: Sequence[int]) -> list[int]:
    """Mark the open subscriptions of `variant_ids` notified; return their ids.

    One UPDATE ... RETURNING: QuerySet.update returns no ids, and reading them first would
    cost a query more at every rise from zero. The partial unique index of open
    subscriptions (variant first) finds them.
    """
    meta = BackInStockSubscription._meta
    connection = connections[router.db_for_write(BackInStockSubscription)]
    quote = connection.ops.quote_name
    variant, notified = meta.get_field("variant").column, meta.get_field("notified_at").column
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET {quote(notified)} = %s "
            f"WHERE {quote(variant)} = ANY(%s) AND {quote(notified)} IS NULL "
            f"RETURNING {quote(meta.pk.column)}",
            [timezone.now(), list(variant_ids)],
        )
        return sorted(pk for (pk,) in cursor.fetchall())
