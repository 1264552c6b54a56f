"""Customers (users who log in with their email) and their addresses."""

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django_countries.fields import CountryField

from storefront.accounts import addresses
from storefront.core.models import TimeStampedModel

# The formats of docs/accounts.md: "+44 20 7946 0000", "+1 (555) 123-4567", "(555) 123-4567",
# "555-123-4567", "555.123.4567", "5551234567". A number starts with a digit, after an optional
# "+" and an optional "(" (an area code in parentheses), and ends with anything but a space:
# the text is stripped before it is checked, and the OpenAPI schema shows this pattern, so a
# number the schema admits is one the server takes.
phone_validator = RegexValidator(
    r"^\+?\(?[0-9][0-9 ().-]{3,29}[0-9().-]$",
    "Enter a phone number: digits, spaces, dashes, dots or parentheses, optionally starting "
    "with +.",
)


class UserManager(BaseUserManager["User"]):
    """Create users by email; emails are stored lower-cased, so lookups are case-insensitive."""

    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        return (email or "").strip().lower()

    def get_by_natural_key(self, email: str) -> "User":
        return self.get(email=self.normalize_email(email))

    def _create_user(self, email: str, password: str | None, **extra_fields) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if not extra_fields["is_staff"] or not extra_fields["is_superuser"]:
            raise ValueError("A superuser must have is_staff=True and is_superuser=True.")
        return self._create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A customer or a staff member. The email is the login: unique, case-insensitive."""

    class Membership(models.TextChoices):
        BRONZE = "bronze", "Bronze"
        SILVER = "silver", "Silver"
        GOLD = "gold", "Gold"

    email = models.EmailField("email address", unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    phone_number = models.CharField(max_length=32, blank=True, validators=[phone_validator])
    birth_date = models.DateField(null=True, blank=True)
    membership = models.CharField(
        max_length=10, choices=Membership.choices, default=Membership.BRONZE
    )
    is_staff = models.BooleanField(
        default=False, help_text="Designates whether the user can log into the admin."
    )
    is_active = models.BooleanField(default=True)
    # Set when the customer opens the link of their verification email (services.verify_email);
    # staff may set it in the admin.
    email_verified = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = UserManager.normalize_email(self.email)

    def save(self, *args, **kwargs) -> None:
        self.email = UserManager.normalize_email(self.email)
        # set_password() keeps the new password in _password until the save (Django's
        # AbstractBaseUser, which also leaves it unset when it only rehashes a password).
        # Kept in save(), not in the services: Django's admin password form, `changepassword`
        # and its password reset forms change a password with set_password() and save(), and
        # docs/accounts.md promises the same for any code that does so.
        update_fields = kwargs.get("update_fields")
        changed = (
            not self._state.adding
            and self._password is not None
            and (update_fields is None or "password" in update_fields)
        )
        super().save(*args, **kwargs)
        if changed:
            # Imported here, not at the top, because the services module imports this one.
            from storefront.accounts.services import password_changed

            password_changed(user=self)

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name


class AddressQuerySet(models.QuerySet["Address"]):
    def for_customer(self, customer: "User") -> "AddressQuerySet":
        """The addresses of one customer, oldest first."""
        return self.filter(customer=customer)


class Address(TimeStampedModel):
    """A postal address of a customer; at most one default for shipping and one for billing.

    The fields of a postal address (storefront.accounts.addresses): line1 is the street and
    number (the API also shows it as `street`, its name before addresses had a line2), region
    a state, province or county.
    """

    customer = models.ForeignKey(User, on_delete=models.CASCADE, related_name="addresses")
    full_name = models.CharField(max_length=255, blank=True)
    line1 = models.CharField(max_length=255)
    line2 = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=128)
    postal_code = models.CharField(max_length=20)
    # ISO 3166-1 alpha-2 code, validated against django-countries' list.
    country = CountryField()
    region = models.CharField(max_length=128, blank=True)
    phone = models.CharField(max_length=32, blank=True, validators=[phone_validator])
    is_default_shipping = models.BooleanField(default=False)
    is_default_billing = models.BooleanField(default=False)

    objects = AddressQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "addresses"
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(is_default_shipping=True),
                name="accounts_address_one_default_shipping",
            ),
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(is_default_billing=True),
                name="accounts_address_one_default_billing",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line1}, {self.postal_code} {self.city}, {self.country}"

    def as_text(self) -> str:
        """The address as the multi-line text printed on a parcel (addresses.as_text)."""
        return addresses.as_text(addresses.from_book(self))
