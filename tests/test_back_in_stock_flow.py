"""Back-in-stock alerts across apps: a shopper buys the last unit, someone asks to be told
when it is back (POST /api/variants/{id}/notify-me/), and the stock comes back through the
orders: a cancellation, a refund with restock, a return received. One email per subscriber,
once. Then the same with a real Celery worker sending it, and the subscription racing a
restock on real connections."""

from decimal import Decimal

import pytest
from django.core import mail
from django.db import transaction
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.catalog import stock
from storefront.catalog.models import ProductVariant
from storefront.catalog.tests.factories import ProductFactory, VariantFactory
from storefront.notifications.models import BackInStockSubscription, OutboxMessage
from storefront.notifications.tests.conftest import broker, broker_url_for_tests, start_worker
from storefront.orders import returns
from storefront.orders.models import Order, Return
from storefront.orders.services import cancel_order, change_order_status, pay_order, refund_order
from storefront.orders.tests.factories import placed_order
from tests.concurrency import run_blocked_behind


def notify_url(variant: ProductVariant) -> str:
    return f"/api/variants/{variant.pk}/notify-me/"


def subscribe(variant: ProductVariant, email: str) -> None:
    response = APIClient().post(notify_url(variant), {"email": email}, format="json")
    assert response.status_code == 202, response.content


def back_in_stock_emails() -> list:
    return [m for m in mail.outbox if m.subject.startswith("Back in stock")]


def open_subscriptions(variant: ProductVariant) -> int:
    return BackInStockSubscription.objects.filter(variant=variant, notified_at=None).count()


@pytest.fixture
def last_unit(settings) -> ProductVariant:
    """A variant of one unit (above no low-stock threshold: its alerts stay out of the way)."""
    settings.LOW_STOCK_THRESHOLD = 0
    product = ProductFactory(name="Teapot")
    return VariantFactory(
        product=product, sku="POT-1", name="", stock_quantity=1, price=Decimal("30.00")
    )


# --- Stock back through the orders ---------------------------------------------------------


@pytest.mark.django_db
def test_a_cancellation_emails_each_subscriber_once(
    last_unit, customer_client, customer, django_capture_on_commit_callbacks
):
    order = placed_order(variants=[last_unit])
    customer_client.post(notify_url(last_unit))
    subscribe(last_unit, "guest@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        cancel_order(order=order, actor=order.customer)

    assert sorted(email.to[0] for email in back_in_stock_emails()) == sorted(
        [customer.email, "guest@example.com"]
    )
    assert open_subscriptions(last_unit) == 0
    last_unit.refresh_from_db()
    assert last_unit.stock_quantity == 1


def delivered(variant: ProductVariant) -> Order:
    order = placed_order(variants=[variant], payment_method="card")
    pay_order(order=order, token="tok_success")
    staff = StaffFactory()
    for status in (Order.Status.SHIPPED, Order.Status.DELIVERED):
        change_order_status(order=Order.objects.get(pk=order.pk), status=status, actor=staff)
    return Order.objects.get(pk=order.pk)


@pytest.mark.django_db
def test_a_return_received_emails_the_subscriber_once(
    last_unit, django_capture_on_commit_callbacks
):
    order = delivered(last_unit)
    subscribe(last_unit, "guest@example.com")
    item = order.items.get()
    staff = StaffFactory()
    request = returns.request_return(
        order=order, actor=order.customer, lines=[(item.pk, 1, "Chipped")]
    )

    with django_capture_on_commit_callbacks(execute=True):
        for status in (Return.Status.APPROVED, Return.Status.RECEIVED, Return.Status.REFUNDED):
            request = returns.move_return(return_request=request, status=status, actor=staff)

    [email] = back_in_stock_emails()
    assert email.to == ["guest@example.com"]
    assert email.subject == "Back in stock: Teapot"
    last_unit.refresh_from_db()
    assert last_unit.stock_quantity == 1  # Received once; the refund does not restock again.


@pytest.mark.django_db
def test_a_refund_with_restock_emails_the_subscriber(last_unit, django_capture_on_commit_callbacks):
    order = delivered(last_unit)
    subscribe(last_unit, "guest@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        refund_order(
            order=order,
            actor=StaffFactory(),
            lines=[(order.items.get().pk, 1)],
            restock=True,
        )

    assert [email.to for email in back_in_stock_emails()] == [["guest@example.com"]]


@pytest.mark.django_db
def test_a_sale_of_the_stock_that_came_back_does_not_alert_again(
    last_unit, django_capture_on_commit_callbacks
):
    order = placed_order(variants=[last_unit])
    subscribe(last_unit, "guest@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        cancel_order(order=order, actor=order.customer)
    with django_capture_on_commit_callbacks(execute=True):
        again = placed_order(variants=[last_unit])  # Sold out again...
    with django_capture_on_commit_callbacks(execute=True):
        cancel_order(order=again, actor=again.customer)  # ...and back: nobody asked again.

    assert len(back_in_stock_emails()) == 1


# --- A real worker -------------------------------------------------------------------------


@pytest.fixture
def worker(django_db_setup, tmp_path):
    worker = start_worker(beat=False, tmp=tmp_path)
    yield worker
    worker.stop()


@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_the_alert_once_after_a_stock_sync(worker, settings):
    settings.LOW_STOCK_THRESHOLD = 0
    variant = VariantFactory(
        sku="POT-2", name="1.5 l", stock_quantity=0, product=ProductFactory(name="Kettle")
    )
    customer = UserFactory(first_name="Ada")
    customer_client = APIClient()
    customer_client.force_authenticate(customer)
    staff_client = APIClient()
    staff_client.force_authenticate(StaffFactory())

    with broker(broker_url_for_tests()):
        assert customer_client.post(notify_url(variant)).status_code == 202
        assert customer_client.post(notify_url(variant)).status_code == 202  # Idempotent.
        subscribe(variant, "guest@example.com")
        for quantity in (5, 0, 5):  # Back, out, back: only the first rise alerts.
            response = staff_client.patch(
                "/api/variants/stock/",
                {"items": [{"sku": "POT-2", "stock_quantity": quantity}]},
                format="json",
            )
            assert response.status_code == 200, response.content

    keys = sorted(
        OutboxMessage.objects.filter(kind=OutboxMessage.Kind.BACK_IN_STOCK).values_list(
            "key", flat=True
        )
    )
    assert len(keys) == 2
    worker.wait_idle(
        until=lambda: not OutboxMessage.objects.filter(key__in=keys, status="pending").exists()
    )
    sent = worker.emails()
    assert sorted(email["To"] for email in sent) == sorted([customer.email, "guest@example.com"])
    assert sorted(email["X-Storefront-Notification"] for email in sent) == keys
    assert {email["Subject"] for email in sent} == {"Back in stock: Kettle (1.5 l)"}
    assert set(OutboxMessage.objects.filter(key__in=keys).values_list("status", flat=True)) == {
        "sent"
    }
    assert open_subscriptions(variant) == 0


# --- Subscribing while the stock moves -----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_subscription_waiting_for_a_restock_sees_the_stock_and_is_refused(settings):
    settings.LOW_STOCK_THRESHOLD = 0
    variant = VariantFactory(stock_quantity=0)

    def restock(hold) -> None:
        with transaction.atomic():
            stock.restock(quantities={variant.pk: 3})
            hold()

    def subscribe_now() -> str:
        return stock.subscribe_back_in_stock(
            variant_id=variant.pk, customer=None, email="guest@example.com"
        )

    restocked, subscribed = run_blocked_behind(restock, subscribe_now)

    assert restocked.error is None, restocked.error
    assert isinstance(subscribed.error, stock.VariantInStock)
    assert not BackInStockSubscription.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_restock_waiting_for_a_subscription_ends_it(settings):
    settings.LOW_STOCK_THRESHOLD = 0
    variant = VariantFactory(stock_quantity=0)

    def subscribe_and_hold(hold) -> None:
        with transaction.atomic():
            stock.subscribe_back_in_stock(
                variant_id=variant.pk, customer=None, email="guest@example.com"
            )
            hold()

    def restock() -> None:
        stock.restock(quantities={variant.pk: 3})

    subscribed, restocked = run_blocked_behind(subscribe_and_hold, restock)

    assert (subscribed.error, restocked.error) == (None, None)
    assert open_subscriptions(variant) == 0
    assert OutboxMessage.objects.filter(kind=OutboxMessage.Kind.BACK_IN_STOCK).count() == 1
    assert len(back_in_stock_emails()) == 1
