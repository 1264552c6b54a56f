"""No card number, CVC or raw card data is stored or logged anywhere: a card checkout and
payment through Stripe (the fake on loopback) with card data pushed at every endpoint that
takes input, then a grep of every row of the database and of every log record of the run."""

import logging

import pytest
from django.db import connection

from storefront.carts.models import CartItem
from storefront.catalog.tests.factories import VariantFactory
from storefront.orders.models import Order
from storefront.payments.tests.conftest import fake_stripe, stripe_provider  # noqa: F401
from storefront.payments.tests.stripe_server import signed_event
from tests.helpers import CHECKOUT

CARD_NUMBER = "4000056655665556"
CVC = "CVC-914"  # No real CVC looks like this, so the grep cannot match by chance.
CARD = {"number": CARD_NUMBER, "cvc": CVC, "exp_month": 12, "exp_year": 2031}
FORBIDDEN = (CARD_NUMBER, "4000 0566 5566 5556", CVC)


def database_dump() -> str:
    """Every row of every table of the test database, as PostgreSQL writes a row as text
    (what pg_dump would write, without needing a pg_dump of the server's version)."""
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        rows = []
        for table in tables:
            cursor.execute(f"SELECT t::text FROM {connection.ops.quote_name(table)} AS t")
            rows.append(f"-- {table}")
            rows.extend(row for (row,) in cursor.fetchall())
    return "\n".join(rows)


@pytest.mark.django_db(transaction=True)
def test_card_data_sent_anywhere_is_never_stored_or_logged(
    fake_stripe,  # noqa: F811
    stripe_provider,  # noqa: F811
    customer,
    customer_client,
    caplog,
):
    caplog.set_level(logging.DEBUG)
    variant = VariantFactory(stock_quantity=5)
    CartItem.objects.create(cart=customer.cart, variant=variant, quantity=1)
    checkout = customer_client.post(
        "/api/orders/",
        {**CHECKOUT, "card": CARD, "card_number": CARD_NUMBER, "cvc": CVC},
        format="json",
    )
    assert checkout.status_code == 201, checkout.content
    order = checkout.json()
    # A card number where a token belongs is refused without being echoed back.
    refused = customer_client.post(f"/api/orders/{order['id']}/pay/", {"token": CARD_NUMBER})
    assert refused.status_code == 400
    assert CARD_NUMBER not in refused.content.decode()
    # The browser pays Stripe directly; Stripe's webhook settles the order.
    intent = fake_stripe.pay_in_browser(order["payment"]["provider_reference"])
    payload, header = signed_event("payment_intent.succeeded", intent)
    customer_client.post(
        "/api/payments/stripe/webhook/",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )
    assert Order.objects.get(pk=order["id"]).status == Order.Status.PROCESSING
    # A card posted to the other inputs: the webhook (unsigned) and the sandbox page.
    customer_client.post("/api/payments/stripe/webhook/", {"card": CARD}, format="json")
    customer_client.post("/api/payments/sandbox/confirm/", {"card": CARD}, format="json")

    dump = database_dump()
    assert "-- payments_payment" in dump
    assert order["number"] in dump  # The dump holds the data it is searched for.
    logs = caplog.text + "\n".join(str(record.__dict__) for record in caplog.records)
    assert "orders/" in logs  # The request log lines were captured.
    for text in FORBIDDEN:
        assert text not in dump
        assert text not in logs
