"""Render the email of an outbox message; the domain the message is about says what it holds.

Each domain builds its own emails: settings.NOTIFICATION_EMAIL_BUILDERS names, for every
OutboxMessage.Kind, the function that builds it (e.g. storefront.orders.emails), so this
module imports no domain. A builder takes the message's payload (a dict of ids) and returns
an EmailContent, or None when there is nothing to send any more. The templates are the
domain's, named from `EmailContent.template` (e.g. "orders/email/order_confirmation"):
`<template>_subject.txt` (one line), `<template>.txt` (the plain-text body) and, optionally,
`<template>.html` (an HTML alternative). Every email carries the outbox key in an
`X-Storefront-Notification` header.
"""

import contextlib
from collections.abc import Callable
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils.module_loading import import_string

from storefront.notifications.models import OutboxMessage

HEADER = "X-Storefront-Notification"


class EmailContent(NamedTuple):
    """What a builder returns: the templates' path without its ending
    ("orders/email/order_confirmation"), their context (the store currency is added as
    `currency`) and the email addresses to send to (none: the message is skipped)."""

    template: str
    context: dict[str, Any]
    recipients: list[str]


Builder = Callable[[dict], EmailContent | None]


def build(message: OutboxMessage) -> EmailMultiAlternatives | None:
    """The email for `message`, or None when there is nothing to send any more.

    None means the object it is about was deleted, or nobody is there to receive it (no
    staff email for a staff notification). Raises ImproperlyConfigured for a kind without
    a builder (builder_for).
    """
    built = builder_for(message.kind)(message.payload)
    if built is None or not built.recipients:
        return None
    context = {**built.context, "currency": settings.STORE_CURRENCY}
    subject = " ".join(render_to_string(f"{built.template}_subject.txt", context).split())
    body = render_to_string(f"{built.template}.txt", context)
    email = EmailMultiAlternatives(
        subject, body, to=built.recipients, headers={HEADER: message.key}
    )
    with contextlib.suppress(TemplateDoesNotExist):  # the HTML alternative is optional
        email.attach_alternative(render_to_string(f"{built.template}.html", context), "text/html")
    return email


def builder_for(kind: str) -> Builder:
    """The builder of the emails of `kind` (an OutboxMessage.Kind value), imported from its
    dotted path in settings.NOTIFICATION_EMAIL_BUILDERS.

    Raises ImproperlyConfigured when the setting names none for `kind`, and ImportError
    when the path it names does not import.
    """
    try:
        path = settings.NOTIFICATION_EMAIL_BUILDERS[kind]
    except KeyError:
        raise ImproperlyConfigured(
            f'settings.NOTIFICATION_EMAIL_BUILDERS names no builder for "{kind}" emails.'
        ) from None
    return import_string(path)


def staff_recipients() -> list[str]:
    """settings.STAFF_NOTIFICATION_EMAILS, or else the email of every active staff user."""
    if settings.STAFF_NOTIFICATION_EMAILS:
        return list(settings.STAFF_NOTIFICATION_EMAILS)
    users = get_user_model().objects.filter(is_staff=True, is_active=True).order_by("pk")
    return [email for email in users.values_list("email", flat=True) if email]
