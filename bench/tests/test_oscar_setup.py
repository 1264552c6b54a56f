"""Oscar's side of the bench checkout, in Oscar's own virtualenv (bench/.venv-oscar, or
BENCH_OSCAR_PYTHON; skipped without it): the voucher set-up, the shipping method and tax
classes the bench site loads instead of Oscar's, and a real guest checkout with all three.

The tests make a database of their own on the test suite's PostgreSQL server, migrate it
with Oscar's migrations (about 20 s) and drop it at the end.
"""

import json
import os
import subprocess
from types import SimpleNamespace

import psycopg
import pytest
from django.conf import settings

from bench import checkout, loaders, run
from bench.catalog import Catalog
from storefront.core.servers import database_url_of

pytestmark = pytest.mark.skipif(
    not run.OSCAR_PYTHON.exists(), reason=f"no Oscar virtualenv at {run.OSCAR_PYTHON}"
)
PRODUCTS = 20


@pytest.fixture(scope="module")
def oscar():
    """(dsn, config) of a migrated Oscar database; `config` as bench.run's Config for it."""
    server = database_url_of({**settings.DATABASES["default"], "NAME": ""}).rstrip("/")
    name = f"bench_oscar_test_{os.getpid()}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    config = SimpleNamespace(db_url=server, databases={"oscar": name})
    try:
        _oscar(config, ["-m", "django", "migrate", "--noinput", "-v0"])
        yield f"{server}/{name}", config
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _oscar(config, args: list[str], stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(run.OSCAR_PYTHON), *args],
        cwd=run.ROOT,
        env=run.system_env(config, "oscar"),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _setup(config) -> dict:
    return json.loads(_oscar(config, ["-m", "bench.oscar_setup"]))


def test_voucher_setup_is_idempotent_and_puts_back_what_was_changed(oscar):
    dsn, config = oscar

    first, second = _setup(config), _setup(config)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE offer_benefit SET value = 5")
        conn.execute("UPDATE offer_conditionaloffer SET status = 'Suspended'")
        conn.execute("UPDATE voucher_voucher SET end_datetime = '2001-01-01'")
    third = _setup(config)

    assert set(first.values()) == {"created"}
    assert set(second.values()) == {"unchanged"}
    assert third == {
        "range": "unchanged", "condition": "unchanged", "benefit": "updated",
        "offer": "updated", "voucher": "updated",
    }  # fmt: skip
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """
            SELECT v.code, v.usage, o.offer_type, o.status, b.type, b.value, c.type, c.value,
                   r.includes_all_products
            FROM voucher_voucher v
            JOIN voucher_voucher_offers vo ON vo.voucher_id = v.id
            JOIN offer_conditionaloffer o ON o.id = vo.conditionaloffer_id
            JOIN offer_benefit b ON b.id = o.benefit_id
            JOIN offer_condition c ON c.id = o.condition_id
            JOIN offer_range r ON r.id = b.range_id AND r.id = c.range_id
            """
        ).fetchall()
    assert [tuple(str(x) for x in row) for row in rows] == [
        ("BENCH10", "Multi-use", "Voucher", "Open", "Percentage", "10.00", "Count", "1.00",
         "True"),
    ]  # fmt: skip


def test_the_bench_site_offers_its_flat_rate_method_and_charges_tax(oscar):
    _, config = oscar
    code = (
        "import django, json; django.setup(); "
        "from oscar.core.loading import get_class; "
        "methods = get_class('shipping.repository', 'Repository')().methods; "
        "strategy = get_class('partner.strategy', 'Selector')().strategy(); "
        "print(json.dumps({'methods': [(m.code, str(m.charge_excl_tax), str(m.charge_incl_tax))"
        " for m in methods], 'strategy': type(strategy).__name__, 'rate': str(strategy.rate)}))"
    )

    found = json.loads(_oscar(config, ["-c", code]))

    assert found == {
        "methods": [["bench-standard", "4.99", "5.35"]],
        "strategy": "BenchStrategy",
        "rate": "0.0725",
    }


def test_a_guest_checkout_as_the_bench_places_it_holds_shipping_tax_and_the_voucher(oscar):
    dsn, config = oscar
    catalog = Catalog(products=PRODUCTS)
    loaders.load_oscar(dsn, catalog, log=lambda _: None)
    _setup(config)
    variant = next(v for p in catalog.products_iter() for v in p.variants if v.stock > 5)
    spec = {"requests": [], "flow": "oscar", "products": PRODUCTS, "variant_id": variant.id}

    # bench.querycount's Oscar flow buys twice with the checkout driver's requests.
    counted = json.loads(_oscar(config, ["-m", "bench.querycount"], stdin=json.dumps(spec)))

    steps = counted["requests"]
    assert {name: step["status"] for name, step in steps.items()} == {
        "cart_add": 200,
        "voucher_add": 200,
        "checkout": 200,
    }
    shop = checkout.OscarShop(host="127.0.0.1", port=1, dsn=dsn, products=PRODUCTS)
    extras = shop.extras_since(0)
    assert extras == {"orders": 2, "shipping": 2, "tax": 2, "voucher": 2}
    with psycopg.connect(dsn) as conn:
        shipping = conn.execute(
            "SELECT DISTINCT shipping_code, shipping_excl_tax::text, shipping_incl_tax::text"
            " FROM order_order"
        ).fetchall()
    assert shipping == [("bench-standard", "4.99", "5.35")]
