"""Order workflows: checkout, status changes, cancellation, payment, customer anonymisation.

These are the only places where the events of an order's life happen, so side effects
(notifications, webhooks) hook in here, one call each:

- place_order: an order is placed (stock sold, voucher use claimed, cart emptied, payment
  pending);
- change_order_status: an order moves along Order.TRANSITIONS (cancelling delegates to
  cancel_order);
- cancel_order: an order is cancelled (stock back, voucher use given back, completed payment
  refunded);
- pay_order / complete_cash_on_delivery_payment: a payment completes (or a card is declined).

Webhook events (storefront/webhooks, docs/webhooks.md) are emitted here, in the transaction
of their change: order.placed (in the checkout's one statement, with the events the stock
module emitted while selling), order.status_changed and order.cancelled (_transition),
payment.completed (_record_payment_outcome: the order learns its payment captured) and
payment.refunded (a refund succeeded). Workflows that emit several events collect them
(webhooks.services.collect) and write them in one statement.

Lock order. Every writer of these rows, here and in the other apps (staff edits of the
catalog through the API or the admin, imports, refunds), takes its row locks in this order,
skipping what it does not need, so that no two transactions wait on each other in a cycle
(docs/checkout.md, "Lock order", says why each step is where it is):

1. an order, then its payment (every workflow on an existing order);
2. a product's staff write lock, an advisory lock on its id (a staff write to it;
   storefront/catalog/services.py lock_product);
3. variants in ascending id, each one preceded by the cart items holding it that the
   transaction locks (a checkout: its line, then its cart row; deleting a variant: all of
   them) and followed by its low-stock alert; then the products whose derived min_price or
   in_stock the statement changes, in ascending id (catalog migration 0005's trigger);
   then the voucher whose use an order claims or gives back (storefront/pricing/vouchers.py);
4. a customer's row, after their cart items (anonymise_customer);
5. last, the locks that block foreign-key checks (FOR UPDATE of a product: a new slug, a
   deletion), once nothing a checkout holds is still awaited.

At COMMIT, PostgreSQL checks the deferred foreign keys of the rows written with FOR KEY SHARE
of the rows they refer to (the products, variants, customer of a new order): only FOR UPDATE
conflicts with that, hence step 5. A writer updates only the
columns it changes. A deadlock that still happens is retried once (storefront/core/database.py).
"""

import hashlib
import json
import logging
import secrets
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from functools import partial

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.db import IntegrityError, connections, router, transaction
from django.db.models import F, Func, JSONField, Q, Value
from django.utils import timezone
from knox.models import AuthToken

from storefront.accounts import addresses
from storefront.accounts.addresses import PostalAddress
from storefront.accounts.backends import lockout_keys
from storefront.accounts.exceptions import EmailNotVerified
from storefront.accounts.models import User
from storefront.carts.models import Cart, CartItem
from storefront.catalog import stock
from storefront.core import sql
from storefront.core.exceptions import DomainError
from storefront.core.models import seed_prefetch_cache
from storefront.orders import emails, guest_access
from storefront.orders.exceptions import (
    EmptyCart,
    IdempotencyKeyReused,
    InvalidStatusTransition,
    OrderTooLarge,
    OutOfStock,
    PaymentRequired,
)
from storefront.orders.models import MAX_ORDER_TOTAL, Order, OrderDiscount, OrderEvent, OrderItem
from storefront.payments import services as payment_services
from storefront.payments.exceptions import (
    InvalidRefund,
    PaymentDeclined,
    PaymentNotAllowed,
    RefundExceedsCaptured,
)
from storefront.payments.models import Payment, Refund, RefundLine
from storefront.payments.providers import ProviderPayment
from storefront.pricing import quotes, vouchers
from storefront.pricing import refunds as refund_amounts
from storefront.pricing.exceptions import PriceChanged
from storefront.webhooks import services as webhooks
from storefront.webhooks.models import EventType

# Crockford's base32 alphabet: no I, L, O or U, so a number read aloud is not misheard.
ORDER_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ORDER_NUMBER_ATTEMPTS = 3
logger = logging.getLogger(__name__)
REDACTED = "[removed]"


def generate_order_number() -> str:
    """A random, human-friendly order number such as "SF-7K3QD-M9XAB" (50 random bits)."""
    chars = "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(10))
    return f"SF-{chars[:5]}-{chars[5:]}"


def place_order(
    *,
    customer: User,
    shipping_address: PostalAddress | str,
    billing_address: PostalAddress | str,
    phone_number: str,
    additional_phone: str = "",
    payment_method: str = Payment.Method.CASH_ON_DELIVERY,
    shipping_method: str | None = None,
    voucher_code: str | None = None,
    expected_total: Decimal | None = None,
    idempotency_key: str | None = None,
) -> tuple[Order, bool]:
    """Turn the customer's cart into an order; return (order, created).

    In one transaction: sell the stock of every cart line, create the order with snapshots
    of its lines (names, SKU, unit price, quantity, line total; amounts in the store
    currency), record the "placed" event, create a pending payment of `payment_method`, and
    empty the cart. The number of SQL statements does not depend on the number of lines.

    Each address is a postal address (storefront.accounts.addresses: a dict of its FIELDS,
    already validated, e.g. by PostalAddressSerializer) or text; the order keeps both its
    text and its postal address (addresses.snapshot).

    The amounts are the quote of the locked lines (storefront/pricing/quotes.py, the one
    pipeline) at the customer's member prices with the promotions active now: shipped with
    `shipping_method` (a code; default: the cheapest offered for the shipping address's
    country), with `voucher_code` (optional, any case; the order claims one of its uses in
    the transaction: storefront/pricing/vouchers.py), the order keeps the subtotal,
    discount, shipping, tax and total, each item its list price, unit price, discount, tax
    rate and tax, and the discounts applied (OrderDiscount). With `expected_total` (the
    total of the client's quote), a different total raises PriceChanged (409, the new quote
    in `details`) instead of charging it.

    `idempotency_key` (optional, per customer, never expires): if an order was already
    placed with this key and the same inputs, it is returned with created=False and nothing
    else happens; with different inputs IdempotencyKeyReused (422) is raised.

    Raises EmailNotVerified (403) when settings.CHECKOUT_REQUIRES_VERIFIED_EMAIL is on and
    the customer's email is not verified, PaymentMethodUnavailable (400) when no provider
    takes `payment_method` (cards without a gateway and with settings.PAYMENT_SANDBOX off),
    EmptyCart (400), OutOfStock (409, with the short lines in `details`),
    ShippingMethodUnavailable (400: the method is not offered for the address, or the store
    ships but nothing ships there), VoucherInvalid, VoucherExpired, VoucherExhausted (400),
    VoucherTakenMeanwhile (409 voucher_exhausted: concurrent orders took its last use),
    PriceChanged (409), OrderTooLarge (400), IdempotencyKeyReused (422). Nothing changes
    when it raises.

    The order number is random (generate_order_number, 50 bits): in the rare case that it is
    taken, the whole transaction is rolled back and run again with a new number, up to
    ORDER_NUMBER_ATTEMPTS times. Retrying the transaction, rather than guarding the insert
    with a savepoint, keeps the usual case two statements shorter.
    """
    if settings.CHECKOUT_REQUIRES_VERIFIED_EMAIL and not customer.email_verified:
        raise EmailNotVerified()
    inputs = {
        "shipping_address": shipping_address,
        "billing_address": billing_address,
        "phone_number": phone_number,
        "additional_phone": additional_phone,
        "payment_method": payment_method,
        **_given(
            shipping_method=shipping_method,
            voucher_code=voucher_code,
            expected_total=expected_total,
        ),
    }
    place = partial(
        _place_order,
        customer=customer,
        guest_cart=None,
        email=customer.email,
        idempotency_key=idempotency_key,
        fingerprint=_fingerprint(**inputs),
        **_checkout_arguments(inputs, membership=customer.membership),
    )
    return _opened(*_with_a_free_number(place))


def place_guest_order(
    *,
    cart: Cart,
    email: str,
    shipping_address: PostalAddress | str,
    billing_address: PostalAddress | str,
    phone_number: str,
    additional_phone: str = "",
    payment_method: str = Payment.Method.CASH_ON_DELIVERY,
    shipping_method: str | None = None,
    voucher_code: str | None = None,
    expected_total: Decimal | None = None,
    idempotency_key: str | None = None,
) -> tuple[Order, bool]:
    """Turn the guest cart `cart` into an order for `email`; return (order, created).

    As place_order, with the same guarantees, statement count and errors: the lines are
    locked with their cart and variants and sold in the one transaction, the order keeps
    their prices, the cart is emptied. The order has no customer; it keeps `email` (where
    its emails go, lower-cased) and the cart's token, which scopes `idempotency_key`: a
    replay through the same guest cart with the same key and inputs returns the first
    order (created=False). Its access token is guest_access.access_token(order.number);
    only its digest is stored. A verified customer with `email` claims it later
    (claim_guest_orders).
    """
    email = email.strip().lower()
    inputs = {
        "email": email,
        "shipping_address": shipping_address,
        "billing_address": billing_address,
        "phone_number": phone_number,
        "additional_phone": additional_phone,
        "payment_method": payment_method,
        **_given(
            shipping_method=shipping_method,
            voucher_code=voucher_code,
            expected_total=expected_total,
        ),
    }
    place = partial(
        _place_order,
        customer=None,
        guest_cart=cart,
        idempotency_key=idempotency_key,
        fingerprint=_fingerprint(**inputs),
        **_checkout_arguments(inputs, membership=None),
    )
    return _opened(*_with_a_free_number(place))


def _given(**inputs: object) -> dict:
    """The optional checkout inputs that were given, as the fingerprint counts them (a
    checkout without them fingerprints as before they existed)."""
    return {name: str(value) for name, value in inputs.items() if value is not None}


def _checkout_arguments(inputs: dict, *, membership: str | None) -> dict:
    """The arguments of _place_order from the checkout inputs: each address as its text and
    its postal address (`<name>_details`), as the order keeps them; the quote context
    (read before the transaction: one query, no lock) of the shipping address, the
    customer's `membership` (None: a guest) and the voucher code; the shipping method and
    expected total (None when not given)."""
    snapshots = {}
    for name in ("shipping_address", "billing_address"):
        snapshots[name], snapshots[f"{name}_details"] = addresses.snapshot(inputs[name])
    country = snapshots["shipping_address_details"]["country"]
    expected = inputs.get("expected_total")
    return {
        **inputs,
        **snapshots,
        "context": quotes.quote_context(
            country=country,
            region=snapshots["shipping_address_details"]["region"],
            membership=membership,
            voucher_code=inputs.get("voucher_code"),
        ),
        "shipping_method": inputs.get("shipping_method"),
        "voucher_code": inputs.get("voucher_code"),
        "expected_total": Decimal(expected) if expected is not None else None,
    }


def _with_a_free_number(place) -> tuple[Order, bool]:
    for _ in range(ORDER_NUMBER_ATTEMPTS - 1):
        number = generate_order_number()
        try:
            with transaction.atomic(), webhooks.collect():
                return place(number=number)
        except IntegrityError:
            # Read after the rollback: was it this number, or another constraint?
            if not Order.objects.filter(number=number).exists():
                raise
    # collect(): the events emitted while selling go in the order's one statement.
    with transaction.atomic(), webhooks.collect():
        return place(number=generate_order_number())


def _place_order(
    *,
    customer: User | None,
    guest_cart: Cart | None,
    email: str,
    number: str,
    shipping_address: str,
    billing_address: str,
    shipping_address_details: PostalAddress,
    billing_address_details: PostalAddress,
    phone_number: str,
    additional_phone: str,
    payment_method: str,
    context: quotes.QuoteContext,
    shipping_method: str | None,
    voucher_code: str | None,
    expected_total: Decimal | None,
    idempotency_key: str | None,
    fingerprint: str,
) -> tuple[Order, bool]:
    """place_order's (or place_guest_order's) transaction, with the order number to use and
    the fingerprint of the inputs; `customer` or `guest_cart` says whose cart it is."""
    # One query reads the lines and locks them, their cart and their variants, in variant id
    # order. Locking the cart serializes the checkouts of this customer: a concurrent one
    # waits here, then finds either the order placed under its idempotency key (the lookup
    # below runs after the wait) or an empty cart. Every checkout locks shared variants in
    # the same order, so none can deadlock another.
    if guest_cart is not None:
        cart_lines = CartItem.objects.filter(cart=guest_cart)
        own_orders = Order.objects.filter(guest_cart_token=guest_cart.token)
    else:
        cart_lines = CartItem.objects.filter(cart__customer=customer)
        own_orders = Order.objects.filter(customer=customer, guest_cart_token__isnull=True)
    lines = list(
        quotes.with_promotion_targets(cart_lines.select_related("cart"))
        .select_for_update(of=("self", "cart", "variant"))
        .order_by("variant_id")
    )
    if idempotency_key is not None:
        previous = own_orders.filter(idempotency_key=idempotency_key).first()
        if previous is not None:
            if previous.request_fingerprint != fingerprint:
                raise IdempotencyKeyReused()
            return previous, False
    # After the replay lookup: an order placed before the method went away is still returned.
    payment_services.check_method_available(method=payment_method)
    if not lines:
        raise EmptyCart()
    short = [line for line in lines if not line.is_available]
    if short:
        raise OutOfStock(details={"lines": [_shortage(line) for line in short]})
    quote = quotes.build_quote(lines=lines, context=context, shipping_method=shipping_method)
    quotes.require_shipping(quote, context)
    if expected_total is not None and quote.total != expected_total:
        raise PriceChanged(
            details={"expected_total": f"{expected_total:.2f}", "quote": quote.as_json()}
        )
    if quote.total > MAX_ORDER_TOTAL:
        raise OrderTooLarge()

    stock.sell(lines=[(line.variant, line.quantity) for line in lines])
    if quote.voucher is not None:
        # After the stock (lock order: variants, products, then the voucher).
        vouchers.claim_use(quote.voucher, customer=customer, email=email)
    order = Order(
        number=number,
        customer=customer,
        email=email,
        guest_cart_token=guest_cart.token if guest_cart is not None else None,
        access_token_digest=(
            guest_access.digest(guest_access.access_token(order_number=number))
            if guest_cart is not None
            else None
        ),
        shipping_address=shipping_address,
        billing_address=billing_address,
        shipping_address_details=shipping_address_details,
        billing_address_details=billing_address_details,
        phone_number=phone_number,
        additional_phone=additional_phone,
        currency=quote.currency,
        subtotal=quote.subtotal,
        discount_total=quote.discount_total,
        shipping_total=quote.shipping.price if quote.shipping else Decimal("0.00"),
        tax_total=quote.tax_total,
        total=quote.total,
        shipping_method_code=quote.shipping.code if quote.shipping else "",
        shipping_method_name=quote.shipping.name if quote.shipping else "",
        voucher_id=quote.voucher.id if quote.voucher else None,
        voucher_code=quote.voucher.code if quote.voucher else "",
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        payment_due_at=_payment_due_at(payment_method),
    )
    items = [
        OrderItem(
            order=order,
            product=line.variant.product,
            variant=line.variant,
            product_name=line.variant.product.name,
            variant_name=line.variant.name,
            sku=priced.sku,
            list_price=priced.list_price,
            unit_price=priced.unit_price,
            quantity=priced.quantity,
            discount_total=priced.discount_total,
            tax_rate=priced.tax_rate,
            tax_total=priced.tax_total,
            line_total=priced.line_total,
        )
        for line, priced in zip(lines, quote.lines, strict=True)
    ]
    discounts = [
        OrderDiscount(
            order=order,
            kind=applied.kind,
            code=applied.code,
            name=applied.name,
            description=applied.description,
            amount=applied.amount,
            promotion_id=applied.promotion_id,
            voucher_id=applied.voucher_id,
        )
        for applied in quote.applied
    ]
    placed = OrderEvent(
        order=order, actor=customer, from_status="", to_status=order.status, note="Order placed."
    )
    payment = payment_services.new_payment(order=order, method=payment_method)
    # Only the lines just sold: an item added while this checkout ran stays in the cart.
    _insert_order(
        order, items=items, discounts=discounts, placed=placed, payment=payment, sold=lines
    )
    emails.enqueue_order_confirmation(order_id=order.pk)
    # What selectors.order_detail would prefetch, so that showing the new order costs no query.
    seed_prefetch_cache(order, items=items, discounts=discounts, events=[placed])
    return order, True


@transaction.atomic
def change_order_status(*, order: Order, status: str, actor: User | None, note: str = "") -> Order:
    """Move the order to `status` along Order.TRANSITIONS and record an OrderEvent.

    `actor` is the user who asked (None for the system, e.g. after a payment). Moving to
    cancelled is cancel_order (stock back, payment refunded or voided). Shipping a card order
    whose payment is only authorised (settings.PAYMENT_CAPTURE "manual") captures it first.
    Raises InvalidStatusTransition (409) if the table does not allow the move from the
    order's current status, including when another request moved the order first, and
    PaymentRequired (409) when a card order would move to shipped or delivered
    (Order.PAID_BEFORE) before its payment is completed; cash on delivery may ship unpaid.
    Returns the order with its new status.
    """
    if status == Order.Status.CANCELLED:
        return cancel_order(order=order, actor=actor, note=note)
    if status in Order.PAID_BEFORE and order.payment_status == Order.PaymentStatus.AUTHORISED:
        order = _lock_order(order)
        payment = _lock_payment(order)
        if payment is not None and payment.status == Payment.Status.AUTHORISED:
            payment = payment_services.capture_payment(payment=payment)
            _record_payment_outcome(order=order, payment=payment, actor=actor)
    _transition(order=order, to_status=status, actor=actor, note=note)
    return order


@transaction.atomic
def cancel_order(*, order: Order, actor: User | None, note: str = "") -> Order:
    """Cancel a pending or processing order: its stock comes back (the units not already
    put back by a refund), the voucher use it held is given back, what its payment captured
    and was not refunded yet is refunded through its provider (a Refund, source
    cancellation), a payment not captured is voided there. Records an OrderEvent.

    Raises InvalidStatusTransition (409) once the order has shipped or is already cancelled,
    and PaymentMethodUnavailable (400) when the payment's provider is no longer configured,
    so it cannot be refunded (nothing changes).
    """
    order = _lock_order(order)
    _cancel(order=order, actor=actor, note=note, source="cancellation")
    return order


def _cancel(*, order: Order, actor: User | None, note: str, source: str, reason: str = "") -> None:
    """cancel_order's work on the locked order: the move, then the money, then the stock.
    Its webhook events (order.status_changed, order.cancelled, payment.refunded and those
    of the stock) are written together, at the end."""
    with webhooks.collect():
        _transition(
            order=order, to_status=Order.Status.CANCELLED, actor=actor, note=note, reason=reason
        )
        payment = _lock_payment(order)
        if payment is not None:
            if payment.status not in Payment.CAPTURED:
                # A capture that won the race with this void comes back completed: refunded
                # below.
                payment = payment_services.void_payment(payment=payment, source=source)
            if payment.status in Payment.CAPTURED and payment.refundable_amount > 0:
                _refund(
                    order=order,
                    payment=payment,
                    amount=payment.refundable_amount,
                    source=Refund.Source.CANCELLATION,
                    reason=note or "Order cancelled.",
                    actor=actor,
                )
            _record_payment_outcome(order=order, payment=payment, actor=actor)
        _restock(order)
        vouchers.release_use(voucher_id=order.voucher_id)


def pay_order(*, order: Order, token: str) -> Payment:
    """Pay the order's card payment with a provider token (sandbox: "tok_success"; Stripe:
    a PaymentMethod id such as "pm_card_visa").

    Idempotent: a completed or authorised payment is returned as is and never charged twice
    (the order and payment rows are locked while charging, and the provider gets the same
    idempotency key for a repeat of the same attempt). A completed or authorised payment
    moves a pending order to processing. A payment that needs 3-D Secure comes back
    requires_action with its client secret: the customer confirms it in the browser and the
    provider's answer arrives through settle_payment. A declined card is recorded (payment
    status failed) and then PaymentDeclined (402) is raised; the customer may retry with
    another token. Raises PaymentNotAllowed (409) for a cancelled (e.g. expired) order or a
    cash-on-delivery order, InvalidPaymentToken (400) for a token the provider does not
    know, and PaymentMethodUnavailable (400) when no card provider is configured (nothing
    changes then).
    """
    with transaction.atomic():
        order = _lock_order(order)
        payment = Payment.objects.select_for_update().get(order=order)
        if payment.status in Payment.CAPTURED or payment.status == Payment.Status.AUTHORISED:
            return payment
        _require_payable(order=order, payment=payment, method=Payment.Method.CARD)
        payment = payment_services.authorise_payment(payment=payment, token=token)
        _record_payment_outcome(
            order=order, payment=payment, actor=None, note="Card payment completed."
        )
    # Outside the transaction, so that the failed attempt stays recorded.
    if payment.status == Payment.Status.FAILED:
        raise PaymentDeclined(
            details={"payment_status": payment.status, "failure_code": payment.failure_code}
        )
    return payment


def start_card_payment(*, order: Order) -> Payment | None:
    """Open the card payment of a new order at its provider when the provider does so at
    checkout (Stripe: a PaymentIntent for the order's total), so that the order comes back
    with the client secret the browser confirms it with. Called after the checkout commits;
    returns the payment (None for an order not paid by card).

    A provider that fails here does not undo the order: the payment stays pending without
    a reference, POST /api/orders/{id}/pay/ opens it later, and the order expires unpaid as
    any other (the error is logged, not raised).
    """
    try:
        with transaction.atomic():
            payment = Payment.objects.select_for_update().get(order=order)
            if payment.method != Payment.Method.CARD or payment.status not in Payment.UNPAID:
                return payment if payment.method == Payment.Method.CARD else None
            return payment_services.start_payment(payment=payment)
    except DomainError:
        logger.warning("card payment of order %s not opened at checkout", order.pk, exc_info=True)
        return None


def settle_payment(*, payment_id: int, state: ProviderPayment, source: str) -> Payment:
    """Record what the provider says of payment `payment_id` (`state`: from its webhook,
    the sandbox's 3-D Secure page or reconciliation; `source` says which) and what it means
    for the order. Idempotent and safe in any order of arrival.

    Locks the order, then the payment (as every payment workflow), so a success and the
    order's expiry or cancellation never both win:
    - completed or authorised: a pending order moves to processing; if the order was
      cancelled meanwhile (expired), the captured money is refunded at once (a Refund,
      source cancellation) and an authorisation voided;
    - voided (cancelled at the provider): a pending order is cancelled, stock back (event
      reason payment_canceled);
    - failed, requires_action: recorded; the order waits (and expires unpaid).
    A status the transition table does not allow from the current one (an event delivered
    late) changes nothing. Returns the payment.
    """
    with transaction.atomic():
        order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
        order = Order.objects.select_for_update().get(pk=order_id)
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        payment = payment_services.record_state(payment=payment, state=state, source=source)
        if order.status == Order.Status.CANCELLED:
            if payment.status == Payment.Status.AUTHORISED:
                payment = payment_services.void_payment(payment=payment, source=source)
            if payment.status in Payment.CAPTURED and payment.refundable_amount > 0:
                _refund(
                    order=order,
                    payment=payment,
                    amount=payment.refundable_amount,
                    source=Refund.Source.CANCELLATION,
                    reason="Paid after the order was cancelled.",
                    actor=None,
                )
        elif payment.status == Payment.Status.VOIDED and order.status == Order.Status.PENDING:
            _cancel(
                order=order,
                actor=None,
                note="The payment was cancelled at the provider.",
                source=source,
                reason=OrderEvent.Reason.PAYMENT_CANCELED,
            )
            return payment
        _record_payment_outcome(
            order=order, payment=payment, actor=None, note=f"Card payment {payment.status}."
        )
    return payment


def expire_order(*, order_id: int) -> bool:
    """Cancel order `order_id` if it is still pending, past its payment_due_at and unpaid:
    its payment is voided at the provider, its stock comes back, the voucher use is given
    back, an OrderEvent with reason "expired" is recorded and the customer is emailed.
    Return whether it expired.

    Runs under the order's row lock, as pay_order and settle_payment do, so a payment that
    succeeds at the same moment gives one outcome: either it locked first (the order is paid
    and stays), or the expiry did (the payment can no longer be taken: pay_order answers
    409, and a success the provider reports later is refunded by settle_payment). If the
    provider captured the payment just before the void reached it, the void answers so and
    the order is kept and paid instead.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if (
            order is None
            or order.status != Order.Status.PENDING
            or order.payment_due_at is None
            or order.payment_due_at > timezone.now()
        ):
            return False
        payment = _lock_payment(order)
        if payment is None or payment.status not in Payment.UNPAID:
            return False
        payment = payment_services.void_payment(payment=payment, source="expiry")
        if payment.status != Payment.Status.VOIDED:
            _record_payment_outcome(
                order=order, payment=payment, actor=None, note="Paid as it was expiring."
            )
            return False
        minutes = settings.ORDER_PAYMENT_TIMEOUT_MINUTES
        _cancel(
            order=order,
            actor=None,
            note=f"Not paid within {minutes} minutes of being placed.",
            source="expiry",
            reason=OrderEvent.Reason.EXPIRED,
        )
        emails.enqueue_expired_email(order_id=order.pk)
    return True


def refund_order(
    *,
    order: Order,
    actor: User | None,
    reason: str = "",
    amount: Decimal | None = None,
    lines: list[tuple[int, int]] | None = None,
    shipping: bool = False,
    restock: bool = False,
    source: str = Refund.Source.STAFF,
) -> Refund:
    """Refund part (or all) of the order's captured payment: `lines` ((order item id,
    units) pairs) for their share of what they charged (storefront/pricing/refunds.py:
    after their discounts, with their tax), plus the shipping with `shipping`, or a free
    `amount` (store currency) without lines; `amount` with lines refunds at most what they
    charged. With `restock`, the lines' units go back in stock (the stock module). The
    payment's provider refunds it (an idempotency key per refund); the customer is emailed.
    Returns the Refund, succeeded.

    Raises InvalidRefund (400, `details` naming each problem: an amount of zero or less,
    neither amount nor lines nor shipping, an item not of this order or given twice, more
    units than were ordered and not yet refunded, shipping already refunded, an order whose
    payment captured nothing), RefundExceedsCaptured (409) when the amount is more than is
    left to refund (two concurrent refunds of 60 on a 100 order: the second), and
    PaymentNotAllowed (409) when the provider refuses it. Nothing changes when it raises.
    """
    with transaction.atomic():
        order = _lock_order(order)
        payment = _lock_payment(order)
        if payment is None or payment.status not in Payment.CAPTURED:
            raise InvalidRefund(
                details={"payment": "The order's payment has captured nothing to refund."}
            )
        items = {item.pk: item for item in order.items.all()}
        earlier = list(
            RefundLine.objects.filter(refund__order=order)
            .exclude(refund__status=Refund.Status.FAILED)
            .values_list("order_item_id", "quantity", "amount")
        )
        line_amounts = _line_amounts(order, items, lines or [], earlier)
        total = sum((line.amount for line in line_amounts), Decimal("0.00"))
        shipping_amount = Decimal("0.00")
        if shipping:
            if (
                Refund.objects.filter(order=order, shipping_amount__gt=0)
                .exclude(status=Refund.Status.FAILED)
                .exists()
            ):
                raise InvalidRefund(details={"shipping": "The shipping was refunded already."})
            shipping_amount = refund_amounts.shipping_charged(order, items.values())
            total += shipping_amount
        if amount is not None:
            if amount <= 0:
                raise InvalidRefund(details={"amount": "Give an amount greater than zero."})
            if (lines or shipping) and amount > total:
                raise InvalidRefund(
                    details={"amount": f"At most {total:.2f} for these lines and shipping."}
                )
            total = amount
        elif not lines and not shipping:
            raise InvalidRefund(details={"amount": "Give an amount, lines or shipping."})
        if total <= 0:
            raise InvalidRefund(details={"amount": "Nothing to refund: the amount is 0.00."})
        if total > payment.refundable_amount:
            raise RefundExceedsCaptured(
                details={
                    "amount": f"{total:.2f}",
                    "refundable": f"{payment.refundable_amount:.2f}",
                    "captured": f"{payment.captured_amount:.2f}",
                }
            )
        with webhooks.collect():  # payment.refunded, the stock's events: one statement.
            refund = _refund(
                order=order,
                payment=payment,
                amount=total,
                shipping_amount=min(shipping_amount, total),
                lines=[
                    RefundLine(
                        order_item_id=line.item_id, quantity=line.quantity, amount=line.amount
                    )
                    for line in line_amounts
                ],
                source=source,
                reason=reason,
                restock=restock,
                actor=actor,
            )
            if restock:
                restock_lines(
                    (items[line.item_id].variant_id, line.quantity) for line in line_amounts
                )
            _record_payment_outcome(order=order, payment=payment, actor=actor)
    return refund


def record_provider_refund(
    *, payment_id: int, refunded_amount: Decimal, reference: str
) -> Refund | None:
    """Record a refund made at the provider (its dashboard), which reports `refunded_amount`
    (store currency) as refunded in all so far: the part Storefront does not know yet
    becomes a Refund (source provider, succeeded). Return it, or None when nothing is new
    (the refunds Storefront made itself, however late the report arrives)."""
    with transaction.atomic():
        order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
        order = Order.objects.select_for_update().get(pk=order_id)
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        new = min(refunded_amount, payment.captured_amount) - payment.refunded_amount
        if new <= 0 or payment.status not in Payment.CAPTURED:
            return None
        refund = payment_services.reserve_refund(
            payment=payment,
            amount=new,
            source=Refund.Source.PROVIDER,
            reason="Refunded at the provider.",
        )
        refund = payment_services.settle_refund(refund=refund, succeeded=True, reference=reference)
        with webhooks.collect():
            webhooks.emit(EventType.PAYMENT_REFUNDED, _refund_data(order, payment, refund))
            _record_payment_outcome(order=order, payment=payment, actor=None)
        emails.enqueue_refund_email(order_id=order.pk, refund_id=refund.pk)
    return refund


def _refund(
    *,
    order: Order,
    payment: Payment,
    amount: Decimal,
    source: str,
    reason: str,
    actor: User | None,
    shipping_amount: Decimal = Decimal("0.00"),
    lines: list[RefundLine] = (),
    restock: bool = False,
) -> Refund:
    """Reserve, record and send one refund of the locked order's payment; email it. Raises
    RefundExceedsCaptured, and PaymentNotAllowed (409) when the provider refuses (the
    caller's transaction then rolls everything back)."""
    refund = payment_services.reserve_refund(
        payment=payment,
        amount=amount,
        shipping_amount=shipping_amount,
        lines=list(lines),
        reason=reason,
        restock=restock,
        source=source,
        actor=actor,
    )
    refund = payment_services.send_refund(refund=refund)
    if refund.status != Refund.Status.SUCCEEDED:
        raise PaymentNotAllowed(
            f"The payment provider refused the refund ({refund.failure_code}).",
            details={"failure_code": refund.failure_code},
        )
    emails.enqueue_refund_email(order_id=order.pk, refund_id=refund.pk)
    webhooks.emit(EventType.PAYMENT_REFUNDED, _refund_data(order, payment, refund))
    return refund


def _line_amounts(
    order: Order,
    items: dict[int, OrderItem],
    lines: list[tuple[int, int]],
    earlier: list[tuple[int, int, Decimal]],
) -> list[refund_amounts.LineRefund]:
    """The refund of `lines` (item id, units) of the order, checked against its `items` and
    the `earlier` refund lines (item id, units, amount); raises InvalidRefund naming each
    bad line as "lines.<index>.<field>"."""
    units: dict[int, int] = {}
    amounts: dict[int, Decimal] = {}
    for item_id, quantity, line_amount in earlier:
        units[item_id] = units.get(item_id, 0) + quantity
        amounts[item_id] = amounts.get(item_id, Decimal("0.00")) + line_amount
    ordered = {pk: item.quantity for pk, item in items.items()}
    errors = line_errors(order, lines, ordered=ordered, taken=units, left_to="refund")
    if errors:
        raise InvalidRefund(details=errors)
    quantities = dict(lines)
    return refund_amounts.line_refunds(
        order=order,
        items=items,
        quantities=quantities,
        refunded_units=units,
        refunded_amounts=amounts,
    )


def line_errors(
    order: Order,
    lines: list[tuple[int, int]],
    *,
    ordered: dict[int, int],
    taken: dict[int, int],
    left_to: str,
) -> dict[str, str]:
    """What is wrong with each of `lines` ((order item id, units) pairs) of a refund or a
    return, keyed "lines.<index>.<field>": an item not of the order (`ordered`: item id ->
    units) or given twice, fewer than 1 unit, or more than its units less those `taken`
    already (item id -> units). `left_to` names the operation ("refund", "return")."""
    errors: dict[str, str] = {}
    seen: set[int] = set()
    for index, (item_id, quantity) in enumerate(lines):
        left = ordered.get(item_id, 0) - taken.get(item_id, 0)
        if item_id not in ordered:
            errors[f"lines.{index}.item_id"] = f"Order {order.number} has no item {item_id}."
        elif item_id in seen:
            errors[f"lines.{index}.item_id"] = f"Item {item_id} is given twice."
        elif quantity < 1:
            errors[f"lines.{index}.quantity"] = "Give at least 1 unit."
        elif quantity > left:
            errors[f"lines.{index}.quantity"] = (
                f"Only {left} unit(s) of item {item_id} are left to {left_to}."
            )
        seen.add(item_id)
    return errors


def restock_lines(units: Iterable[tuple[int | None, int]]) -> None:
    """Put `units` ((variant id, units) pairs of order lines; a deleted variant's id is None
    and skipped) back in stock through the stock module, the units of a variant summed."""
    quantities: dict[int, int] = {}
    for variant_id, quantity in units:
        if variant_id is not None:
            quantities[variant_id] = quantities.get(variant_id, 0) + quantity
    stock.restock(quantities={pk: n for pk, n in quantities.items() if n > 0})


@transaction.atomic
def complete_cash_on_delivery_payment(*, order: Order, actor: User) -> Payment:
    """Record, as staff `actor`, that the courier collected the cash for the order.

    Idempotent: an already completed payment is returned as is. Moves a pending order to
    processing (change_order_status). Raises PaymentNotAllowed (409) for a card payment or
    a cancelled order.
    """
    order = _lock_order(order)
    payment = Payment.objects.select_for_update().get(order=order)
    if payment.status in Payment.CAPTURED:
        return payment
    _require_payable(order=order, payment=payment, method=Payment.Method.CASH_ON_DELIVERY)
    payment = payment_services.complete_payment(payment=payment, reference=f"cod_staff_{actor.pk}")
    _record_payment_outcome(
        order=order, payment=payment, actor=actor, note="Cash on delivery payment received."
    )
    return payment


@transaction.atomic
def anonymise_customer(*, customer: User, scrub_orders: bool = False) -> User:
    """Erase a customer's personal data and deactivate the account, keeping their orders.

    Orders are financial records (a customer with orders cannot be deleted), so this is the
    way to honour an erasure request: name, email (replaced by a placeholder), phone, birth
    date, password, addresses, cart contents, API tokens and failed-login records go; the
    account can no longer log in. Orders keep their amounts and lines. Their addresses and
    phones are kept as part of the invoice record unless `scrub_orders` is true, which
    replaces them with "[removed]" (use it once the accounting retention period is over).
    Returns the anonymised user.
    """
    # The cart items before the customer's row (lock order, step 4): a checkout holding them
    # checks its order against the customer's row at COMMIT.
    CartItem.objects.filter(cart__customer=customer).delete()
    customer = User.objects.select_for_update().get(pk=customer.pk)
    old_email = customer.email
    customer.email = f"anonymised-{customer.pk}@anonymised.invalid"
    customer.first_name = customer.last_name = customer.phone_number = ""
    customer.birth_date = None
    customer.is_active = customer.is_staff = customer.is_superuser = False
    customer.set_unusable_password()
    customer.save()
    # The email given at each checkout goes with the account's.
    Order.objects.for_customer(customer).update(email=customer.email, updated_at=timezone.now())
    customer.addresses.all().delete()
    AuthToken.objects.filter(user=customer).delete()
    # Every key the email's logins were recorded under, the admin's included.
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        model.objects.filter(username__in=lockout_keys(old_email)).delete()
    if scrub_orders:
        Order.objects.for_customer(customer).update(
            shipping_address=REDACTED,
            billing_address=REDACTED,
            # Country and region stay: where the order was taxed and shipped.
            shipping_address_details=_overwritten(
                "shipping_address_details", addresses.redaction(REDACTED)
            ),
            billing_address_details=_overwritten(
                "billing_address_details", addresses.redaction(REDACTED)
            ),
            phone_number=REDACTED,
            additional_phone="",
            updated_at=timezone.now(),
        )
    return customer


def _overwritten(field: str, values: dict) -> Func:
    """SQL for the JSON object column `field` with the keys of `values` set to theirs (jsonb
    concatenation: the right-hand keys win)."""
    return Func(
        F(field),
        Value(values, output_field=JSONField()),
        template="%(expressions)s",
        arg_joiner=" || ",
        output_field=JSONField(),
    )


def claim_guest_orders(*, customer: User) -> int:
    """Give `customer` the guest orders placed with their email; return how many.

    Called when the customer verifies their email (accounts.services.verify_email), never
    before: registering someone else's address claims nothing. The orders then show in
    their /api/orders/; their access tokens keep working. One UPDATE.
    """
    if not customer.email_verified:
        return 0
    return (
        Order.objects.guest()
        .filter(email=customer.email)
        .update(customer=customer, updated_at=timezone.now())
    )


def _insert_order(
    order: Order,
    *,
    items: list[OrderItem],
    discounts: list[OrderDiscount],
    placed: OrderEvent,
    payment: Payment,
    sold: list[CartItem],
) -> None:
    """Insert the new order, its items, its discounts, its "placed" event and its payment,
    delete the cart items `sold`, and write the order.placed webhook event with those
    collected so far (webhooks.services.take_collected: the stock module's); set the
    primary keys of the new rows.

    One statement (storefront/core/sql.py): each insert is a WITH query, and the rows of
    the order take its id from the first.
    """
    using = router.db_for_write(Order)
    rows = [*items, *discounts, placed, payment]
    sold_ids = [line.pk for line in sold]
    new_order_id = sql.with_query_id("new_order")
    for row in rows:
        row.order_id = new_order_id
    cart_items = connections[using].ops.quote_name(CartItem._meta.db_table)
    queries = [
        ("new_order", sql.insert_returning_pk([order], using=using)),
        ("items", sql.insert_returning_pk(items, using=using)),
    ]
    if discounts:
        queries.append(("discounts", sql.insert_returning_pk(discounts, using=using)))
    queries.extend(
        [
            ("placed", sql.insert_returning_pk([placed], using=using)),
            ("payment", sql.insert_returning_pk([payment], using=using)),
            ("sold", (f"DELETE FROM {cart_items} WHERE id = ANY(%s)", (sold_ids,))),
        ]
    )
    events = [
        *webhooks.take_collected(),
        (EventType.ORDER_PLACED, _placed_data(order, items, payment, new_order_id)),
    ]
    event_queries, deliveries = webhooks.emission_queries(events)
    order.pk, item_ids, discount_ids, placed.pk, payment.pk, delivery_ids = sql.run_with_queries(
        [*queries, *event_queries],
        "SELECT (SELECT id FROM new_order), ARRAY(SELECT id FROM items ORDER BY id), "
        + ("ARRAY(SELECT id FROM discounts ORDER BY id), " if discounts else "ARRAY[]::bigint[], ")
        + f"(SELECT id FROM placed), (SELECT id FROM payment), {deliveries}",
        using=using,
    )
    webhooks.publish_after_commit(delivery_ids, using=using)
    for item, item_id in zip(items, item_ids, strict=True):
        item.pk = item_id
    for discount, discount_id in zip(discounts, discount_ids, strict=True):
        discount.pk = discount_id
    for row in rows:
        row.order = order
    sql.mark_saved([order, *rows], using=using)


def _money(amount: Decimal) -> str:
    """An amount as webhooks send it: a decimal string with two places, e.g. "12.50"."""
    return f"{amount:.2f}"


def _order_data(order: Order) -> dict:
    """What every order.* webhook event says of the order (docs/webhooks.md)."""
    return {
        "id": order.pk,
        "number": order.number,
        "status": order.status,
        "payment_status": order.payment_status,
        "customer_id": order.customer_id,
        "currency": order.currency,
        "total": _money(order.total),
    }


def _placed_data(order: Order, items: list[OrderItem], payment: Payment, order_id: object) -> dict:
    """The data of order.placed: the order with its amounts and lines; `order_id` is the
    id the checkout's statement gives it (sql.with_query_id)."""
    return {
        **_order_data(order),
        "id": order_id,
        "email": order.email,
        "created_at": order.created_at,
        "subtotal": _money(order.subtotal),
        "discount_total": _money(order.discount_total),
        "shipping_total": _money(order.shipping_total),
        "tax_total": _money(order.tax_total),
        "shipping_method": order.shipping_method_code,
        "voucher_code": order.voucher_code,
        "payment_method": payment.method,
        "items": [
            {
                "product_id": item.product_id,
                "variant_id": item.variant_id,
                "sku": item.sku,
                "product_name": item.product_name,
                "variant_name": item.variant_name,
                "quantity": item.quantity,
                "unit_price": _money(item.unit_price),
                "line_total": _money(item.line_total),
            }
            for item in items
        ],
    }


def _payment_data(order: Order, payment: Payment) -> dict:
    """The data of payment.completed (docs/webhooks.md)."""
    return {
        "id": payment.pk,
        "order_id": order.pk,
        "order_number": order.number,
        "method": payment.method,
        "provider": payment.provider,
        "status": payment.status,
        "amount": _money(payment.amount),
        "captured_amount": _money(payment.captured_amount),
        "currency": payment.currency,
    }


def _refund_data(order: Order, payment: Payment, refund: Refund) -> dict:
    """The data of payment.refunded: one succeeded refund (docs/webhooks.md)."""
    return {
        "id": refund.pk,
        "payment_id": payment.pk,
        "order_id": order.pk,
        "order_number": order.number,
        "amount": _money(refund.amount),
        "shipping_amount": _money(refund.shipping_amount),
        "currency": payment.currency,
        "source": refund.source,
        "reason": refund.reason,
        "payment_status": payment.status,
        "refunded_amount": _money(payment.refunded_amount),
        "captured_amount": _money(payment.captured_amount),
    }


def _fingerprint(**inputs: object) -> str:
    """SHA-256 of the checkout inputs: tells a retried request from a different one."""
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _shortage(line: CartItem) -> dict:
    variant = line.variant
    available = variant.stock_quantity if variant.is_purchasable else 0
    return {
        "item_id": line.pk,
        "variant_id": variant.pk,
        "sku": variant.sku,
        "requested": line.quantity,
        "available": available,
    }


def _restock(order: Order) -> None:
    """Put the units of the order's lines back in stock (lines whose variant still exists),
    less those a refund with restock already put back."""
    quantities: dict[int, int] = {}
    for variant_id, quantity in order.items.filter(variant__isnull=False).values_list(
        "variant_id", "quantity"
    ):
        quantities[variant_id] = quantities.get(variant_id, 0) + quantity
    for variant_id, quantity in (
        RefundLine.objects.filter(
            refund__order=order, refund__restock=True, order_item__variant__isnull=False
        )
        .exclude(refund__status=Refund.Status.FAILED)
        .values_list("order_item__variant_id", "quantity")
    ):
        quantities[variant_id] -= quantity
    stock.restock(quantities={pk: units for pk, units in quantities.items() if units > 0})


def _payment_due_at(method: str):
    """When an order paid by `method` expires unpaid (None: never, e.g. cash on delivery)."""
    if method in Payment.PAID_ON_DELIVERY:
        return None
    return timezone.now() + timedelta(minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES)


def _opened(order: Order, created: bool) -> tuple[Order, bool]:
    """After a checkout committed: open a new card order's payment at its provider
    (start_card_payment), keeping the prefetched rows of the order."""
    if created and order.payment_due_at is not None:
        payment = start_card_payment(order=order)
        if payment is not None:
            order.payment = payment
    return order, created


def _lock_payment(order: Order) -> Payment | None:
    """Lock the order's payment row (after the order's: lock order, step 1); None without."""
    return Payment.objects.select_for_update().filter(order=order).first()


def _lock_order(order: Order) -> Order:
    """Lock the order row for the rest of the transaction; return it freshly read."""
    return Order.objects.select_for_update().get(pk=order.pk)


def _transition(
    *, order: Order, to_status: str, actor: User | None, note: str, reason: str = ""
) -> None:
    """Move the order along Order.TRANSITIONS with a conditional update; record the event.

    An order paid online moves to Order.PAID_BEFORE only with a completed payment: the
    condition is part of the update (Order.payment_status mirrors the payment), so a
    payment changing meanwhile cannot slip through. Raises InvalidStatusTransition or
    PaymentRequired (409).
    """
    from_status = order.status
    if not order.can_transition_to(to_status):
        raise _invalid_transition(from_status, to_status)
    condition = Q(pk=order.pk, status=from_status)
    method = _method_to_pay_first(order=order, to_status=to_status)
    if method is not None:
        condition &= Q(payment_status=Order.PaymentStatus.COMPLETED)
    now = timezone.now()
    delivered = {"delivered_at": now} if to_status == Order.Status.DELIVERED else {}
    moved = Order.objects.filter(condition).update(status=to_status, updated_at=now, **delivered)
    if not moved:
        current, payment_status = Order.objects.values_list("status", "payment_status").get(
            pk=order.pk
        )
        if method is not None and current == from_status:
            raise PaymentRequired(
                f"A {method} order must be paid before it is {to_status}; "
                f"its payment is {payment_status}.",
                details={
                    "to": to_status,
                    "payment_method": method,
                    "payment_status": payment_status,
                },
            )
        # Another request moved the order first: judge the request against the new status.
        raise _invalid_transition(current, to_status)
    OrderEvent.objects.create(
        order=order,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        note=note,
        reason=reason,
        created_at=now,
    )
    if reason != OrderEvent.Reason.EXPIRED:  # The expiry sends its own email.
        emails.enqueue_status_email(order_id=order.pk, from_status=from_status, to_status=to_status)
    order.status = to_status
    if delivered:
        order.delivered_at = now
    moved_data = {**_order_data(order), "from_status": from_status, "to_status": to_status}
    events = [(EventType.ORDER_STATUS_CHANGED, moved_data)]
    if to_status == Order.Status.CANCELLED:
        events.append((EventType.ORDER_CANCELLED, {**_order_data(order), "reason": reason}))
    webhooks.emit_many(events)


def _method_to_pay_first(*, order: Order, to_status: str) -> str | None:
    """The order's payment method if moving to `to_status` needs its payment completed."""
    if to_status not in Order.PAID_BEFORE:
        return None
    method = Payment.objects.filter(order=order).values_list("method", flat=True).first()
    return None if method is None or method in Payment.PAID_ON_DELIVERY else method


def _invalid_transition(from_status: str, to_status: str) -> InvalidStatusTransition:
    allowed = sorted(Order.TRANSITIONS.get(from_status, frozenset()))
    return InvalidStatusTransition(from_status=from_status, to_status=to_status, allowed=allowed)


def _require_payable(*, order: Order, payment: Payment, method: str) -> None:
    if order.status == Order.Status.CANCELLED:
        raise PaymentNotAllowed("A cancelled order cannot be paid.")
    if payment.method != method:
        raise PaymentNotAllowed(
            f"This order is paid by {payment.get_method_display().lower()}, not this way."
        )


def _record_payment_outcome(
    *, order: Order, payment: Payment, actor: User | None, note: str = ""
) -> None:
    """Write on the order what its payment's new status (as payments.services returned it)
    means for it: Order.payment_status mirrors it (one UPDATE, none when it already does),
    and a completed or authorised payment moves a pending order to processing
    (change_order_status, with `actor` and `note`); later statuses stay. The order is locked
    by the caller."""
    with webhooks.collect():  # payment.completed and the order's move: one statement.
        if order.payment_status != payment.status:
            Order.objects.filter(pk=order.pk).update(
                payment_status=payment.status, updated_at=timezone.now()
            )
            if payment.status in Payment.CAPTURED and order.payment_status not in Payment.CAPTURED:
                webhooks.emit(EventType.PAYMENT_COMPLETED, _payment_data(order, payment))
            order.payment_status = payment.status
        if (
            payment.status in (Payment.Status.COMPLETED, Payment.Status.AUTHORISED)
            and order.status == Order.Status.PENDING
        ):
            change_order_status(order=order, status=Order.Status.PROCESSING, actor=actor, note=note)
