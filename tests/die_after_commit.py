"""Commit a catalog change, then die right after the COMMIT, before any after-commit hook
runs: what a process killed at that instant leaves behind (no cache invalidation, no
publication of the outbox).

    python -m tests.die_after_commit sell VARIANT_ID QUANTITY   # a checkout by a new customer
    python -m tests.die_after_commit price VARIANT_ID PRICE     # a staff price change

Run with DJANGO_SETTINGS_MODULE and DATABASE_URL of the test database. The first hook
registered in the transaction ends the process (os._exit: no cleanup, no other hook), with
exit status DIED_AFTER_COMMIT; the hooks of the change itself were registered after it.
"""

import os
import sys

import django

DIED_AFTER_COMMIT = 17


def main(action: str, variant_id: str, value: str) -> None:
    django.setup()
    from django.db import transaction

    from storefront.accounts.tests.factories import UserFactory
    from storefront.carts.models import CartItem
    from storefront.catalog.models import ProductVariant
    from storefront.orders.services import place_order

    with transaction.atomic():
        transaction.on_commit(lambda: os._exit(DIED_AFTER_COMMIT))
        if action == "sell":
            customer = UserFactory()
            CartItem.objects.create(cart=customer.cart, variant_id=variant_id, quantity=value)
            place_order(
                customer=customer,
                shipping_address="1 Main St",
                billing_address="1 Main St",
                phone_number="+1 555 0100",
            )
        else:
            variant = ProductVariant.objects.get(pk=variant_id)
            variant.price = value
            variant.save()
    sys.exit("The after-commit hooks ran.")


if __name__ == "__main__":
    main(*sys.argv[1:])
