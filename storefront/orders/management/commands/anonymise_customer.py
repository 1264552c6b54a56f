"""`manage.py anonymise_customer EMAIL [--scrub-orders] [--no-input]`: erase a customer.

Customers with orders cannot be deleted (orders are financial records); this erases their
personal data and deactivates the account instead. See orders.services.anonymise_customer.
"""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from storefront.accounts.models import User, UserManager
from storefront.orders.services import anonymise_customer


class Command(BaseCommand):
    help = (
        "Erase a customer's personal data and deactivate the account, keeping their orders. "
        "--scrub-orders also replaces the addresses and phones on their orders."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The customer's email address.")
        parser.add_argument(
            "--scrub-orders",
            action="store_true",
            help="Also remove addresses and phone numbers from the customer's orders.",
        )
        parser.add_argument(
            "--no-input", action="store_false", dest="interactive", help="Do not ask to confirm."
        )

    def handle(self, *args, email: str, scrub_orders: bool, interactive: bool, **options):
        try:
            customer = User.objects.get(email=UserManager.normalize_email(email))
        except User.DoesNotExist:
            raise CommandError(f"No user with the email {email!r}.") from None
        if interactive:
            answer = input(f"Irreversibly anonymise {customer.email}? Type 'yes' to continue: ")
            if answer.strip().lower() != "yes":
                raise CommandError("Cancelled; nothing changed.")
        customer = anonymise_customer(customer=customer, scrub_orders=scrub_orders)
        orders = customer.orders.count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Anonymised user {customer.pk} (now {customer.email}); "
                f"{orders} order(s) kept{' with contact data removed' if scrub_orders else ''}."
            )
        )
