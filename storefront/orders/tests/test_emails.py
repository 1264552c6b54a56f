"""The emails of an order's life: what each says, to whom, and when one is queued.

Tasks run in-process (config.settings.test runs Celery eagerly); emails land in Django's
locmem outbox. The outbox itself (commit, duplicates, delivery) is notifications' to test.
"""

from decimal import Decimal

import pytest
from django.core import mail

from storefront.notifications.models import OutboxMessage
from storefront.orders import emails
from storefront.orders.tests.factories import shirt_order
from storefront.payments.models import Payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def order():
    return shirt_order()


def test_the_confirmation_lists_the_lines_and_the_total(order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        emails.enqueue_order_confirmation(order_id=order.pk)

    [email] = mail.outbox
    assert email.to == ["ada@example.com"]
    assert email.subject == "Order SF-1001 confirmed"
    assert "2 x Shirt (M), SKU SHIRT-M: 25.00 USD" in email.body
    assert "Total: 25.00 USD" in email.body
    assert email.alternatives[0].mimetype == "text/html"


def test_the_confirmation_is_one_outbox_row_keyed_by_the_order(order):
    emails.enqueue_order_confirmation(order_id=order.pk)

    message = OutboxMessage.objects.get()
    assert (message.kind, message.key, message.payload) == (
        "order_confirmation",
        f"order_confirmation:order:{order.pk}",
        {"order_id": order.pk},
    )


@pytest.mark.parametrize(
    ("to_status", "subject"),
    [
        ("shipped", "Order SF-1001 has shipped"),
        ("delivered", "Order SF-1001 was delivered"),
        ("cancelled", "Order SF-1001 was cancelled"),
    ],
)
def test_customer_hears_of_status_changes_they_care_about(
    order, django_capture_on_commit_callbacks, to_status, subject
):
    with django_capture_on_commit_callbacks(execute=True):
        emails.enqueue_status_email(order_id=order.pk, from_status="pending", to_status=to_status)

    [email] = mail.outbox
    assert (email.to, email.subject) == (["ada@example.com"], subject)


def test_processing_sends_no_email(order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        emails.enqueue_status_email(
            order_id=order.pk, from_status="pending", to_status="processing"
        )

    assert not OutboxMessage.objects.exists()
    assert mail.outbox == []


def test_the_same_status_change_twice_sends_one_email(order, django_capture_on_commit_callbacks):
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            emails.enqueue_status_email(
                order_id=order.pk, from_status="processing", to_status="shipped"
            )

    assert len(mail.outbox) == 1


def test_an_unknown_status_is_a_programming_error(order):
    with pytest.raises(ValueError, match="lost"):
        emails.enqueue_status_email(order_id=order.pk, from_status="pending", to_status="lost")


def test_the_refund_email_gives_the_refunded_amount(order, django_capture_on_commit_callbacks):
    Payment.objects.filter(order=order).update(amount=Decimal("25.00"), status="refunded")

    with django_capture_on_commit_callbacks(execute=True):
        emails.enqueue_refund_email(order_id=order.pk)

    [email] = mail.outbox
    assert email.subject == "Refund for order SF-1001"
    assert "We refunded 25.00 USD for your order SF-1001" in email.body


def test_a_refunded_status_change_is_the_refund_email(order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        emails.enqueue_status_email(
            order_id=order.pk, from_status="delivered", to_status="refunded"
        )
        emails.enqueue_refund_email(order_id=order.pk)

    [email] = mail.outbox
    assert email.subject == "Refund for order SF-1001"
