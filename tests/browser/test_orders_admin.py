"""Staff change an order's status with an admin action."""

from decimal import Decimal

import pytest

from storefront.accounts.tests.factories import StaffFactory
from storefront.catalog.tests.factories import VariantFactory
from storefront.orders.models import Order
from storefront.orders.tests.factories import order_with_items

from .helpers import log_in_to_admin

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_mark_an_order_as_processing_with_an_admin_action(page):
    staff = StaffFactory(email="admin@example.com", is_superuser=True)
    order = order_with_items([(VariantFactory(price=Decimal("30.00")), 1)], number="SF-2001")

    log_in_to_admin(page, staff.email)
    page.goto("/admin/orders/order/")
    page.check(f"input.action-select[value='{order.pk}']")
    page.select_option("select[name=action]", label="Mark as processing")
    page.click("button[name=index]")

    assert "Mark as processing: 1 order(s)." in page.inner_text(".messagelist .success")
    order.refresh_from_db()
    assert order.status == Order.Status.PROCESSING
    assert order.events.filter(to_status="processing", actor=staff).exists()
