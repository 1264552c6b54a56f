import json

import pytest

from storefront.accounts.tests.factories import StaffFactory
from storefront.orders.models import Order
from storefront.orders.tests.factories import OrderFactory, placed_order
from storefront.payments.models import Payment

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/orders/order/"


@pytest.fixture
def staff_client(client):
    staff = StaffFactory(is_superuser=True)
    client.force_login(staff)
    return client


def run_action(client, action: str, orders: list[Order], url: str = CHANGELIST):
    return client.post(
        url,
        {"action": action, "_selected_action": [order.pk for order in orders]},
        follow=True,
    )


def test_changelist_searches_and_filters(staff_client):
    order = OrderFactory()
    response = staff_client.get(CHANGELIST, {"q": order.number, "status__exact": "pending"})
    assert response.status_code == 200
    assert order.number in response.content.decode()


def test_change_page_shows_items_payment_and_events(staff_client):
    order = placed_order()
    response = staff_client.get(f"{CHANGELIST}{order.pk}/change/")
    page = response.content.decode()
    assert response.status_code == 200
    assert order.items.get().sku in page
    assert "Order placed." in page
    assert "Cash on delivery" in page


def test_status_action_goes_through_the_transition_rules(staff_client):
    movable = OrderFactory()
    shipped = OrderFactory(status=Order.Status.SHIPPED)
    response = run_action(staff_client, "mark_processing", [movable, shipped])
    movable.refresh_from_db()
    shipped.refresh_from_db()
    assert (movable.status, shipped.status) == ("processing", "shipped")
    assert movable.events.get().to_status == "processing"
    messages = [str(m) for m in response.context["messages"]]
    assert any(shipped.number in m for m in messages)


def test_ship_action_refuses_an_unpaid_card_order_and_ships_cash_on_delivery(staff_client):
    card = placed_order(payment_method=Payment.Method.CARD)
    cash = placed_order()
    Order.objects.update(status=Order.Status.PROCESSING)

    response = run_action(staff_client, "mark_shipped", [card, cash])

    assert response.status_code == 200
    card.refresh_from_db()
    cash.refresh_from_db()
    assert (card.status, cash.status) == ("processing", "shipped")
    warnings = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert warnings == [
        f"Not changed: {card.number}: A card order must be paid before it is shipped; "
        "its payment is pending."
    ]


def test_cancel_action_returns_the_stock(staff_client):
    order = placed_order(quantity=2)
    variant = order.items.get().variant
    run_action(staff_client, "mark_cancelled", [order])
    variant.refresh_from_db()
    assert variant.stock_quantity == 10


def test_cash_payment_action_completes_the_payment(staff_client):
    order = placed_order()
    run_action(staff_client, "complete_cash_payment", [order])
    assert Payment.objects.get(order=order).status == "completed"


def test_payment_admin_action_records_cash(staff_client):
    order = placed_order()
    payment = Payment.objects.get(order=order)
    staff_client.post(
        "/admin/payments/payment/",
        {"action": "complete_cash_payment", "_selected_action": [payment.pk]},
    )
    payment.refresh_from_db()
    assert payment.status == "completed"


def change_form_data(staff_client, order: Order, **changes) -> dict:
    form = staff_client.get(f"{CHANGELIST}{order.pk}/change/").context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    for prefix in ("items", "payment", "events"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    return {**data, **{name: json.dumps(value) for name, value in changes.items()}}


CORRECTED = {
    "full_name": "Ada Lovelace",
    "line1": "2 Other St",
    "line2": "",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "us",
    "region": "IL",
    "phone": "",
}


def test_staff_can_correct_the_shipping_address_and_its_text_follows(staff_client):
    order = placed_order()
    billing = order.billing_address
    data = change_form_data(staff_client, order, shipping_address_details=CORRECTED)

    response = staff_client.post(f"{CHANGELIST}{order.pk}/change/", data)

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.shipping_address_details == {**CORRECTED, "country": "US"}
    assert order.shipping_address == (
        "Ada Lovelace\n2 Other St\n12345 Springfield\nIL\nUnited States of America"
    )
    assert order.billing_address == billing


def test_staff_can_correct_an_address_that_was_given_as_text(staff_client):
    order = placed_order()  # its addresses were sent as text
    text_address = {**order.shipping_address_details, "line1": "2 Other St\nSpringfield"}
    data = change_form_data(staff_client, order, shipping_address_details=text_address)

    staff_client.post(f"{CHANGELIST}{order.pk}/change/", data)

    order.refresh_from_db()
    assert order.shipping_address == "2 Other St\nSpringfield"


@pytest.mark.parametrize(
    "address",
    [
        {**CORRECTED, "country": "XX"},
        {**CORRECTED, "line1": ""},
        {key: value for key, value in CORRECTED.items() if key != "phone"},
        {**CORRECTED, "surprise": ""},
        {**CORRECTED, "city": 5},
        {**CORRECTED, "city": "", "line1": ""},
        ["2 Other St"],
    ],
    ids=["country", "no-line1", "a-key-missing", "a-key-too-many", "not-text", "no-text", "list"],
)
def test_a_bad_correction_is_refused_and_changes_nothing(staff_client, address):
    order = placed_order()
    before = (order.shipping_address, order.shipping_address_details)
    data = change_form_data(staff_client, order, shipping_address_details=address)

    response = staff_client.post(f"{CHANGELIST}{order.pk}/change/", data)

    assert response.status_code == 200  # the form again, with the error
    assert response.context["adminform"].form.errors["shipping_address_details"]
    order.refresh_from_db()
    assert (order.shipping_address, order.shipping_address_details) == before


def test_orders_cannot_be_added_or_deleted_in_the_admin(staff_client):
    order = OrderFactory()
    assert staff_client.get(f"{CHANGELIST}add/").status_code == 403
    assert staff_client.get(f"{CHANGELIST}{order.pk}/delete/").status_code == 403
