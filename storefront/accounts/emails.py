"""The emails of a customer's account: welcome, email verification and password reset.

Each `enqueue_*` writes its email to the notification outbox in the caller's transaction;
the builder makes it from the database as it is when the worker sends it
(settings.NOTIFICATION_EMAIL_BUILDERS names it; storefront/notifications/emails.py renders
and sends); the templates are in accounts/templates/accounts/email/.

The one-time tokens of the verification and reset links are made by the builders, when the
email is sent (storefront/accounts/tokens.py): no token is ever stored, in the outbox or
anywhere else, and a token is valid from the moment its email goes out.
"""

import uuid

from django.conf import settings

from storefront.accounts import tokens
from storefront.accounts.models import User, UserManager
from storefront.notifications.emails import EmailContent
from storefront.notifications.models import OutboxMessage
from storefront.notifications.services import enqueue

TEMPLATES = "accounts/email"


def enqueue_welcome_email(*, user_id: int) -> None:
    """Queue the welcome email to the new customer `user_id` (once per customer); one query,
    sent after commit."""
    enqueue([(OutboxMessage.Kind.WELCOME, f"welcome:user:{user_id}", {"user_id": user_id})])


def build_welcome_email(payload: dict) -> EmailContent | None:
    """The welcome email to the new customer payload["user_id"].

    None when the account was deleted or deactivated (anonymised) before it went out.
    """
    user = User.objects.filter(pk=payload["user_id"], is_active=True).first()
    if user is None:
        return None
    return EmailContent(f"{TEMPLATES}/welcome", {"customer": user}, [user.email])


def enqueue_verification_email(*, user_id: int) -> None:
    """Queue an email with a link that verifies the email address of `user_id`; one query,
    sent after commit. Each call queues a new email (a resend)."""
    key = f"email_verification:user:{user_id}:{uuid.uuid4().hex}"
    enqueue([(OutboxMessage.Kind.EMAIL_VERIFICATION, key, {"user_id": user_id})])


def build_verification_email(payload: dict) -> EmailContent | None:
    """The verification email to payload["user_id"], its link from
    settings.EMAIL_VERIFICATION_URL; None when the account went, or is verified already."""
    user = User.objects.filter(pk=payload["user_id"], is_active=True, email_verified=False).first()
    if user is None:
        return None
    token = tokens.email_verification_tokens.make_token(user)
    context = {
        "customer": user,
        "link": tokens.link(settings.EMAIL_VERIFICATION_URL, user, token),
        "valid_hours": settings.EMAIL_VERIFICATION_TIMEOUT // 3600,
    }
    return EmailContent(f"{TEMPLATES}/verify_email", context, [user.email])


def enqueue_password_reset_email(*, email: str) -> None:
    """Queue a password reset email to whoever has the account `email`, if anyone.

    Written whether or not the email is registered (one query either way), so a request
    cannot tell by its answer or its timing; the builder, in the worker, finds the account
    or sends nothing.
    """
    key = f"password_reset:{uuid.uuid4().hex}"
    payload = {"email": UserManager.normalize_email(email)}
    enqueue([(OutboxMessage.Kind.PASSWORD_RESET, key, payload)])


def build_password_reset_email(payload: dict) -> EmailContent | None:
    """The reset email to the active account payload["email"], its link from
    settings.PASSWORD_RESET_URL; None when no active account has that email (or its
    password is unusable: a staff-disabled login is not reopened by email)."""
    user = User.objects.filter(email=payload["email"], is_active=True).first()
    if user is None or not user.has_usable_password():
        return None
    token = tokens.password_reset_tokens.make_token(user)
    context = {
        "customer": user,
        "link": tokens.link(settings.PASSWORD_RESET_URL, user, token),
        "valid_minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
    }
    return EmailContent(f"{TEMPLATES}/password_reset", context, [user.email])
