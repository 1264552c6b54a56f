"""bench.checkout without servers: what each shop sends, and the check of the orders' shipping,
tax and voucher after a run (fake clients and a fake shop; the real orders are placed in
test_storefront_setup.py and, with Oscar's virtualenv, test_oscar_setup.py)."""

import threading

import pytest

from bench import checkout, oscar_setup, run, storefront_setup


class _Client:
    """Records the requests a shop sends; answers from `answers` (path -> status)."""

    def __init__(self, answers: dict[str, int] | None = None) -> None:
        self.answers = answers or {}
        self.sent: list[tuple[str, str, object]] = []
        self.state: dict = {}
        self.lock = threading.Lock()

    def request(self, method, path, body=None):
        with self.lock:
            self.sent.append((method, path, body))
        status = self.answers.get(path, 200)
        if path == "/api/basket/add-product/":
            return status, {"url": "http://127.0.0.1:1/api/baskets/7/"}
        return status, {}

    def close(self):
        pass


def test_every_storefront_order_asks_for_the_bench_method_and_voucher_for_a_us_address():
    shop = checkout.StorefrontShop(host="127.0.0.1", port=1, dsn="", emails=[], password="")
    client = _Client({"/api/orders/": 201})

    assert shop.checkout(client) == 201

    [(method, path, body)] = client.sent
    assert (method, path) == ("POST", "/api/orders/")
    assert body["shipping_method"] == storefront_setup.METHOD["code"] == "bench-standard"
    assert body["voucher_code"] == storefront_setup.VOUCHER["code"] == "BENCH10"
    assert body["shipping_address"]["country"] == storefront_setup.ZONE_COUNTRY == "US"
    assert "region" not in body["shipping_address"]  # the rate of the whole country
    assert body["billing_address"] == body["shipping_address"]
    assert body == checkout.storefront_order_body()


def test_every_oscar_order_adds_the_voucher_to_its_basket_then_asks_for_the_bench_method():
    shop = checkout.OscarShop(host="127.0.0.1", port=8102, dsn="", products=100)
    client = shop.customer(3)
    recorder = _Client()
    client.request = recorder.request

    assert shop.add(client, 5) == 200
    assert shop.checkout(client) == 200

    paths = [(method, path) for method, path, _ in recorder.sent]
    assert paths == [
        ("POST", "/api/basket/add-product/"),
        ("POST", "/api/basket/add-voucher/"),
        ("POST", "/api/checkout/"),
    ]
    _, _, voucher = recorder.sent[1]
    _, _, order = recorder.sent[2]
    assert voucher == {"vouchercode": oscar_setup.VOUCHER_CODE} == {"vouchercode": "BENCH10"}
    assert order["shipping_method_code"] == "bench-standard"
    assert order["basket"] == "http://127.0.0.1:1/api/baskets/7/"
    assert order["guest_email"] == "guest3@bench.invalid"
    assert order["shipping_address"]["country"] == "http://127.0.0.1:8102/api/countries/US/"
    assert "basket" not in client.state  # the next order has a new basket


def test_an_oscar_voucher_refused_is_the_checkout_status_and_no_order_is_placed():
    shop = checkout.OscarShop(host="127.0.0.1", port=8102, dsn="", products=100)
    client = shop.customer(0)
    recorder = _Client({"/api/basket/add-voucher/": 406})
    client.request = recorder.request

    assert shop.checkout(client) == 406
    assert [path for _, path, _ in recorder.sent] == ["/api/basket/add-voucher/"]


@pytest.mark.parametrize(
    ("extras", "complete"),
    [
        ({"orders": 5, "shipping": 5, "tax": 5, "voucher": 5}, True),
        ({"orders": 5, "shipping": 5, "tax": 4, "voucher": 5}, False),
        ({"orders": 5, "shipping": 5, "tax": 5, "voucher": 0}, False),
        ({"orders": 0, "shipping": 0, "tax": 0, "voucher": 0}, False),  # no order: nothing shown
    ],
)
def test_a_run_is_complete_when_it_placed_orders_that_all_hold_shipping_tax_and_voucher(
    extras, complete
):
    assert checkout.extras_complete(extras) is complete


class _FakeShop:
    """A shop whose database holds `extras` for the orders of the run."""

    name = "fake"

    def __init__(self, extras: dict) -> None:
        self.extras = extras
        self.asked: list[int] = []

    def customer(self, index):
        return _Client()

    def clear(self, client):
        pass

    def add(self, client, variant_id, quantity=1):
        return 201

    def checkout(self, client):
        return 201

    def set_stock(self, variant_ids, stock):
        pass

    def last_order_id(self):
        return 41

    def extras_since(self, order_id):
        self.asked.append(order_id)
        return self.extras

    def sold_since(self, order_id):
        return {}

    def stock_left(self, variant_ids):
        return dict.fromkeys(variant_ids, 10)


def test_checkout_and_race_runs_record_what_the_database_says_of_their_orders():
    complete = {"orders": 3, "shipping": 3, "tax": 3, "voucher": 3}
    shop = _FakeShop(complete)

    measured = checkout.run_checkout(shop, customers=2, variant_ids=[1], seconds=0.05, stock=10)
    race = checkout.run_race(shop, variant_id=1, buyers=2, stock=10)

    assert measured["extras"] == race["extras"] == complete
    assert measured["extras_complete"] and race["extras_complete"]
    assert measured["orders_db"] == race["orders"] == 3
    assert shop.asked == [41, 41]  # the orders after the last one before the run


def test_runs_whose_orders_lack_an_extra_are_named_in_the_log_and_the_exit():
    good = {"orders": 4, "shipping": 4, "tax": 4, "voucher": 4}
    bad = {"orders": 4, "shipping": 4, "tax": 4, "voucher": 1}
    results = {
        "checkout": {
            "runs": [
                {"system": "storefront", "customers": 8, "extras": good, "extras_complete": True},
                {"system": "oscar", "customers": 8, "extras": bad, "extras_complete": False},
                {"system": "oscar", "customers": 32},  # recorded before the check: not judged
            ],
            "race": [
                {"system": "storefront", "buyers": 50, "extras": good, "extras_complete": True}
            ],
        },
        "mixed": {
            "runs": [
                {
                    "checkout": {
                        "system": "storefront",
                        "customers": 8,
                        "extras": bad,
                        "extras_complete": False,
                    }
                },
            ]
        },
    }

    lines = run.incomplete_checkouts(results)

    assert lines == [
        "oscar (8 customers): WARNING: NOT EVERY ORDER HAS SHIPPING, TAX AND THE VOUCHER: "
        "of 4 orders shipping 4, tax 4, voucher 1",
        "storefront (8 customers): WARNING: NOT EVERY ORDER HAS SHIPPING, TAX AND THE "
        "VOUCHER: of 4 orders shipping 4, tax 4, voucher 1",
    ]
    assert run.extras_note({"extras": good, "extras_complete": True}) == (
        "all 4 orders with shipping, tax and voucher"
    )


def test_checkout_setup_runs_both_systems_setups_before_the_servers(monkeypatch):
    calls = []

    def run_python(config, system, args, *, stdin=None):
        calls.append((system, args))
        return '{"voucher": "created"}'

    monkeypatch.setattr(run, "run_python", run_python)

    done = run.checkout_setup(object())

    assert calls == [
        ("storefront", ["-m", "bench.storefront_setup", "--pricing"]),
        ("oscar", ["-m", "bench.oscar_setup"]),
    ]
    assert done["setup"] == {"storefront": {"voucher": "created"}, "oscar": {"voucher": "created"}}
    assert set(done["includes"]) == {"storefront", "oscar"}
    for parts in done["includes"].values():
        assert set(parts) == {"shipping", "tax", "voucher"}
