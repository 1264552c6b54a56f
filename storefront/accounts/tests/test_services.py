import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from storefront.accounts import services
from storefront.accounts.models import Address, User
from storefront.accounts.tests.factories import AddressFactory, UserFactory
from storefront.carts.models import Cart

NEW_ADDRESS = {
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


@pytest.mark.django_db
def test_register_customer_creates_the_customer_with_an_empty_cart():
    customer = services.register_customer(email="Ada@Example.com", password="x-long-password-1")

    assert Cart.objects.get(customer=customer).items.count() == 0


@pytest.mark.django_db
def test_register_customer_refuses_an_email_that_wins_the_race(customer):
    # The serializer checks first; this is the insert that loses a race to a concurrent
    # registration, caught by the case-insensitive unique constraint.
    with pytest.raises(ValidationError) as caught:
        services.register_customer(email=customer.email.upper(), password="x-long-password-1")

    assert caught.value.error_dict["email"][0].code == "unique"
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_update_profile_refuses_fields_customers_may_not_change(customer):
    with pytest.raises(ValueError, match="membership"):
        services.update_profile(user=customer, changes={"membership": "gold"})

    customer.refresh_from_db()
    assert customer.membership == "bronze"


@pytest.mark.django_db
def test_create_address_refuses_a_customer_in_the_data(customer, other_customer):
    with pytest.raises(ValueError, match="customer"):
        services.create_address(customer=customer, data={**NEW_ADDRESS, "customer": other_customer})

    assert not Address.objects.exists()


@pytest.mark.django_db
def test_create_address_as_both_defaults_takes_both_flags(customer):
    old_shipping = AddressFactory(customer=customer, is_default_shipping=True)
    old_billing = AddressFactory(customer=customer, is_default_billing=True)

    new = services.create_address(
        customer=customer,
        data={**NEW_ADDRESS, "is_default_shipping": True, "is_default_billing": True},
    )

    assert list(Address.objects.filter(is_default_shipping=True)) == [new]
    assert list(Address.objects.filter(is_default_billing=True)) == [new]
    assert {old_shipping.pk, old_billing.pk} < set(Address.objects.values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
def test_concurrent_default_changes_leave_exactly_one_default():
    customer = UserFactory()
    addresses = AddressFactory.create_batch(8, customer=customer)
    barrier = threading.Barrier(len(addresses))
    errors: list[BaseException] = []

    def make_default(address: Address) -> None:
        try:
            barrier.wait()
            services.update_address(address=address, changes={"is_default_shipping": True})
        except BaseException as exc:  # collected, then asserted on below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=make_default, args=(a,)) for a in addresses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Address.objects.filter(customer=customer, is_default_shipping=True).count() == 1
