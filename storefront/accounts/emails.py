"""The emails of a customer's account: the welcome email.

enqueue_welcome_email writes it to the notification outbox in the caller's transaction
(register_customer's); the builder makes it from the database as it is when the worker sends
it (settings.NOTIFICATION_EMAIL_BUILDERS names it; storefront/notifications/emails.py renders
and sends); the templates are in accounts/templates/accounts/email/.
"""

from storefront.accounts.models import User
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
