"""Every price and amount the admin shows has two decimals: the product and variant lists,
orders with their items and payment, payments, and the sales dashboard."""

import re
from decimal import Decimal

import pytest

from storefront.accounts.tests.factories import StaffFactory
from storefront.catalog.tests.factories import ProductFactory, VariantFactory
from storefront.orders.tests.factories import placed_order

TWO_DECIMALS = re.compile(r"\d+\.\d\d")
# Admin cells and read-only fields that hold a price or an amount, by field name.
MONEY_CELL = re.compile(
    r'<td class="field-(?:lowest_price|total|amount|unit_price|line_total)[^"]*">(.*?)</td>'
    r'|<input[^>]*name="[^"]*-price"[^>]*value="([^"]*)"',
    re.S,
)


def cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>|\s", "", cell or value) for cell, value in MONEY_CELL.findall(html)]


@pytest.mark.django_db
def test_every_price_and_amount_in_the_admin_shows_two_decimals(client):
    client.force_login(StaffFactory(is_superuser=True))
    product = ProductFactory(name="Teapot")
    VariantFactory(product=product, price=Decimal("10"), sku="TEA-1")
    VariantFactory(product=product, price=Decimal("12.5"), sku="TEA-2")
    order = placed_order(variants=list(product.variants.all()), quantity=3)  # 67.50
    pages = {
        "/admin/catalog/product/": 1,  # lowest price
        "/admin/catalog/productvariant/": 2,  # price inputs
        f"/admin/catalog/product/{product.pk}/change/": 2,
        "/admin/orders/order/": 1,  # total
        f"/admin/orders/order/{order.pk}/change/": 5,  # 2 unit prices, 2 line totals, payment
        "/admin/payments/payment/": 1,
    }

    for url, count in pages.items():
        shown = cells(client.get(url).content.decode())
        assert len(shown) == count, (url, shown)
        assert all(TWO_DECIMALS.fullmatch(value) for value in shown), (url, shown)
    order_page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert re.search(r'<div class="readonly">67\.50</div>', order_page)  # the order total
    dashboard = client.get("/admin/analytics/salesdashboard/").content.decode()
    assert '<dd id="figure-revenue">67.50 USD</dd>' in dashboard
    assert '<dd id="figure-average">67.50 USD</dd>' in dashboard
    assert "<td>67.50</td>" in dashboard  # top products and categories
