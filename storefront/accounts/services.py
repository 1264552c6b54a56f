"""Account workflows: registration, token log-in/log-out, passwords (change, reset), email
verification, profile, addresses."""

from collections.abc import Mapping
from typing import Any

from axes.utils import reset as reset_login_failures
from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from knox.models import AuthToken
from knox.settings import knox_settings

from storefront.accounts import emails, tokens
from storefront.accounts.backends import lockout_keys
from storefront.accounts.exceptions import InvalidCredentials, InvalidToken, LoginLockedOut
from storefront.accounts.models import Address, User, UserManager
from storefront.carts import services as carts

# What a customer may change about themselves; email (the login), membership and the
# permission flags are managed by staff.
PROFILE_FIELDS = frozenset({"first_name", "last_name", "phone_number", "birth_date"})
ADDRESS_FIELDS = frozenset(
    {
        "full_name",
        "line1",
        "line2",
        "region",
        "city",
        "postal_code",
        "country",
        "phone",
        "is_default_shipping",
        "is_default_billing",
    }
)
DEFAULT_FLAGS = ("is_default_shipping", "is_default_billing")
EMAIL_TAKEN_MESSAGE = "A user with this email already exists."


def register_customer(
    *, email: str, password: str, first_name: str = "", last_name: str = ""
) -> User:
    """Create a customer account with an empty cart: not staff, bronze membership, password
    stored hashed. Users created another way (the admin, `createsuperuser`) get their cart on
    first use (carts.services.get_or_create_customer_cart).

    `email` is stored lower-cased. The caller validates the password (Django's
    AUTH_PASSWORD_VALIDATORS). Raises django.core.exceptions.ValidationError on `email`
    (code "unique") if the email is already registered, in any letter case, including when
    a concurrent registration wins the race for it.
    """
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email, password=password, first_name=first_name, last_name=last_name
            )
            carts.create_customer_cart(customer=user)
            emails.enqueue_welcome_email(user_id=user.pk)
            emails.enqueue_verification_email(user_id=user.pk)
            return user
    except IntegrityError:
        if not User.objects.filter(email=UserManager.normalize_email(email)).exists():
            raise
        raise ValidationError(
            {"email": ValidationError(EMAIL_TAKEN_MESSAGE, code="unique")}
        ) from None


def log_in(*, request: HttpRequest, email: str, password: str) -> tuple[AuthToken, str]:
    """Check the credentials and issue a knox token: (token row, raw token).

    The raw token is returned once and only its SHA-512 digest is stored; the token expires
    after REST_KNOX["TOKEN_TTL"]. A user holds at most settings.AUTH_TOKENS_PER_USER tokens:
    beyond that, the oldest are revoked (knox's TOKEN_LIMIT_PER_USER would refuse the login
    instead). `request` must be Django's HttpRequest (not DRF's wrapper): django-axes counts
    failures per email and client address and flags a lockout on the request it is given
    (`request.axes_locked_out`), and its middleware reads that flag there.

    Raises LoginLockedOut (429) once AXES_FAILURE_LIMIT failures for this email from this
    client address have been counted, whatever the password; InvalidCredentials (400) for a
    wrong email or password or an inactive account.
    """
    # Not atomic on purpose: the failure django-axes records must survive the error raised
    # below, or the lockout would never trigger.
    user = authenticate(request=request, username=email, password=password)
    if getattr(request, "axes_locked_out", False):
        raise LoginLockedOut()
    if user is None:
        raise InvalidCredentials()
    with transaction.atomic():
        # Serialises the logins of one user: concurrent ones, each blind to the other's new
        # token, would leave one too many.
        _lock_user(user.pk)
        instance, token = AuthToken.objects.create(user, knox_settings.TOKEN_TTL)
        newest = user.auth_token_set.order_by("-created", "-pk").values("pk")
        user.auth_token_set.exclude(pk__in=newest[: settings.AUTH_TOKENS_PER_USER]).delete()
    # As Django's login() does: updates last_login and lets django-axes reset the failures.
    user_logged_in.send(sender=type(user), request=request, user=user)
    return instance, token


def log_out(*, request: HttpRequest, token: AuthToken) -> None:
    """Revoke one token (the one the request was made with); it answers 401 afterwards."""
    user = token.user
    token.delete()
    user_logged_out.send(sender=type(user), request=request, user=user)


def log_out_everywhere(*, request: HttpRequest, user: User) -> int:
    """Revoke every token of the user; returns how many were revoked."""
    count = revoke_tokens(user=user)
    user_logged_out.send(sender=type(user), request=request, user=user)
    return count


def revoke_tokens(*, user: User, keep: AuthToken | None = None) -> int:
    """Revoke every API token of the user but `keep` (they answer 401 from now on); return
    how many."""
    revoked = user.auth_token_set.all()
    if keep is not None:
        revoked = revoked.exclude(pk=keep.pk)
    count, _ = revoked.delete()
    return count


def clear_login_lockout(*, email: str) -> int:
    """Forget every failed login of `email`, API and admin, from every client address.

    Lifts the lockouts (django-axes) of that email; returns how many failure records went.
    Called when the password changes (password_changed), which a password reset does too.
    """
    return sum(reset_login_failures(username=key) for key in lockout_keys(email))


def password_changed(*, user: User, keep: AuthToken | None = None) -> None:
    """What follows a password change, however it was made: revoke the user's API tokens
    (but `keep`, the token of a customer changing their own password) and lift the lockouts
    of their email.

    Called by User.save() after set_password() (the admin's password form, `manage.py
    changepassword`, a password reset), in the transaction of the save if any, and by
    change_password.
    """
    revoke_tokens(user=user, keep=keep)
    clear_login_lockout(email=user.email)


@transaction.atomic
def change_password(
    *, user: User, current_password: str, new_password: str, token: AuthToken | None
) -> None:
    """Set the signed-in user's new password, given the current one.

    `new_password` must have passed Django's validators (AUTH_PASSWORD_VALIDATORS, the
    caller's check). Every API token of the user is revoked but `token`, the one the request
    was made with (None for a session, which the caller keeps with
    update_session_auth_hash). Raises ValidationError on `current_password` (code
    "password_incorrect") when it is wrong; nothing changes then.
    """
    if not user.check_password(current_password):
        raise ValidationError(
            {
                "current_password": ValidationError(
                    "Your current password is incorrect.", code="password_incorrect"
                )
            }
        )
    user.set_password(new_password)
    # An UPDATE rather than save(): User.save() would revoke every token, the one in use
    # too. What save() does besides is done here: the validators' password_changed hook,
    # then ours.
    User.objects.filter(pk=user.pk).update(password=user.password)
    user._password = None
    password_validation.password_changed(new_password, user)
    password_changed(user=user, keep=token)


def request_password_reset(*, email: str) -> None:
    """Queue a password reset email to the active account `email`, if there is one.

    The same work whether or not the email is registered (one outbox row; the worker finds
    the account: accounts.emails), so neither the answer nor its timing tells. The link's
    token is made when the email is sent and works for settings.PASSWORD_RESET_TIMEOUT
    seconds, once.
    """
    emails.enqueue_password_reset_email(email=email)


def check_password_reset(*, uid: str, token: str) -> User:
    """The user a reset link (`uid`, `token`) is for; InvalidToken (400) unless the link is
    one of theirs, unexpired and unspent."""
    user = tokens.user_for(uid)
    if user is None or not tokens.password_reset_tokens.check_token(user, token):
        raise InvalidToken()
    return user


@transaction.atomic
def reset_password(*, uid: str, token: str, new_password: str) -> User:
    """Set a new password from a reset link; return the user.

    Raises InvalidToken (400) for a link that is malformed, someone else's, expired or
    spent (the password changed since it was made, or the user logged in), and
    ValidationError on `new_password` if Django's validators refuse it; nothing changes
    then. The link works once, also when used twice at once (the user's row is locked and
    the token checked again under the lock). Every API token of the user is revoked and
    the login lockouts of their email are lifted (password_changed, through User.save).
    """
    user = check_password_reset(uid=uid, token=token)
    _lock_user(user.pk)
    user.refresh_from_db()
    if not tokens.password_reset_tokens.check_token(user, token):
        raise InvalidToken()
    try:
        password_validation.validate_password(new_password, user=user)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.error_list}) from None
    user.set_password(new_password)
    user.save(update_fields=["password"])
    return user


@transaction.atomic
def verify_email(*, uid: str, token: str) -> User:
    """Mark the email of the user a verification link (`uid`, `token`) is for as verified,
    and give them the guest orders placed with that email (orders.services
    .claim_guest_orders); return the user.

    The token verifies the email the account had when the email was sent, within
    settings.EMAIL_VERIFICATION_TIMEOUT seconds. Opening a valid link again once verified
    changes nothing and succeeds (a second click). Raises InvalidToken (400) for a link
    that is malformed, someone else's, expired, or for an email the account no longer has.
    """
    user = tokens.user_for(uid)
    if user is None:
        raise InvalidToken()
    _lock_user(user.pk)
    user.refresh_from_db()
    if user.email_verified:
        # The token was made for the unverified state: check it against that.
        user.email_verified = False
        valid = tokens.email_verification_tokens.check_token(user, token)
        user.email_verified = True
        if not valid:
            raise InvalidToken()
        return user
    if not tokens.email_verification_tokens.check_token(user, token):
        raise InvalidToken()
    user.email_verified = True
    user.save(update_fields=["email_verified"])
    # Imported here: orders.services imports this app's models.
    from storefront.orders.services import claim_guest_orders

    claim_guest_orders(customer=user)
    return user


def resend_verification_email(*, user: User) -> bool:
    """Queue a new verification email to `user`, unless their email is verified already;
    return whether one was queued. Earlier links keep working until they expire."""
    if user.email_verified:
        return False
    emails.enqueue_verification_email(user_id=user.pk)
    return True


def update_profile(*, user: User, changes: Mapping[str, Any]) -> User:
    """Apply already-validated changes to PROFILE_FIELDS and save only those columns.

    Raises ValueError for any other field: a programming error, not user input.
    """
    _reject_unknown_fields(changes, PROFILE_FIELDS)
    for name, value in changes.items():
        setattr(user, name, value)
    if changes:
        user.save(update_fields=list(changes))
    return user


@transaction.atomic
def create_address(*, customer: User, data: Mapping[str, Any]) -> Address:
    """Add an already-validated address (ADDRESS_FIELDS) to the customer's book.

    If it is marked default for shipping and/or billing, the previous default of that kind
    stops being one, in the same transaction.
    """
    _reject_unknown_fields(data, ADDRESS_FIELDS)
    _lock_user(customer.pk)
    address = Address(customer=customer, **data)
    _release_defaults_taken_by(address)
    address.save()
    return address


@transaction.atomic
def update_address(*, address: Address, changes: Mapping[str, Any]) -> Address:
    """Apply already-validated changes (ADDRESS_FIELDS) to an address; defaults as above."""
    _reject_unknown_fields(changes, ADDRESS_FIELDS)
    _lock_user(address.customer_id)
    for name, value in changes.items():
        setattr(address, name, value)
    _release_defaults_taken_by(address)
    address.save()
    return address


def delete_address(*, address: Address) -> None:
    """Delete an address. Orders keep their own copy of addresses, so nothing else changes."""
    address.delete()


def _reject_unknown_fields(changes: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"Not writable here: {', '.join(sorted(unknown))}.")


def _lock_user(user_id: int) -> None:
    # Serialises changes of one user's address book or tokens: without it, two requests
    # making two different addresses the default would both pass the "unset the old one" step
    # and one would hit the partial unique constraint, and two concurrent logins, each blind
    # to the other's new token, would leave one token too many. NO KEY UPDATE does not block
    # inserts of rows that merely reference the user (carts, orders, tokens).
    list(
        User.objects.select_for_update(no_key=True).filter(pk=user_id).values_list("pk", flat=True)
    )


def _release_defaults_taken_by(address: Address) -> None:
    others = Address.objects.filter(customer_id=address.customer_id)
    if address.pk is not None:
        others = others.exclude(pk=address.pk)
    for flag in DEFAULT_FLAGS:
        if getattr(address, flag):
            others.filter(**{flag: True}).update(**{flag: False, "updated_at": timezone.now()})
