"""Back-in-stock alerts: POST /api/variants/{id}/notify-me/ (customers and guests), and the
one email per subscriber that the next rise of the variant's stock above zero queues
through the outbox (catalog/stock.py), by each catalog path that raises stock: a staff edit
(services.update_product, the product API), the stock sync by SKU and a catalog import.
Cancellations and returns: tests/test_back_in_stock_flow.py. Emails are sent in-process
(config.settings.test runs Celery eagerly) to Django's locmem outbox."""

from pathlib import Path

import pytest
from django.core import mail
from django.db import transaction
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import UserFactory
from storefront.catalog import services, stock
from storefront.catalog.imports import importer, reader
from storefront.catalog.models import ProductVariant
from storefront.catalog.tests.factories import ProductFactory, VariantFactory
from storefront.catalog.tests.helpers import assert_error
from storefront.notifications.models import BackInStockSubscription, OutboxMessage
from storefront.orders.services import anonymise_customer

pytestmark = pytest.mark.django_db

Kind = OutboxMessage.Kind


def notify_url(variant_id: int) -> str:
    return f"/api/variants/{variant_id}/notify-me/"


@pytest.fixture
def sold_out(settings) -> ProductVariant:
    # Restocks in these tests go to 10 or more: no low-stock alert muddles the outbox.
    settings.LOW_STOCK_THRESHOLD = 5
    settings.STAFF_NOTIFICATION_EMAILS = ["stock@example.com"]
    product = ProductFactory(name="Linen shirt")
    return VariantFactory(product=product, sku="SHIRT-M", name="M", stock_quantity=0)


def back_in_stock_emails() -> list:
    return [m for m in mail.outbox if m.subject.startswith("Back in stock")]


def subscribe_guest(variant: ProductVariant, email: str = "guest@example.com") -> None:
    response = APIClient().post(notify_url(variant.pk), {"email": email}, format="json")
    assert response.status_code == 202, response.content


def open_subscriptions(variant: ProductVariant) -> int:
    return BackInStockSubscription.objects.filter(variant=variant, notified_at=None).count()


# --- The endpoint --------------------------------------------------------------------------


def test_a_customer_subscribes_with_their_account_email(customer, customer_client, sold_out):
    response = customer_client.post(notify_url(sold_out.pk), format="json")

    assert response.status_code == 202, response.content
    assert response.json() == {"variant_id": sold_out.pk, "email": customer.email}
    subscription = BackInStockSubscription.objects.get()
    assert (subscription.variant_id, subscription.customer_id, subscription.email) == (
        sold_out.pk,
        customer.pk,
        "",
    )
    assert subscription.notified_at is None


def test_a_customer_is_emailed_at_their_account_email_whatever_the_body_says(
    customer, customer_client, sold_out
):
    response = customer_client.post(
        notify_url(sold_out.pk), {"email": "someone-else@example.com"}, format="json"
    )

    assert response.status_code == 202, response.content
    assert response.json()["email"] == customer.email
    assert BackInStockSubscription.objects.get().customer == customer


def test_a_guest_subscribes_with_an_email_stored_lower_cased(api_client, sold_out):
    response = api_client.post(notify_url(sold_out.pk), {"email": "Guest@Example.COM"})

    assert response.status_code == 202, response.content
    assert response.json() == {"variant_id": sold_out.pk, "email": "guest@example.com"}
    subscription = BackInStockSubscription.objects.get()
    assert (subscription.customer, subscription.email) == (None, "guest@example.com")


@pytest.mark.parametrize(
    "body", [{}, {"email": ""}, {"email": "not-an-email"}, {"email": "a@" + "b" * 260 + ".com"}]
)
def test_a_guest_without_a_valid_email_is_refused(api_client, sold_out, body):
    response = api_client.post(notify_url(sold_out.pk), body, format="json")

    error = assert_error(response, 400, "invalid")
    assert "email" in error["fields"]
    assert not BackInStockSubscription.objects.exists()


def test_subscribing_twice_keeps_one_subscription(customer, customer_client, api_client, sold_out):
    for _ in range(2):
        assert customer_client.post(notify_url(sold_out.pk)).status_code == 202
    for email in ("guest@example.com", "GUEST@example.com"):
        assert api_client.post(notify_url(sold_out.pk), {"email": email}).status_code == 202

    assert BackInStockSubscription.objects.count() == 2


def test_a_variant_in_stock_is_a_conflict_and_stores_nothing(customer_client, api_client):
    variant = VariantFactory(stock_quantity=1)

    assert_error(customer_client.post(notify_url(variant.pk)), 409, "in_stock")
    assert_error(
        api_client.post(notify_url(variant.pk), {"email": "guest@example.com"}), 409, "in_stock"
    )
    assert not BackInStockSubscription.objects.exists()


def test_an_unknown_or_unpurchasable_variant_is_not_found(customer_client, api_client):
    hidden = VariantFactory(stock_quantity=0, product=ProductFactory(is_published=False))
    gone = VariantFactory(stock_quantity=0)
    gone_id = gone.pk
    gone.delete()

    for variant_id in (hidden.pk, gone_id):
        assert_error(customer_client.post(notify_url(variant_id)), 404, "not_found")
        assert_error(
            api_client.post(notify_url(variant_id), {"email": "guest@example.com"}),
            404,
            "not_found",
        )
    assert not BackInStockSubscription.objects.exists()


def test_subscribing_is_throttled_per_client_address(settings, sold_out):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "notify_me": "3/hour"},
    }
    client = APIClient()
    client.force_authenticate(UserFactory())  # A customer is counted under the address too.
    in_stock = VariantFactory(stock_quantity=4)

    statuses = [
        client.post(notify_url(sold_out.pk)).status_code,
        client.post(notify_url(in_stock.pk)).status_code,  # Refusals count too.
        client.post(notify_url(sold_out.pk)).status_code,
        client.post(notify_url(sold_out.pk)).status_code,
    ]

    assert statuses == [202, 409, 202, 429]
    response = client.post(notify_url(sold_out.pk))
    assert_error(response, 429, "throttled")
    assert int(response.headers["Retry-After"]) > 0
    other = APIClient().post(
        notify_url(sold_out.pk), {"email": "guest@example.com"}, REMOTE_ADDR="192.0.2.8"
    )
    assert other.status_code == 202


def test_subscribing_costs_two_queries(customer_client, sold_out, django_assert_num_queries):
    # The variant's lock (with the purchasable rule), the insert.
    with django_assert_num_queries(2):
        response = customer_client.post(notify_url(sold_out.pk))

    assert response.status_code == 202


# --- The email, once, after a rise by each catalog path --------------------------------------


def test_a_staff_edit_emails_each_subscriber_once_and_ends_the_subscriptions(
    customer, customer_client, sold_out, django_capture_on_commit_callbacks
):
    customer_client.post(notify_url(sold_out.pk))
    subscribe_guest(sold_out)

    with django_capture_on_commit_callbacks(execute=True):
        services.update_product(
            product=sold_out.product,
            changes={},
            variants=[{"id": sold_out.pk, "stock_quantity": 10}],
        )

    emails = back_in_stock_emails()
    assert sorted(email.to[0] for email in emails) == sorted([customer.email, "guest@example.com"])
    [email] = [e for e in emails if e.to == [customer.email]]
    assert email.subject == "Back in stock: Linen shirt (M)"
    assert "Linen shirt (M), SKU SHIRT-M, is back in stock." in email.body
    assert email.body.startswith(f"Hello {customer.first_name},")
    assert open_subscriptions(sold_out) == 0
    assert BackInStockSubscription.objects.filter(notified_at__isnull=False).count() == 2
    messages = OutboxMessage.objects.filter(kind=Kind.BACK_IN_STOCK)
    assert sorted(messages.values_list("status", flat=True)) == ["sent", "sent"]


def test_a_product_api_patch_emails_the_subscriber(
    staff_client, sold_out, django_capture_on_commit_callbacks
):
    subscribe_guest(sold_out)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.patch(
            f"/api/products/{sold_out.product_id}/",
            {"variants": [{"id": sold_out.pk, "stock_quantity": 12}]},
            format="json",
        )

    assert response.status_code == 200, response.content
    [email] = back_in_stock_emails()
    assert email.to == ["guest@example.com"]
    assert email.body.startswith("Hello guest@example.com,")
    assert open_subscriptions(sold_out) == 0


def test_a_stock_sync_by_sku_emails_the_subscribers_of_each_variant_back(
    staff_client, sold_out, django_capture_on_commit_callbacks
):
    other = VariantFactory(sku="MUG-1", stock_quantity=0)
    still_out = VariantFactory(sku="CUP-1", stock_quantity=0)
    subscribe_guest(sold_out, "a@example.com")
    subscribe_guest(other, "b@example.com")
    subscribe_guest(still_out, "c@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.patch(
            "/api/variants/stock/",
            {
                "items": [
                    {"sku": "SHIRT-M", "stock_quantity": 10},
                    {"sku": "MUG-1", "stock_quantity": 20},
                    {"sku": "CUP-1", "price": "3.00"},  # Its price only: still out.
                ]
            },
            format="json",
        )

    assert response.status_code == 200, response.content
    assert sorted(email.to[0] for email in back_in_stock_emails()) == [
        "a@example.com",
        "b@example.com",
    ]
    assert open_subscriptions(still_out) == 1


def test_a_catalog_import_emails_the_subscriber(
    tmp_path, sold_out, django_capture_on_commit_callbacks
):
    subscribe_guest(sold_out)
    path = tmp_path / "stock.csv"
    path.write_text(
        "product_slug,name,sku,price,stock_quantity\n"
        f"{sold_out.product.slug},Linen shirt,SHIRT-M,{sold_out.price},15\n"
    )

    with django_capture_on_commit_callbacks(execute=True):
        result = import_file(path)

    assert (result.errors_total, result.variants_updated) == (0, 1)
    sold_out.refresh_from_db()
    assert sold_out.stock_quantity == 15
    [email] = back_in_stock_emails()
    assert email.to == ["guest@example.com"]
    assert open_subscriptions(sold_out) == 0


def import_file(path: Path) -> importer.Result:
    return importer.import_catalog(
        lambda: reader.open_source(path), options=reader.Options(), dry_run=False
    )


def test_a_restock_emails_the_subscriber(sold_out, django_capture_on_commit_callbacks):
    subscribe_guest(sold_out)

    with django_capture_on_commit_callbacks(execute=True):
        stock.restock(quantities={sold_out.pk: 10})

    assert [email.to for email in back_in_stock_emails()] == [["guest@example.com"]]


# --- Once, and only when the rise commits ---------------------------------------------------


def test_a_second_rise_after_the_alert_sends_nothing(sold_out, django_capture_on_commit_callbacks):
    subscribe_guest(sold_out)
    for quantity in (10, 0, 10, 20):
        with django_capture_on_commit_callbacks(execute=True):
            stock.set_stock(quantities={sold_out.pk: quantity})

    assert len(back_in_stock_emails()) == 1
    assert OutboxMessage.objects.filter(kind=Kind.BACK_IN_STOCK).count() == 1


def test_a_stock_set_to_what_it_is_notifies_nobody(sold_out, django_capture_on_commit_callbacks):
    subscribe_guest(sold_out)
    with django_capture_on_commit_callbacks(execute=True):
        stock.set_stock(quantities={sold_out.pk: 0})  # Unchanged: nothing written.
        stock.restock(quantities={})

    assert open_subscriptions(sold_out) == 1
    assert back_in_stock_emails() == []


def test_subscribing_again_after_the_alert_alerts_again(
    sold_out, django_capture_on_commit_callbacks
):
    subscribe_guest(sold_out)
    with django_capture_on_commit_callbacks(execute=True):
        stock.set_stock(quantities={sold_out.pk: 10})
    with django_capture_on_commit_callbacks(execute=True):
        stock.set_stock(quantities={sold_out.pk: 0})
    subscribe_guest(sold_out)
    with django_capture_on_commit_callbacks(execute=True):
        stock.set_stock(quantities={sold_out.pk: 10})

    assert len(back_in_stock_emails()) == 2
    assert BackInStockSubscription.objects.filter(notified_at__isnull=False).count() == 2


def test_a_rise_that_rolls_back_sends_nothing_and_keeps_the_subscription(
    sold_out, django_capture_on_commit_callbacks
):
    subscribe_guest(sold_out)

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        stock.set_stock(quantities={sold_out.pk: 10})
        raise RuntimeError("the staff edit failed after the stock")

    assert callbacks == []
    assert back_in_stock_emails() == []
    assert not OutboxMessage.objects.filter(kind=Kind.BACK_IN_STOCK).exists()
    assert open_subscriptions(sold_out) == 1


def test_an_anonymised_customer_is_not_emailed(
    customer, customer_client, sold_out, django_capture_on_commit_callbacks
):
    customer_client.post(notify_url(sold_out.pk))
    anonymise_customer(customer=customer)

    with django_capture_on_commit_callbacks(execute=True):
        stock.set_stock(quantities={sold_out.pk: 10})

    assert back_in_stock_emails() == []
    assert OutboxMessage.objects.get(kind=Kind.BACK_IN_STOCK).status == "skipped"


def test_a_variant_unpublished_before_the_email_went_is_not_announced(
    sold_out, django_capture_on_commit_callbacks
):
    subscribe_guest(sold_out)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        stock.set_stock(quantities={sold_out.pk: 10})
    sold_out.product.is_published = False
    sold_out.product.save(update_fields=["is_published"])
    for callback in callbacks:
        callback()

    assert back_in_stock_emails() == []
    assert OutboxMessage.objects.get(kind=Kind.BACK_IN_STOCK).status == "skipped"


# --- Query counts --------------------------------------------------------------------------


def test_rises_that_bring_nothing_back_from_zero_cost_no_extra_query(
    sold_out, django_assert_num_queries
):
    """The counts of test_stock.py: nothing is asked about subscriptions."""
    stocked = VariantFactory(stock_quantity=10)
    subscribe_guest(sold_out)

    # The lock, the UPDATE, check_low_stock's resolving UPDATE, the stock.changed webhook
    # events (one statement, storefront/webhooks).
    with django_assert_num_queries(4):
        stock.restock(quantities={stocked.pk: 2})
    with django_assert_num_queries(4):
        stock.set_stock(quantities={stocked.pk: 20})
    # A sale never notifies: its one UPDATE, and the webhook events' statement.
    with transaction.atomic():
        line = ProductVariant.objects.select_for_update().get(pk=stocked.pk)
        with django_assert_num_queries(2):
            stock.sell(lines=[(line, 1)])


@pytest.mark.parametrize("subscribers", [0, 1, 20])
@pytest.mark.parametrize("move", ["restock", "set_stock"])
def test_a_rise_from_zero_costs_one_query_more_and_one_for_the_emails(
    sold_out, django_assert_num_queries, move, subscribers
):
    variants = [sold_out, VariantFactory(stock_quantity=0)]
    for n in range(subscribers):
        subscribe_guest(variants[n % 2], f"guest{n}@example.com")

    # The lock, the UPDATE, the resolving UPDATE; the subscriptions' UPDATE ... RETURNING;
    # with subscribers, the outbox insert; the stock.changed webhook events.
    with django_assert_num_queries(5 + (subscribers > 0)):
        if move == "restock":
            stock.restock(quantities={v.pk: 10 for v in variants})
        else:
            stock.set_stock(quantities={v.pk: 10 for v in variants})

    assert OutboxMessage.objects.filter(kind=Kind.BACK_IN_STOCK).count() == subscribers


def test_the_builder_reads_one_row(sold_out, django_assert_num_queries):
    from storefront.catalog.emails import build_back_in_stock

    subscribe_guest(sold_out)
    subscription = BackInStockSubscription.objects.get()

    with django_assert_num_queries(1):
        built = build_back_in_stock({"subscription_id": subscription.pk})

    assert built.recipients == ["guest@example.com"]
    assert build_back_in_stock({"subscription_id": subscription.pk + 1000}) is None
