"""A front end on another origin buys through the API from the browser: CORS lets its
JavaScript send the Idempotency-Key and read Location, Idempotent-Replayed and X-Request-ID."""

import re
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser, Page

from storefront.catalog.tests.factories import VariantFactory
from storefront.orders.models import Order
from tests.helpers import CHECKOUT, PASSWORD

from .conftest import TIMEOUT_MS

pytestmark = pytest.mark.django_db(transaction=True)

# The front end's page: plain fetch() calls, as a shop's JavaScript would make them.
FRONT_END_PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>Another shop front</title></head><body>
<script>
async function call(api, path, {method = "GET", token, body, headers = {}} = {}) {
  const response = await fetch(api + path, {
    method,
    headers: {
      "Content-Type": "application/json",
      ...(token ? {Authorization: `Token ${token}`} : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: response.status,
    body: await response.json(),
    location: response.headers.get("Location"),
    replayed: response.headers.get("Idempotent-Replayed"),
    requestId: response.headers.get("X-Request-ID"),
  };
}

async function buy({api, email, password, variantId, checkout, idempotencyKey}) {
  const registered = await call(api, "/api/auth/register/",
                                {method: "POST", body: {email, password}});
  const login = await call(api, "/api/auth/token/", {method: "POST", body: {email, password}});
  const token = login.body.token;
  const cart = await call(api, "/api/cart/items/",
                          {method: "POST", token, body: {variant_id: variantId, quantity: 2}});
  const order = {method: "POST", token, body: checkout,
                 headers: {"Idempotency-Key": idempotencyKey}};
  const placed = await call(api, "/api/orders/", order);
  const replayed = await call(api, "/api/orders/", order);
  return {registered, login, cart, placed, replayed};
}
</script>
</body></html>
"""


class FrontEnd(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(FRONT_END_PAGE)))
        self.end_headers()
        self.wfile.write(FRONT_END_PAGE)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def front_end() -> Iterator[str]:
    """The origin of the front end's page: 127.0.0.1 on a port of its own."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FrontEnd)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


@pytest.fixture
def front_end_page(browser: Browser, front_end: str) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(front_end + "/")
    yield page
    context.close()


def test_a_page_on_another_origin_checks_out_with_an_idempotency_key(
    front_end_page, front_end, live_server, settings
):
    # What the operator sets: CORS_ALLOWED_ORIGINS lists the front end's origin.
    settings.CORS_ALLOWED_ORIGINS = [front_end]
    assert not live_server.url.startswith(front_end)
    variant = VariantFactory(stock_quantity=5)

    result = front_end_page.evaluate(
        "buy",
        {
            "api": live_server.url,
            "email": "ada@example.com",
            "password": PASSWORD,
            "variantId": variant.pk,
            "checkout": CHECKOUT,
            "idempotencyKey": str(uuid.uuid4()),
        },
    )

    statuses = [result[step]["status"] for step in ("registered", "login", "cart", "placed")]
    assert statuses == [201, 200, 201, 201]
    placed, replayed = result["placed"], result["replayed"]
    order = Order.objects.get()
    assert placed["location"] == f"{live_server.url}/api/orders/{order.pk}/"
    assert placed["replayed"] is None
    assert (replayed["status"], replayed["replayed"]) == (200, "true")
    assert replayed["body"]["id"] == placed["body"]["id"] == order.pk
    for step in result.values():
        assert re.fullmatch(r"[0-9a-f]{32}", step["requestId"])
    variant.refresh_from_db()
    assert variant.stock_quantity == 3
