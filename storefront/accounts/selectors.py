"""Reads of the accounts endpoints."""

from django.db.models import QuerySet

from storefront.accounts.exceptions import AddressNotFound
from storefront.accounts.models import Address, User


def list_addresses(*, customer: User) -> QuerySet[Address]:
    """The customer's addresses, oldest first (the serializer needs no related rows)."""
    return Address.objects.for_customer(customer)


def get_address(*, customer: User, address_id: int) -> Address:
    """One of the customer's addresses.

    Raises AddressNotFound if the id is unknown or belongs to someone else, so that ids of
    other customers' addresses cannot be probed.
    """
    try:
        return Address.objects.for_customer(customer).get(pk=address_id)
    except Address.DoesNotExist:
        raise AddressNotFound() from None
