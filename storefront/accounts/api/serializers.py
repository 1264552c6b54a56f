"""Input and output shapes of the accounts endpoints."""

from collections.abc import Mapping

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django_countries import countries
from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from storefront.accounts.models import Address, User, UserManager, phone_validator
from storefront.accounts.services import EMAIL_TAKEN_MESSAGE

# Bounds the work of hashing a submitted password (Django capped passwords at 4096 bytes
# for the same reason in its 2013 security release, CVE-2013-1443).
PASSWORD_MAX_LENGTH = 4096


class ProfileSerializer(serializers.ModelSerializer):
    """The signed-in user's profile.

    Customers may change first_name, last_name, phone_number and birth_date; id, email (the
    login), membership, email_verified (set by the verification link), is_staff (whether
    to show staff screens) and date_joined are read-only and ignored if sent, like any
    field not listed here (password...).
    """

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "phone_number",
            "birth_date",
            "membership",
            "email_verified",
            "is_staff",
            "date_joined",
        ]
        read_only_fields = [
            "id",
            "email",
            "membership",
            "email_verified",
            "is_staff",
            "date_joined",
        ]

    def validate_birth_date(self, value):
        if value is not None and value > timezone.localdate():
            raise serializers.ValidationError("A birth date cannot be in the future.")
        return value


class RegistrationSerializer(serializers.Serializer):
    """A new customer: email (unique, case-insensitively), password, optional names.

    The "email taken" error is the one answer of the API that tells whether an email is
    registered (docs/accounts.md). It is not also told by the time taken: a valid password
    is hashed whether or not the email is taken, as creating the account would.
    """

    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        write_only=True,
        trim_whitespace=False,
        max_length=PASSWORD_MAX_LENGTH,
        style={"input_type": "password"},
    )
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")

    def validate_email(self, value: str) -> str:
        email = UserManager.normalize_email(value)
        self._email_taken = User.objects.filter(email=email).exists()
        if self._email_taken:
            raise serializers.ValidationError(EMAIL_TAKEN_MESSAGE, code="unique")
        return email

    def validate_password(self, value: str) -> str:
        # A field validator, not validate(), so a weak password is reported together with
        # the other fields' errors. The similarity check compares it with the submitted
        # email and names.
        data = self.initial_data
        candidate = User(
            **{
                name: data[name]
                for name in ("email", "first_name", "last_name")
                if isinstance(data.get(name), str)
            }
        )
        try:
            validate_password(value, user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(list(exc.messages)) from exc
        if getattr(self, "_email_taken", False):
            # The work register_customer would do for a new email (set_password), so that
            # a taken email answers as slowly as a new one. Fields validate in declaration
            # order: validate_email has run.
            make_password(value)
        return value


def password_field(**kwargs) -> serializers.CharField:
    return serializers.CharField(
        write_only=True,
        trim_whitespace=False,
        max_length=PASSWORD_MAX_LENGTH,
        style={"input_type": "password"},
        **kwargs,
    )


class PasswordChangeSerializer(serializers.Serializer):
    """The signed-in user's current password and the new one (Django's validators, with the
    user's email and names for the similarity check)."""

    current_password = password_field()
    new_password = password_field()

    def validate_new_password(self, value: str) -> str:
        try:
            validate_password(value, user=self.context["user"])
        except DjangoValidationError as exc:
            raise serializers.ValidationError(list(exc.messages)) from exc
        return value


class PasswordResetSerializer(serializers.Serializer):
    """The email of the account whose password to reset."""

    email = serializers.EmailField(max_length=254)


class EmailLinkSerializer(serializers.Serializer):
    """The `uid` and `token` of a link from an account email."""

    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)


class PasswordResetConfirmSerializer(EmailLinkSerializer):
    """A reset link's uid and token, and the new password (validated by the service, which
    knows the user)."""

    new_password = password_field()


class PasswordConfirmationSerializer(serializers.Serializer):
    """The signed-in user's password, to confirm an action that cannot be undone."""

    password = password_field()

    def validate_password(self, value: str) -> str:
        if not self.context["user"].check_password(value):
            raise serializers.ValidationError(
                "Your password is incorrect.", code="password_incorrect"
            )
        return value


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        trim_whitespace=False, max_length=PASSWORD_MAX_LENGTH, style={"input_type": "password"}
    )


class TokenSerializer(serializers.Serializer):
    """A new API token: send it as `Authorization: Token <token>` until `expiry`."""

    token = serializers.CharField()
    expiry = serializers.DateTimeField()


class CountryCodeField(serializers.ChoiceField):
    """An ISO 3166-1 alpha-2 country code such as "FR" (lower case accepted, stored upper).

    Stricter than django-countries' own serializer field, which would also accept names
    and alpha-3 or numeric codes.
    """

    def __init__(self, **kwargs):
        super().__init__(choices=[(code, name) for code, name in countries], **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = data.strip().upper()
        return super().to_internal_value(data)


# The two names of an address's first street line: `street` is the one it had first.
LINE1_NAMES = frozenset({"line1", "street"})
BOTH_NAMES_MESSAGE = "street is the former name of line1: send one of them, not both."


class PostalAddressSerializer(serializers.Serializer):
    """A postal address (storefront.accounts.addresses): what checkout takes as an object,
    and what an order keeps of each of its addresses.

    full_name, line1, city, postal_code and country (ISO 3166-1 alpha-2, as
    CountryCodeField) are required; line2, region (state, province or county) and phone may
    be left out. Every text is stripped. The longest values are those of the address book.
    """

    full_name = serializers.CharField(max_length=255)
    line1 = serializers.CharField(max_length=255, help_text="Street and number.")
    line2 = serializers.CharField(
        max_length=255, required=False, allow_blank=True, help_text="Flat, floor, building."
    )
    city = serializers.CharField(max_length=128)
    postal_code = serializers.CharField(max_length=20)
    country = CountryCodeField(help_text='ISO 3166-1 alpha-2 code, e.g. "FR".')
    region = serializers.CharField(
        max_length=128,
        required=False,
        allow_blank=True,
        help_text="State, province or county, as written on a parcel.",
    )
    phone = serializers.CharField(
        max_length=32, required=False, allow_blank=True, validators=[phone_validator]
    )


class AddressSerializer(serializers.ModelSerializer):
    """A postal address of the signed-in customer.

    Setting is_default_shipping or is_default_billing to true takes the flag away from the
    customer's previous default of that kind.

    `street` is the former name of `line1`, kept for the clients that use it: both are
    shown, and a write sends one of them (both: 400 on `street`). One of them is required
    to create or replace (PUT) an address; without, the 400 names both.
    """

    country = CountryCodeField()
    line1 = serializers.CharField(
        max_length=255, required=False, help_text="Street and number (required, or `street`)."
    )
    street = serializers.CharField(
        source="line1",
        max_length=255,
        required=False,
        help_text="The former name of `line1`; the same value.",
    )

    class Meta:
        model = Address
        fields = [
            "id",
            "full_name",
            "line1",
            "line2",
            "street",
            "city",
            "postal_code",
            "region",
            "country",
            "phone",
            "is_default_shipping",
            "is_default_billing",
        ]
        read_only_fields = ["id"]

    def to_internal_value(self, data):
        errors, value = {}, {}
        if isinstance(data, Mapping) and set(data) >= LINE1_NAMES:
            errors["street"] = [BOTH_NAMES_MESSAGE]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            errors = {**exc.detail, **errors}
        if not self.partial and isinstance(data, Mapping) and not LINE1_NAMES & set(data):
            # Both names, so that a client reading the error under either finds it.
            required = [serializers.Field.default_error_messages["required"]]
            errors.update(line1=required, street=required)
        if errors:
            raise serializers.ValidationError(errors)
        return value


class AddressSerializerSchema(OpenApiSerializerExtension):
    """AddressSerializer's request shapes say what it takes of line1 and street: never both;
    one of them to create or replace (not in the PATCH shape)."""

    target_class = AddressSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["not"] = {"required": sorted(LINE1_NAMES)}
            if not self.target.partial:
                schema["anyOf"] = [{"required": [name]} for name in sorted(LINE1_NAMES)]
        return schema
