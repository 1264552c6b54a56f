"""Count SQL queries per request, in-process, one request at a time (never under load).

    python -m bench.querycount < spec.json   (inside the system's virtualenv and settings)

spec: {"requests": [{"name", "path"}], "explain": bool, "flow": "storefront"|"oscar"|null,
"products": N, "variant_id": id, "customer": {"email", "password"}}. Each GET is sent once to
warm caches, then once more inside CaptureQueriesContext. With "explain", every SELECT of the
measured request is run again under EXPLAIN (ANALYZE, BUFFERS). The checkout flows count the
queries of adding one unit to the cart and placing the order, with the bench's shipping
method and voucher as the checkout driver sends them (bench/checkout.py; Oscar's voucher is
a request of its own, `voucher_add`). Prints JSON, with the
CATALOG_CACHE_SECONDS the system ran with (Storefront's settings only): the bench counts
Storefront's database path with the response cache off (0), and a cache hit (the second,
identical request) with it on.
"""

import json
import sys

import django


def _count(client, method: str, path: str, **kwargs) -> tuple[int, list[dict], object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as context:
        response = getattr(client, method)(path, **kwargs)
    try:
        body = response.json()
    except (ValueError, TypeError):
        body = None
    return response.status_code, list(context.captured_queries), body


def _explain(queries: list[dict]) -> list[dict]:
    from django.db import connection

    plans = []
    for query in queries:
        sql = query["sql"]
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        plans.append({"sql": sql, "plan": plan})
    return plans


def _cycle(client, steps: list[tuple], **extra) -> dict:
    out = {}
    for name, method, path, data in steps:
        kwargs = dict(extra)
        if data is not None:
            kwargs.update(data=data, content_type="application/json")
        status, queries, body = _count(client, method, path, **kwargs)
        out[name] = {"path": path, "status": status, "queries": len(queries), "body": body}
    return out


def _strip(cycle: dict) -> dict:
    return {name: {k: v for k, v in step.items() if k != "body"} for name, step in cycle.items()}


def storefront_flow(client, spec: dict) -> dict:
    """Queries of one buy (add to cart, read the cart, place the order), second of two cycles.

    The first cycle warms up what only happens once per customer (e.g. creating the cart), so
    the counts are those of a customer's usual purchase. The order is placed with the body
    of the checkout driver (shipping method, voucher, a US address), so with its tax.
    """
    from bench.checkout import storefront_order_body
    from bench.storefront_setup import ensure_customers

    customer = spec["customer"]
    ensure_customers(customer["password"], [customer["email"]])
    status, _, body = _count(
        client, "post", "/api/auth/token/", data=customer, content_type="application/json"
    )
    if status != 200 or not isinstance(body, dict):
        return {"error": f"POST /api/auth/token/ answered {status}"}
    auth = {"HTTP_AUTHORIZATION": f"Token {body['token']}"}
    _, _, cart = _count(client, "get", "/api/cart/", **auth)
    for item in cart.get("items", []) if isinstance(cart, dict) else []:
        client.delete(f"/api/cart/items/{item['id']}/", **auth)
    steps = [
        ("cart_add", "post", "/api/cart/items/", {"variant_id": spec["variant_id"], "quantity": 1}),
        ("cart_get", "get", "/api/cart/", None),
        ("checkout", "post", "/api/orders/", storefront_order_body()),
    ]
    _cycle(client, steps, **auth)
    return _strip(_cycle(client, steps, **auth))


def oscar_flow(client, spec: dict) -> dict:
    """Queries of one guest buy (add to basket, add the voucher, check out with the bench's
    shipping method), second of two cycles."""
    from bench.checkout import VOUCHER_CODE, oscar_order_body

    child = spec["products"] + spec["variant_id"]
    result = {}
    for _ in range(2):
        add = _cycle(
            client,
            [
                (
                    "cart_add",
                    "post",
                    "/api/basket/add-product/",
                    {"url": f"http://127.0.0.1/api/products/{child}/", "quantity": 1},
                )
            ],
        )
        body = add["cart_add"]["body"]
        basket = body.get("url") if isinstance(body, dict) else None
        order = oscar_order_body("http://127.0.0.1", basket, "q@bench.invalid")
        voucher = {"vouchercode": VOUCHER_CODE}
        result = add | _cycle(
            client,
            [
                ("voucher_add", "post", "/api/basket/add-voucher/", voucher),
                ("checkout", "post", "/api/checkout/", order),
            ],
        )
    return _strip(result)


def main() -> None:
    spec = json.load(sys.stdin)
    django.setup()
    from django.conf import settings
    from django.test import Client

    def fresh_client():
        return Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT="application/json")

    out: dict = {"requests": {}, "explain": {}}
    if hasattr(settings, "CATALOG_CACHE_SECONDS"):
        out["catalog_cache_seconds"] = settings.CATALOG_CACHE_SECONDS
    for request in spec["requests"]:
        # A new client (no cookies) for each request, as wrk sends them.
        fresh_client().get(request["path"])
        status, queries, _ = _count(fresh_client(), "get", request["path"])
        out["requests"][request["name"]] = {
            "path": request["path"],
            "status": status,
            "queries": len(queries),
        }
        if spec.get("explain"):
            out["explain"][request["name"]] = _explain(queries)
    flow = spec.get("flow")
    client = fresh_client()
    if flow == "storefront":
        out["requests"].update(storefront_flow(client, spec))
    elif flow == "oscar":
        out["requests"].update(oscar_flow(client, spec))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
