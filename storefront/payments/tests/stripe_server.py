"""A fake Stripe API on loopback, for running the real `stripe` SDK in tests.

FakeStripe answers the few endpoints StripeProvider calls with the shapes of Stripe's API
reference (https://docs.stripe.com/api): form-encoded requests with nested keys
(`metadata[order_id]=7`, `expand[0]=latest_charge`), JSON objects carrying their "object"
name, errors as {"error": {type, code, decline_code, message, param, payment_intent}} with
Stripe's status codes (400 invalid request, 401 bad key, 402 card error, 404 no such object).

    POST /v1/payment_intents                 create (confirm=true confirms at once)
    GET  /v1/payment_intents/{id}            retrieve (?expand[]=latest_charge)
    POST /v1/payment_intents/{id}/confirm    with payment_method
    POST /v1/payment_intents/{id}/capture    amount_to_capture (default: all)
    POST /v1/payment_intents/{id}/cancel
    POST /v1/refunds                         payment_intent, amount (default: what is left)

Idempotency-Key is honoured as Stripe does: a POST repeated with the same key and parameters
is answered with the first response (header Idempotent-Replayed: true) and does nothing
again; the same key with other parameters is refused (400 idempotency_error). Results are
kept for 2xx and 402 answers, not for requests that failed validation. `charges_created`
counts the charges (payment attempts) made, so a test can assert a retry charged once.

Test payment methods (Stripe's own names, https://docs.stripe.com/testing):
pm_card_visa succeeds; pm_card_chargeDeclined is declined (card_declined, decline code
generic_decline); pm_card_chargeDeclinedInsufficientFunds is declined (card_declined,
decline code insufficient_funds); pm_card_authenticationRequired asks for 3-D Secure: the
PaymentIntent waits in requires_action until complete_action() plays the customer's bank.

signed_event() builds an Event payload and its Stripe-Signature header exactly as Stripe
signs webhooks: `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>" with the secret>`.
"""

import contextlib
import hashlib
import hmac
import json
import re
import secrets
import string
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SECRET_KEY = "sk_test_storefront_fake"
WEBHOOK_SECRET = "whsec_storefront_fake"
API_VERSION = "2026-10-28.endive"

SUCCEEDS = "pm_card_visa"
DECLINED = "pm_card_chargeDeclined"
INSUFFICIENT_FUNDS = "pm_card_chargeDeclinedInsufficientFunds"
AUTHENTICATION_REQUIRED = "pm_card_authenticationRequired"
# Test payment method -> (error code, decline code) of its decline; None: it pays.
PAYMENT_METHODS: dict[str, tuple[str, str] | None] = {
    SUCCEEDS: None,
    AUTHENTICATION_REQUIRED: None,
    DECLINED: ("card_declined", "generic_decline"),
    INSUFFICIENT_FUNDS: ("card_declined", "insufficient_funds"),
}
DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
}
CANCELABLE = frozenset(
    {
        "requires_payment_method",
        "requires_capture",
        "requires_confirmation",
        "requires_action",
        "processing",
    }
)
CONFIRMABLE = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})


class StripeError(Exception):
    """An error answer: `status` and the body's `error` object."""

    def __init__(self, status: int, **error: Any):
        super().__init__(error.get("message", ""))
        self.status = status
        self.error = {key: value for key, value in error.items() if value is not None}


def _id(prefix: str, length: int = 24) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding back to nested data: `a[b]=1` -> {"a": {"b": "1"}}, and
    `a[0]=x&a[1]=y` -> {"a": ["x", "y"]}. Values stay strings, as the API receives them."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if parts:
            node[parts[-1]] = value
    return _lists(data)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        return [_lists(node[key]) for key in sorted(node, key=int)]
    return {key: _lists(value) for key, value in node.items()}


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe sends with `payload` (the raw JSON body)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(
        secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={signature}"


def event(type: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """A Stripe Event of `type` (e.g. "payment_intent.succeeded") about `obj` (a snapshot
    of the object, as webhooks carry it)."""
    return {
        "id": event_id or _id("evt_"),
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }


def signed_event(
    type: str,
    obj: dict[str, Any],
    *,
    secret: str = WEBHOOK_SECRET,
    event_id: str | None = None,
) -> tuple[str, str]:
    """(payload, Stripe-Signature header) of an Event of `type` about `obj`, signed with
    `secret` as Stripe signs its webhook deliveries."""
    payload = json.dumps(event(type, obj, event_id=event_id))
    return payload, sign(payload, secret)


class FakeStripe:
    """The fake API's state (PaymentIntents, charges, refunds, idempotent results) and its
    HTTP server on 127.0.0.1, on a free port. Use as a context manager or start()/stop()."""

    def __init__(self, secret_key: str = SECRET_KEY):
        self.secret_key = secret_key
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        # Every request: (method, path, params, Idempotency-Key or None).
        self.requests: list[tuple[str, str, dict[str, Any], str | None]] = []
        self.charges_created = 0
        self.replayed = 0
        self._results: dict[str, tuple[str, dict[str, Any], int, dict[str, Any]]] = {}
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeStripe":
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeStripe":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # --- what a test drives directly ----------------------------------------------------

    def complete_action(self, intent_id: str, *, succeed: bool = True) -> dict[str, Any]:
        """The customer's bank answers 3-D Secure for `intent_id` (requires_action): it is
        then charged (succeeded, or requires_capture with manual capture), or its attempt
        fails (requires_payment_method with last_payment_error
        payment_intent_authentication_failure). Returns the PaymentIntent."""
        with self._lock:
            intent = self.payment_intents[intent_id]
            assert intent["status"] == "requires_action", intent["status"]
            intent["next_action"] = None
            if succeed:
                self._charge(intent, intent["payment_method"])
            else:
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = {
                    "type": "invalid_request_error",
                    "code": "payment_intent_authentication_failure",
                    "message": "The provided PaymentMethod has failed authentication.",
                    "payment_method": {"id": intent["payment_method"], "object": "payment_method"},
                }
            return self._copy(intent)

    def pay_in_browser(self, intent_id: str, payment_method: str = SUCCEEDS) -> dict[str, Any]:
        """Confirm `intent_id` as Stripe.js does in the customer's browser (with the client
        secret, never through Storefront). Returns the PaymentIntent (declines included)."""
        with self._lock:
            intent = self.payment_intents[intent_id]
            with contextlib.suppress(StripeError):  # A decline is recorded on the intent.
                self._confirm(intent, payment_method)
            return self._copy(intent)

    def refund_in_dashboard(self, intent_id: str, amount: int) -> dict[str, Any]:
        """Refund `amount` (minor units) of `intent_id`'s charge as staff would in the Stripe
        dashboard; return the charge (the object of the charge.refunded event)."""
        with self._lock:
            refund = self._refund({"payment_intent": intent_id, "amount": str(amount)})
            charge = self._copy(self.charges[refund["charge"]])
            charge["refunds"] = {
                "object": "list",
                "data": [self._copy(refund)],
                "has_more": False,
                "url": f"/v1/charges/{charge['id']}/refunds",
            }
            return charge

    def intent(self, intent_id: str) -> dict[str, Any]:
        """A snapshot of the PaymentIntent `intent_id`, as a webhook event carries it."""
        with self._lock:
            return self._copy(self.payment_intents[intent_id])

    def keys_sent(self) -> list[str | None]:
        """The Idempotency-Key of every POST received, in order."""
        return [key for method, _, _, key in self.requests if method == "POST"]

    # --- the API ------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Answer one request: (status, JSON body, extra headers)."""
        key = headers.get("idempotency-key")
        with self._lock:
            self.requests.append((method, path, params, key))
            if headers.get("authorization") != f"Bearer {self.secret_key}":
                return self._error(
                    StripeError(
                        401, type="invalid_request_error", message="Invalid API Key provided."
                    )
                )
            if method == "POST" and key:
                kept = self._results.get(key)
                if kept is not None:
                    if kept[:2] != (path, params):
                        return self._error(
                            StripeError(
                                400,
                                type="idempotency_error",
                                message="Keys for idempotent requests can only be used with "
                                "the same parameters they were first used with.",
                            )
                        )
                    self.replayed += 1
                    return kept[2], kept[3], {"Idempotent-Replayed": "true"}
            try:
                status, body = HTTPStatus.OK, self._route(method, path, params)
            except StripeError as error:
                status, body = error.status, {"error": error.error}
            if method == "POST" and key and (status < 300 or status == 402):
                self._results[key] = (path, params, status, body)
            return status, body, {}

    def _route(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        parts = path.strip("/").split("/")
        if parts[:2] == ["v1", "payment_intents"]:
            if method == "POST" and len(parts) == 2:
                return self._create_intent(params)
            if len(parts) >= 3:
                intent = self._find_intent(parts[2])
                action = parts[3] if len(parts) == 4 else None
                if method == "GET" and len(parts) == 3:
                    return self._shown(intent, params)
                if method == "POST" and action == "confirm":
                    self._confirm(intent, params.get("payment_method", intent["payment_method"]))
                    return self._copy(intent)
                if method == "POST" and action == "capture":
                    return self._capture(intent, params)
                if method == "POST" and action == "cancel":
                    return self._cancel(intent, params)
        if parts == ["v1", "refunds"] and method == "POST":
            return self._refund(params)
        raise StripeError(
            404,
            type="invalid_request_error",
            message=f"Unrecognized request URL ({method}: {path}).",
        )

    def _create_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            amount = int(params["amount"])
        except (KeyError, ValueError):
            raise StripeError(
                400,
                type="invalid_request_error",
                code="parameter_missing",
                param="amount",
                message="Missing required param: amount.",
            ) from None
        if amount < 1:
            raise StripeError(
                400,
                type="invalid_request_error",
                code="amount_too_small",
                param="amount",
                message="Amount must be at least 1.",
            )
        intent_id = _id("pi_")
        intent: dict[str, Any] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": params.get("capture_method", "automatic_async"),
            "client_secret": f"{intent_id}_secret_{_id('', 25)}",
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "currency": params["currency"],
            "description": params.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": params.get("metadata", {}),
            "next_action": None,
            "payment_method": params.get("payment_method"),
            "payment_method_types": params.get("payment_method_types", ["card"]),
            "status": "requires_payment_method",
        }
        self.payment_intents[intent_id] = intent
        if params.get("confirm") == "true":
            self._confirm(intent, params.get("payment_method"))
        return self._copy(intent)

    def _find_intent(self, intent_id: str) -> dict[str, Any]:
        intent = self.payment_intents.get(intent_id)
        if intent is None:
            raise StripeError(
                404,
                type="invalid_request_error",
                code="resource_missing",
                param="intent",
                message=f"No such payment_intent: '{intent_id}'",
            )
        return intent

    def _confirm(self, intent: dict[str, Any], payment_method: str | None) -> None:
        if intent["status"] not in CONFIRMABLE:
            raise self._unexpected_state(intent, "confirm")
        if payment_method not in PAYMENT_METHODS:
            raise StripeError(
                400,
                type="invalid_request_error",
                code="resource_missing",
                param="payment_method",
                message=f"No such PaymentMethod: '{payment_method}'",
            )
        intent["payment_method"] = payment_method
        intent["last_payment_error"] = None
        if payment_method == AUTHENTICATION_REQUIRED:
            intent["status"] = "requires_action"
            intent["next_action"] = {
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {
                    "type": "three_d_secure_redirect",
                    "stripe_js": f"https://hooks.stripe.com/3d_secure_2/hosted?intent={intent['id']}",
                    "source": _id("src_"),
                },
            }
            return
        self._charge(intent, payment_method)

    def _charge(self, intent: dict[str, Any], payment_method: str) -> None:
        """One payment attempt on `intent`: a charge, succeeded or failed."""
        self.charges_created += 1
        decline = PAYMENT_METHODS.get(payment_method)
        manual = intent["capture_method"] == "manual"
        charge = {
            "id": _id("ch_"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": 0 if decline or manual else intent["amount"],
            "amount_refunded": 0,
            "captured": not (decline or manual),
            "created": int(time.time()),
            "currency": intent["currency"],
            "failure_code": decline[0] if decline else None,
            "failure_message": DECLINE_MESSAGES[decline[1]] if decline else None,
            "livemode": False,
            "metadata": intent["metadata"],
            "outcome": {
                "type": "issuer_declined" if decline else "authorized",
                "reason": decline[1] if decline else None,
            },
            "paid": not decline,
            "payment_intent": intent["id"],
            "payment_method": payment_method,
            "refunded": False,
            "status": "failed" if decline else "succeeded",
        }
        self.charges[charge["id"]] = charge
        intent["latest_charge"] = charge["id"]
        if decline:
            code, decline_code = decline
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {
                "type": "card_error",
                "code": code,
                "decline_code": decline_code,
                "message": DECLINE_MESSAGES[decline_code],
                "charge": charge["id"],
                "payment_method": {"id": payment_method, "object": "payment_method"},
            }
            raise StripeError(
                402,
                type="card_error",
                code=code,
                decline_code=decline_code,
                message=DECLINE_MESSAGES[decline_code],
                charge=charge["id"],
                payment_intent=self._copy(intent),
            )
        if manual:
            intent["status"] = "requires_capture"
            intent["amount_capturable"] = intent["amount"]
        else:
            intent["status"] = "succeeded"
            intent["amount_received"] = intent["amount"]

    def _capture(self, intent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        if intent["status"] != "requires_capture":
            raise self._unexpected_state(intent, "capture")
        amount = int(params.get("amount_to_capture", intent["amount_capturable"]))
        if not 0 < amount <= intent["amount_capturable"]:
            raise StripeError(
                400,
                type="invalid_request_error",
                code="amount_too_large",
                param="amount_to_capture",
                message="The amount to capture is larger than the amount capturable.",
            )
        charge = self.charges[intent["latest_charge"]]
        charge.update(captured=True, amount_captured=amount)
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        return self._copy(intent)

    def _cancel(self, intent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        if intent["status"] not in CANCELABLE:
            raise self._unexpected_state(intent, "cancel")
        intent.update(
            status="canceled",
            amount_capturable=0,
            canceled_at=int(time.time()),
            cancellation_reason=params.get("cancellation_reason"),
            next_action=None,
        )
        return self._copy(intent)

    def _refund(self, params: dict[str, Any]) -> dict[str, Any]:
        intent = self._find_intent(params.get("payment_intent", ""))
        if intent["status"] != "succeeded":
            raise StripeError(
                400,
                type="invalid_request_error",
                code="charge_not_refundable" if intent["latest_charge"] else "resource_missing",
                message="This PaymentIntent has no successful charge to refund.",
            )
        charge = self.charges[intent["latest_charge"]]
        left = charge["amount_captured"] - charge["amount_refunded"]
        if left <= 0:
            raise StripeError(
                400,
                type="invalid_request_error",
                code="charge_already_refunded",
                message=f"Charge {charge['id']} has already been refunded.",
            )
        amount = int(params.get("amount", left))
        if amount > left:
            raise StripeError(
                400,
                type="invalid_request_error",
                code="amount_too_large",
                param="amount",
                message=f"Refund amount ({amount}) is greater than unrefunded amount ({left}).",
            )
        refund = {
            "id": _id("re_"),
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "created": int(time.time()),
            "currency": charge["currency"],
            "metadata": params.get("metadata", {}),
            "payment_intent": intent["id"],
            "reason": params.get("reason"),
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
        return self._copy(refund)

    def _unexpected_state(self, intent: dict[str, Any], action: str) -> StripeError:
        return StripeError(
            400,
            type="invalid_request_error",
            code="payment_intent_unexpected_state",
            message=f"You cannot {action} this PaymentIntent because it has a status of "
            f"{intent['status']}.",
            payment_intent=self._copy(intent),
        )

    def _shown(self, intent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        shown = self._copy(intent)
        if "latest_charge" in params.get("expand", []) and intent["latest_charge"]:
            shown["latest_charge"] = self._copy(self.charges[intent["latest_charge"]])
        return shown

    @staticmethod
    def _copy(obj: dict[str, Any]) -> dict[str, Any]:
        return json.loads(json.dumps(obj))

    @staticmethod
    def _error(error: StripeError) -> tuple[int, dict[str, Any], dict[str, str]]:
        return error.status, {"error": error.error}, {}


def _handler(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def _answer(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            pairs = parse_qsl(url.query, keep_blank_values=True)
            pairs += parse_qsl(body, keep_blank_values=True)
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, data, extra = fake.handle(method, url.path, decode_form(pairs), headers)
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Request-Id", _id("req_", 14))
            if headers.get("idempotency-key"):
                self.send_header("Idempotency-Key", headers["idempotency-key"])
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # Quiet: the test's output is about the test.

    return Handler
