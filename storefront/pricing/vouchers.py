"""Voucher uses: the one place that counts them.

A voucher's `times_used` counts the orders holding one of its uses. Checkout claims a use
inside the order's transaction with one conditional UPDATE (claim_use): PostgreSQL locks
the voucher's row, and a concurrent claim waits, then re-checks the condition against the
row as the first left it, so no more orders than `usage_limit` ever hold a use (the
table's check constraint says so too). The row stays locked until the order commits or
rolls back, which also serializes the per-customer count that follows. Cancelling an order
gives its use back (release_use). The quote checks the same limits without claiming
(quotes.build_quote, check_customer_uses).
"""

from django.db.models import F, Q

from storefront.pricing.exceptions import VoucherExhausted, VoucherInvalid, VoucherTakenMeanwhile
from storefront.pricing.models import Voucher
from storefront.pricing.quotes import VoucherRule


def check_customer_uses(voucher: VoucherRule, *, customer, email: str | None) -> None:
    """Raise VoucherExhausted (400) if the customer (a guest: `email`, compared ignoring
    case; None: not known yet, nothing to count) already holds `per_customer_limit` uses of
    `voucher` in orders that are not cancelled. One query, none without a per-customer
    limit."""
    if voucher.per_customer_limit is None or (customer is None and not email):
        return
    if _uses_of(voucher, customer=customer, email=email) >= voucher.per_customer_limit:
        raise VoucherExhausted(
            "You have used this voucher as many times as one customer may.",
            details={"voucher_code": voucher.code},
        )


def claim_use(voucher: VoucherRule, *, customer, email: str) -> None:
    """Take one use of `voucher` for an order being placed by `customer` (None: a guest)
    with `email`; call inside the order's transaction, after its variants are locked.

    One statement, two with a per-customer limit (counted after the claim, under the
    voucher's row lock). Raises VoucherTakenMeanwhile (409) when the last use went to
    concurrent orders since the voucher was read, VoucherInvalid (400) when it was
    withdrawn or deleted meanwhile, VoucherExhausted (400) for the per-customer limit; the
    caller's transaction must then roll back (the claim is part of it).
    """
    claimed = (
        Voucher.objects.filter(pk=voucher.id, is_active=True)
        .filter(Q(usage_limit__isnull=True) | Q(times_used__lt=F("usage_limit")))
        .update(times_used=F("times_used") + 1)
    )
    details = {"voucher_code": voucher.code}
    if not claimed:
        if Voucher.objects.filter(pk=voucher.id, is_active=True).exists():
            raise VoucherTakenMeanwhile(details=details)
        raise VoucherInvalid("This voucher was withdrawn meanwhile.", details=details)
    # Under the voucher's row lock, so no concurrent order of the same customer slips in;
    # the order being placed is not in yet: a customer at the limit already holds it.
    check_customer_uses(voucher, customer=customer, email=email)


def release_use(*, voucher_id: int | None) -> None:
    """Give back the use an order held (its voucher, None: none, or deleted since), as
    cancelling it does; call inside that transaction. One statement (none for None)."""
    if voucher_id is None:
        return
    Voucher.objects.filter(pk=voucher_id, times_used__gt=0).update(times_used=F("times_used") - 1)


def _uses_of(voucher: VoucherRule, *, customer, email: str | None) -> int:
    from storefront.orders.models import Order

    whose = Q(email__iexact=email) if email else Q(pk__in=[])
    if customer is not None:
        whose |= Q(customer=customer)
    return (
        Order.objects.filter(whose, voucher_id=voucher.id)
        .exclude(status=Order.Status.CANCELLED)
        .count()
    )
