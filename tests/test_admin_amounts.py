"""Every price and amount the admin shows has two decimals: the product and variant lists,
orders with their items and payment, payments, and the sales dashboard."""

import os
import re
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib import admin

from storefront.accounts.tests.factories import StaffFactory
from storefront.catalog.admin import ProductAdmin
from storefront.catalog.models import Product
from storefront.catalog.tests.factories import ProductFactory, VariantFactory
from storefront.orders.tests.factories import placed_order

ROOT = Path(__file__).resolve().parent.parent
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


@pytest.mark.parametrize(
    ("price", "shown"),
    [(Decimal("10"), "10.00"), (Decimal("12.5"), "12.50"), (Decimal("0.10"), "0.10"), (None, None)],
)
def test_the_lowest_price_shows_two_decimals_whatever_the_database_returns(price, shown):
    # SQLite returns the annotated lowest price without trailing zeros (10.00 as 10).
    product = Product(name="Teapot")
    product.price = price
    assert ProductAdmin(Product, admin.site).lowest_price(product) == shown


SQLITE_PRODUCT_LIST = textwrap.dedent(
    """
    from decimal import Decimal
    from django.core.management import call_command
    from django.test import Client
    from storefront.accounts.models import User
    from storefront.catalog.models import Category, Product, ProductVariant

    call_command("migrate", verbosity=0)
    category = Category.add_root(name="Kitchen", slug="kitchen")
    product = Product.objects.create(name="Teapot", slug="teapot", category=category)
    ProductVariant.objects.create(product=product, sku="TEA-1", price=Decimal("10.00"))
    client = Client()
    client.force_login(User.objects.create_superuser("admin@example.com", "x-pw-for-tests"))
    html = client.get("/admin/catalog/product/").content.decode()
    print(html.split('class="field-lowest_price">')[1].split("<")[0])
    """
)


def test_the_product_list_shows_two_decimals_on_sqlite_as_under_make_run(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SQLITE_PRODUCT_LIST],
        cwd=ROOT,
        env={
            **env,
            "DJANGO_SETTINGS_MODULE": "config.settings.dev",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "MEDIA_ROOT": str(tmp_path / "media"),
            "CELERY_TASK_ALWAYS_EAGER": "1",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "10.00"
