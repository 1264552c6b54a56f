"""Fixtures of the webhook tests: a real HTTP receiver on loopback, the verification snippet
of docs/webhooks.md, and endpoints."""

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple

import pytest
from django.conf import settings

from storefront.webhooks.models import WebhookEndpoint

DOC = Path(settings.BASE_DIR) / "docs" / "webhooks.md"
SECRET = "whsec_test-secret-0123456789"


def documented_verifier():
    """verify_signature, as docs/webhooks.md writes it: the code of its one Python block
    under "Verifying a delivery", run as is."""
    text = DOC.read_text()
    section = text[text.index("### Verifying a delivery") :]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)[:1]
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace["verify_signature"]


verify_signature = documented_verifier()


class Received(NamedTuple):
    path: str
    headers: dict[str, str]
    body: bytes


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        server: Receiver = self.server
        server.received.append(Received(self.path, dict(self.headers), body))
        behaviour = server.behaviours.pop(0) if server.behaviours else server.default
        behaviour(self)


def answer(status: int, body: bytes = b"ok", **headers: str):
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def hang(seconds: float):
    """Answer nothing for `seconds` (then 200, to a client long gone)."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        with contextlib.suppress(OSError):
            answer(200)(handler)

    return respond


class Receiver(ThreadingHTTPServer):
    """A webhook receiver on 127.0.0.1: records each request; answers with the next of
    `behaviours` (then `default`: 200 "ok")."""

    daemon_threads = True

    def __init__(self, port: int = 0):
        super().__init__(("127.0.0.1", port), Handler)
        self.received: list[Received] = []
        self.behaviours: list = []
        self.default = answer(200)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"


@contextlib.contextmanager
def serve(server: Receiver) -> Iterator[Receiver]:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serve(Receiver()) as server:
        yield server


def make_endpoint(url: str, events: list[str], **fields) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(url=url, events=events, secret=SECRET, **fields)
