"""Headless checkout driver: simulated customers buying through each system's HTTP API.

Standard library only (threads + http.client), so it runs anywhere. Two workloads:

- `run_checkout`: N customers, each with its own cart, loop "add one unit of a random variant
  to the cart, place the order" until a time limit. Reports orders/s, latencies and status
  counts; then counts oversells from the database: units sold (order lines placed during the
  run) against the stock each variant had at the start.
- `run_race`: B buyers each hold one unit of the same variant, whose stock is S (50 and 10 by
  default); all place their order at the same instant (threading.Barrier). Reports orders
  created, status counts and the stock left (negative = oversold).

Shops:
- StorefrontShop: POST /api/auth/token/ {email, password} -> token; POST /api/cart/items/
  {variant_id, quantity}; POST /api/orders/ {shipping_address, billing_address, phone_number,
  shipping_method: "bench-standard", voucher_code: "BENCH10"} (storefront_order_body);
  header `Authorization: Token <token>`.
- OscarShop (django-oscar-api): guest sessions (cookie), POST /api/basket/add-product/
  {url, quantity}; POST /api/basket/add-voucher/ {vouchercode: "BENCH10"}; POST /api/checkout/
  {basket, guest_email, shipping_address, shipping_method_code: "bench-standard"}.

Every order carries a shipping method, tax and a voucher on both systems: Storefront's
bench/storefront_setup.py and Oscar's bench/oscar_setup.py (with bench/oscar_site/shop.py)
create them before the servers start. After each run the shop counts, in its database, the
run's orders that really hold them (`extras`): every order must, else `extras_complete` is
false and the bench says so (bench/run.py, bench/report.py).

Every loop is bounded by a deadline and every request by a timeout; only loopback addresses.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import psycopg

REQUEST_TIMEOUT = 30.0
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# What every bench order is placed with, on both systems (bench/storefront_setup.py and
# bench/oscar_setup.py create them): a flat-rate shipping method and a 10 % voucher.
SHIPPING_METHOD = "bench-standard"
VOUCHER_CODE = "BENCH10"
# A US postal address: the bench's shipping zone and tax rate are the United States'.
STOREFRONT_ADDRESS = {
    "full_name": "Bench Customer",
    "line1": "1 Bench Street",
    "city": "Loopback",
    "postal_code": "12345",
    "country": "US",
}
# What each system's checkout includes, for the result file and the report.
INCLUDES = {
    "storefront": {
        "shipping": f"method {SHIPPING_METHOD} (flat 4.99, zone Bench domestic: US), "
        "sent as shipping_method",
        "tax": "US sales tax 7.25 % (TaxRate US, standard class) on the lines and shipping",
        "voucher": f"{VOUCHER_CODE}, 10 % off, no usage limit, sent as voucher_code in the "
        "checkout body",
    },
    "oscar": {
        "shipping": f"method {SHIPPING_METHOD} (Oscar FixedPrice 4.99, 5.35 with tax; "
        "bench/oscar_site/shop.py), sent as shipping_method_code",
        "tax": "7.25 % on the lines (Oscar FixedRateTax strategy) and on shipping",
        "voucher": f"{VOUCHER_CODE}, 10 % off all products (voucher, offer, range, benefit), "
        "added to each basket by POST /api/basket/add-voucher/: one more request per order",
    },
}


def storefront_order_body() -> dict:
    """The body of every Storefront checkout (POST /api/orders/) of the bench."""
    return {
        "shipping_address": dict(STOREFRONT_ADDRESS),
        "billing_address": dict(STOREFRONT_ADDRESS),
        "phone_number": "+1 555 0100",
        "shipping_method": SHIPPING_METHOD,
        "voucher_code": VOUCHER_CODE,
    }


def oscar_address(base: str) -> dict:
    """The shipping address of every Oscar checkout; `base` is the server's root URL."""
    return {
        "title": "Mr",
        "first_name": "Bench",
        "last_name": "Customer",
        "line1": "1 Bench Street",
        "line4": "Loopback",
        "postcode": "12345",
        "state": "",
        "phone_number": "+1 202 555 0100",
        "notes": "",
        "country": f"{base}/api/countries/US/",
    }


def oscar_order_body(base: str, basket: str | None, email: str) -> dict:
    """The body of every Oscar checkout (POST /api/checkout/) of the bench."""
    return {
        "basket": basket,
        "guest_email": email,
        "shipping_address": oscar_address(base),
        "shipping_method_code": SHIPPING_METHOD,
    }


EXTRAS = ("shipping", "tax", "voucher")


def extras_complete(extras: dict) -> bool:
    """Whether the run placed orders and every one of them holds shipping, tax and the
    voucher (`extras` as a shop's extras_since returns it)."""
    orders = extras.get("orders", 0)
    return orders > 0 and all(extras.get(k) == orders for k in EXTRAS)


def incomplete_runs(results: dict) -> list[dict]:
    """The checkout, race and mixed-load runs of a result file whose orders do not all hold
    shipping, tax and the voucher (or that placed none). Runs recorded before the bench
    checked (no `extras`) are not judged."""
    checkout = results.get("checkout") or {}
    runs = [
        *checkout.get("runs", []),
        *checkout.get("race", []),
        *(run["checkout"] for run in (results.get("mixed") or {}).get("runs", [])),
    ]
    return [run for run in runs if "extras" in run and not run.get("extras_complete")]


class HttpClient:
    """One simulated customer's HTTP connection: JSON in and out, a cookie jar, default headers."""

    def __init__(self, host: str, port: int) -> None:
        if host not in LOOPBACK:
            raise ValueError(f"The benchmark only talks to loopback addresses, not {host!r}.")
        self.host = host
        self.port = port
        self.conn = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT)
        self.cookies: dict[str, str] = {}
        self.headers: dict[str, str] = {}
        self.state: dict = {}

    def request(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        """Send one request; return (status, parsed JSON or text). Status 0 = no answer."""
        headers = {"Accept": "application/json", "Host": f"{self.host}:{self.port}", **self.headers}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=payload, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (http.client.HTTPException, OSError) as error:
            self.conn.close()
            return 0, str(error)
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        if response.getheader("Content-Type", "").startswith("application/json"):
            try:
                return response.status, json.loads(raw)
            except ValueError:
                pass
        return response.status, raw.decode(errors="replace")

    def reset_session(self) -> None:
        self.cookies.clear()
        self.state.clear()

    def close(self) -> None:
        self.conn.close()


# --- Shops ---------------------------------------------------------------------------------


class StorefrontShop:
    """Storefront's checkout API; customers are created beforehand (bench/storefront_setup.py)."""

    name = "storefront"

    def __init__(self, *, host: str, port: int, dsn: str, emails: list[str], password: str):
        self.host, self.port, self.dsn = host, port, dsn
        self.emails, self.password = emails, password
        self.tokens: dict[int, str] = {}

    def probe(self) -> str | None:
        """None if the checkout endpoints answer, else why not."""
        client = HttpClient(self.host, self.port)
        status, _ = client.request("POST", "/api/auth/token/", {"email": "", "password": ""})
        if status in (0, 404, 405):
            return f"POST /api/auth/token/ answered {status}"
        for path in ("/api/cart/items/", "/api/orders/"):
            status, _ = client.request("POST", path, {})
            if status in (0, 404, 405):
                return f"POST {path} answered {status}"
        return None

    def customer(self, index: int) -> HttpClient:
        client = HttpClient(self.host, self.port)
        if index not in self.tokens:
            status, data = client.request(
                "POST", "/api/auth/token/", {"email": self.emails[index], "password": self.password}
            )
            if status != 200 or not isinstance(data, dict) or "token" not in data:
                raise RuntimeError(f"Storefront login failed for customer {index}: {status} {data}")
            self.tokens[index] = data["token"]
        client.headers["Authorization"] = f"Token {self.tokens[index]}"
        return client

    def add(self, client: HttpClient, variant_id: int, quantity: int = 1) -> int:
        status, _ = client.request(
            "POST", "/api/cart/items/", {"variant_id": variant_id, "quantity": quantity}
        )
        return status

    def checkout(self, client: HttpClient) -> int:
        status, _ = client.request("POST", "/api/orders/", storefront_order_body())
        return status

    def clear(self, client: HttpClient) -> None:
        status, cart = client.request("GET", "/api/cart/")
        if status == 200 and isinstance(cart, dict):
            for item in cart.get("items", []):
                client.request("DELETE", f"/api/cart/items/{item['id']}/")

    # Database side: stock before, units sold and stock after.
    def set_stock(self, variant_ids: list[int], stock: int) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(
                "UPDATE catalog_productvariant SET stock_quantity = %s WHERE id = ANY(%s)",
                [stock, variant_ids],
            )

    def last_order_id(self) -> int:
        with psycopg.connect(self.dsn) as conn:
            return conn.execute("SELECT COALESCE(max(id), 0) FROM orders_order").fetchone()[0]

    def sold_since(self, order_id: int) -> dict[int, int]:
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute(
                """
                SELECT variant_id, sum(quantity) FROM orders_orderitem
                WHERE order_id > %s GROUP BY variant_id
                """,
                [order_id],
            ).fetchall()
        return {variant: int(units) for variant, units in rows}

    def stock_left(self, variant_ids: list[int]) -> dict[int, int]:
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute(
                "SELECT id, stock_quantity FROM catalog_productvariant WHERE id = ANY(%s)",
                [variant_ids],
            ).fetchall()
        return dict(rows)

    def orders_since(self, order_id: int) -> int:
        with psycopg.connect(self.dsn) as conn:
            query = "SELECT count(*) FROM orders_order WHERE id > %s"
            return conn.execute(query, [order_id]).fetchone()[0]

    def extras_since(self, order_id: int) -> dict[str, int]:
        """The orders after `order_id`, and how many of them were charged the bench's
        shipping method (shipping_total > 0), tax (tax_total > 0) and took its voucher."""
        with psycopg.connect(self.dsn) as conn:
            row = conn.execute(
                """
                SELECT count(*),
                       count(*) FILTER (WHERE shipping_method_code = %(method)s
                                          AND shipping_total > 0),
                       count(*) FILTER (WHERE tax_total > 0),
                       count(*) FILTER (WHERE voucher_code = %(voucher)s)
                FROM orders_order WHERE id > %(after)s
                """,
                {"method": SHIPPING_METHOD, "voucher": VOUCHER_CODE, "after": order_id},
            ).fetchone()
        return dict(zip(("orders", "shipping", "tax", "voucher"), row, strict=True))


class OscarShop:
    """django-oscar-api as a guest: one session (cookie) and so one basket per customer.

    Catalog variant v is Oscar child product `products + v` with stock record id v
    (bench/loaders.py).
    """

    name = "oscar"

    def __init__(self, *, host: str, port: int, dsn: str, products: int):
        self.host, self.port, self.dsn, self.products = host, port, dsn, products

    def probe(self) -> str | None:
        client = HttpClient(self.host, self.port)
        status, _ = client.request("GET", "/api/basket/")
        return None if status == 200 else f"GET /api/basket/ answered {status}"

    def customer(self, index: int) -> HttpClient:
        client = HttpClient(self.host, self.port)
        client.state["email"] = f"guest{index}@bench.invalid"
        return client

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def add(self, client: HttpClient, variant_id: int, quantity: int = 1) -> int:
        url = f"{self.base}/api/products/{self.products + variant_id}/"
        status, data = client.request(
            "POST", "/api/basket/add-product/", {"url": url, "quantity": quantity}
        )
        if status == 200 and isinstance(data, dict):
            client.state["basket"] = data["url"]
        return status

    def checkout(self, client: HttpClient) -> int:
        """Add the voucher to the basket (Oscar's API takes it only there, once the basket
        holds what it discounts; each order has a new basket), then check out. A voucher
        refused is the checkout's status: the order is not placed without it."""
        status, _ = client.request(
            "POST", "/api/basket/add-voucher/", {"vouchercode": VOUCHER_CODE}
        )
        if status != 200:
            return status
        email = client.state.get("email", "guest@bench.invalid")
        status, _ = client.request(
            "POST", "/api/checkout/", oscar_order_body(self.base, client.state.get("basket"), email)
        )
        if status == 200:
            client.state.pop("basket", None)
        return status

    def clear(self, client: HttpClient) -> None:
        email = client.state.get("email")
        client.reset_session()
        client.state["email"] = email

    def set_stock(self, variant_ids: list[int], stock: int) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(
                """
                UPDATE partner_stockrecord SET num_in_stock = %s, num_allocated = 0
                WHERE id = ANY(%s)
                """,
                [stock, variant_ids],
            )

    def last_order_id(self) -> int:
        with psycopg.connect(self.dsn) as conn:
            return conn.execute("SELECT COALESCE(max(id), 0) FROM order_order").fetchone()[0]

    def sold_since(self, order_id: int) -> dict[int, int]:
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute(
                """
                SELECT stockrecord_id, sum(quantity) FROM order_line
                WHERE order_id > %s GROUP BY stockrecord_id
                """,
                [order_id],
            ).fetchall()
        return {variant: int(units) for variant, units in rows}

    def stock_left(self, variant_ids: list[int]) -> dict[int, int]:
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute(
                """
                SELECT id, num_in_stock - COALESCE(num_allocated, 0) FROM partner_stockrecord
                WHERE id = ANY(%s)
                """,
                [variant_ids],
            ).fetchall()
        return dict(rows)

    def orders_since(self, order_id: int) -> int:
        with psycopg.connect(self.dsn) as conn:
            query = "SELECT count(*) FROM order_order WHERE id > %s"
            return conn.execute(query, [order_id]).fetchone()[0]

    def extras_since(self, order_id: int) -> dict[str, int]:
        """The orders after `order_id`, and how many of them were charged the bench's
        shipping method (shipping_excl_tax > 0), tax (total_incl_tax > total_excl_tax) and
        hold a discount of its voucher."""
        with psycopg.connect(self.dsn) as conn:
            row = conn.execute(
                """
                SELECT count(*),
                       count(*) FILTER (WHERE o.shipping_code = %(method)s
                                          AND o.shipping_excl_tax > 0),
                       count(*) FILTER (WHERE o.total_incl_tax > o.total_excl_tax),
                       count(*) FILTER (WHERE EXISTS (
                           SELECT 1 FROM order_orderdiscount d
                           WHERE d.order_id = o.id AND d.voucher_code = %(voucher)s
                             AND d.amount > 0))
                FROM order_order o WHERE o.id > %(after)s
                """,
                {"method": SHIPPING_METHOD, "voucher": VOUCHER_CODE, "after": order_id},
            ).fetchone()
        return dict(zip(("orders", "shipping", "tax", "voucher"), row, strict=True))


# --- Workloads -----------------------------------------------------------------------------


def _ms_percentile(samples: list[float], pct: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[index] * 1000, 2)


@dataclass
class _Tally:
    orders: int = 0
    statuses: Counter = field(default_factory=Counter)
    add_seconds: list[float] = field(default_factory=list)
    checkout_seconds: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _oversell(shop, variant_ids: list[int], start_stock: int, first_order: int) -> dict:
    sold = shop.sold_since(first_order)
    left = shop.stock_left(variant_ids)
    oversold = {v: units - start_stock for v, units in sold.items() if units > start_stock}
    # Sold + left must equal the starting stock; anything else is lost or invented stock.
    drift = {
        v: start_stock - sold.get(v, 0) - left.get(v, 0)
        for v in variant_ids
        if start_stock - sold.get(v, 0) != left.get(v, 0)
    }
    return {
        "units_sold": sum(sold.values()),
        "oversold_units": sum(oversold.values()),
        "oversold_variants": len(oversold),
        "stock_mismatch_variants": len(drift),
    }


def run_checkout(
    shop,
    *,
    customers: int,
    variant_ids: list[int],
    seconds: float,
    stock: int,
    seed: int = 1,
    started: threading.Event | None = None,
) -> dict:
    """Run `customers` concurrent buyers for `seconds`; return throughput and oversell counts.

    `started`, if given, is set the moment the buyers start (after logging in and emptying
    their carts), so that another load can run during exactly the same seconds.
    """
    clients = [shop.customer(i) for i in range(customers)]
    for client in clients:
        shop.clear(client)
    shop.set_stock(variant_ids, stock)
    first_order = shop.last_order_id()
    tally = _Tally()
    start_gate = threading.Barrier(customers + 1)
    deadline_box: list[float] = []

    def buyer(index: int) -> None:
        client = clients[index]
        rng = random.Random(seed * 1000 + index)
        adds, checkouts, statuses, orders = [], [], Counter(), 0
        start_gate.wait()
        deadline = deadline_box[0]
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            status = shop.add(client, rng.choice(variant_ids), 1)
            adds.append(time.monotonic() - t0)
            statuses[f"add {status}"] += 1
            if not 200 <= status < 300:
                shop.clear(client)
                continue
            t0 = time.monotonic()
            status = shop.checkout(client)
            checkouts.append(time.monotonic() - t0)
            statuses[f"checkout {status}"] += 1
            if 200 <= status < 300:
                orders += 1
            else:
                shop.clear(client)
        client.close()
        with tally.lock:
            tally.orders += orders
            tally.statuses.update(statuses)
            tally.add_seconds += adds
            tally.checkout_seconds += checkouts

    threads = [threading.Thread(target=buyer, args=(i,), daemon=True) for i in range(customers)]
    for thread in threads:
        thread.start()
    deadline_box.append(time.monotonic() + seconds)
    began = time.monotonic()
    start_gate.wait()
    if started is not None:
        started.set()
    for thread in threads:
        thread.join(timeout=seconds + 4 * REQUEST_TIMEOUT)
    elapsed = time.monotonic() - began
    server_errors = sum(n for key, n in tally.statuses.items() if key.split()[1][0] in "05")
    extras = shop.extras_since(first_order)
    return {
        "system": shop.name,
        "customers": customers,
        "seconds": round(elapsed, 2),
        "orders": tally.orders,
        "orders_db": extras["orders"],
        "extras": extras,
        "extras_complete": extras_complete(extras),
        "orders_per_s": round(tally.orders / elapsed, 1),
        "add_p50_ms": _ms_percentile(tally.add_seconds, 50),
        "add_p99_ms": _ms_percentile(tally.add_seconds, 99),
        "checkout_p50_ms": _ms_percentile(tally.checkout_seconds, 50),
        "checkout_p99_ms": _ms_percentile(tally.checkout_seconds, 99),
        "statuses": dict(sorted(tally.statuses.items())),
        "server_errors": server_errors,
        "pool_variants": len(variant_ids),
        "start_stock": stock,
        **_oversell(shop, variant_ids, stock, first_order),
    }


def run_race(shop, *, variant_id: int, buyers: int = 50, stock: int = 10) -> dict:
    """`buyers` customers with one unit each of `variant_id` (stock `stock`) check out at once."""
    clients = [shop.customer(i) for i in range(buyers)]
    shop.set_stock([variant_id], stock)
    add_statuses = Counter()
    for client in clients:
        shop.clear(client)
        add_statuses[shop.add(client, variant_id, 1)] += 1
    first_order = shop.last_order_id()
    gate = threading.Barrier(buyers)
    statuses: list[int] = []
    lock = threading.Lock()

    def buyer(client: HttpClient) -> None:
        gate.wait()
        status = shop.checkout(client)
        with lock:
            statuses.append(status)
        client.close()

    threads = [threading.Thread(target=buyer, args=(c,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=4 * REQUEST_TIMEOUT)
    sold = shop.sold_since(first_order).get(variant_id, 0)
    left = shop.stock_left([variant_id])[variant_id]
    counts = Counter(statuses)
    extras = shop.extras_since(first_order)
    return {
        "system": shop.name,
        "buyers": buyers,
        "start_stock": stock,
        "add_statuses": {str(k): v for k, v in sorted(add_statuses.items())},
        "checkout_statuses": {str(k): v for k, v in sorted(counts.items())},
        "orders": extras["orders"],
        "extras": extras,
        "extras_complete": extras_complete(extras),
        "units_sold": sold,
        "stock_left": left,
        "oversold_units": max(0, sold - stock),
        "server_errors": sum(n for status, n in counts.items() if status == 0 or status >= 500),
    }
