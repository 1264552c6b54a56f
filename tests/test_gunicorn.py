"""Production serving: real gunicorn with config/gunicorn.conf.py and production settings.

Each server is a gunicorn of its own on a free port, on the test database, with two workers
of four threads (GUNICORN_WORKERS, GUNICORN_THREADS), i.e. the shipped worker model, smaller.
"""

import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import BinaryIO

import pytest
from django.conf import settings

from storefront.core.servers import database_url_of, free_port

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
WORKERS, THREADS = 2, 4
LIMIT_REQUEST_LINE = 2048
# Each wait gives up after this many seconds (a failure, not a timing check).
ANSWER_TIMEOUT = 10
# A slow client sends its request one byte at a time, this many seconds apart: its headers
# take longer to arrive than ANSWER_TIMEOUT.
SLOW_BYTE_INTERVAL = 0.25
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}  # What the TLS-terminating proxy adds.
METRICS_TOKEN = secrets.token_urlsafe(32)


@contextmanager
def gunicorn(log: BinaryIO | None = None, **env_overrides: str) -> Iterator[int]:
    """Run gunicorn -c config/gunicorn.conf.py with production settings; yield its port.
    Its output goes to `log` when given, else to a temporary file."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url_of(settings.DATABASES["default"]),
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CACHE_URL": settings.CELERY_BROKER_URL,
        "STATIC_ROOT": tempfile.mkdtemp(prefix="storefront-test-static-"),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(WORKERS),
        "GUNICORN_THREADS": str(THREADS),
        "GUNICORN_LIMIT_REQUEST_LINE": str(LIMIT_REQUEST_LINE),
        "METRICS_TOKEN": METRICS_TOKEN,
        **env_overrides,
    }
    command = [str(GUNICORN), "-c", "config/gunicorn.conf.py", "--no-control-socket"]
    with nullcontext(log) if log is not None else tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_answering(port, process, log)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=30)


def wait_until_answering(port: int, process: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            pytest.fail(f"gunicorn exited:\n{log.read().decode(errors='replace')}")
        try:
            get(port, "/api/health/")
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail("gunicorn did not answer within 60 s")


def get(port: int, path: str, headers: dict | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=ANSWER_TIMEOUT)
    connection.request("GET", path, headers={**PROXY_HEADERS, **(headers or {})})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


def raw_exchange(port: int, request: bytes) -> tuple[int, dict, dict]:
    """Send `request` as is; answer (status, headers with lowercase names, JSON body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_TIMEOUT) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, json.loads(body)


@pytest.fixture(scope="module")
def server_log(tmp_path_factory) -> Path:
    """Where the module's server writes its output (gunicorn's and the application's logs)."""
    return tmp_path_factory.mktemp("gunicorn") / "output.log"


@pytest.fixture(scope="module")
def server(django_db_setup, server_log) -> Iterator[int]:
    with server_log.open("wb") as log, gunicorn(log) as port:
        yield port


class SlowClient(threading.Thread):
    """Sends a GET one byte at a time, SLOW_BYTE_INTERVAL apart, until stopped."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.request = b"GET /api/health/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"s" * 40
        self.started_headers = threading.Event()
        self.stopped = threading.Event()
        self.sent = 0

    def run(self) -> None:
        for byte in self.request:
            if self.stopped.wait(SLOW_BYTE_INTERVAL if self.sent else 0):
                break
            self.sock.send(bytes([byte]))
            self.sent += 1
            if self.sent == 2:
                self.started_headers.set()

    def stop(self) -> None:
        self.stopped.set()
        self.join()
        self.sock.close()


def test_other_clients_are_answered_while_slow_clients_hold_all_threads_but_one(server):
    # The probe of the issue: clients sending their headers slowly, more of them than there
    # are workers. gthread with worker_connections = threads tolerates workers x threads - 1.
    slow_clients = [SlowClient(server) for _ in range(WORKERS * THREADS - 1)]
    for client in slow_clients:
        client.start()
    try:
        for client in slow_clients:
            assert client.started_headers.wait(ANSWER_TIMEOUT)
        time.sleep(2 * SLOW_BYTE_INTERVAL)  # Each holds a thread, reading its headers.

        response = get(server, "/api/health/")

        assert response.status == 200
        assert json.loads(response.body)["checks"]["database"] == {"status": "ok"}
        assert all(client.sent < len(client.request) for client in slow_clients)
    finally:
        for client in slow_clients:
            client.stop()


def test_a_request_line_over_the_limit_is_answered_414_in_the_error_shape(server):
    path = "/api/products/?search=" + "a" * LIMIT_REQUEST_LINE
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()

    status, headers, body = raw_exchange(server, request)

    assert status == 414
    assert headers["content-type"] == "application/json"
    assert len(headers["x-request-id"]) == 32
    assert body["error"]["status"] == 414
    assert body["error"]["code"] == "request_line_too_long"
    assert str(LIMIT_REQUEST_LINE) in body["error"]["message"]


def test_a_request_line_under_the_limit_is_served(server):
    response = get(server, "/api/products/?search=" + "a" * (LIMIT_REQUEST_LINE // 2))
    assert response.status == 400  # Django's answer: search takes at most 200 characters.
    assert json.loads(response.body)["error"]["fields"]["search"]


@pytest.mark.parametrize(
    "headers",
    [
        "".join(f"X-Header-{n}: value\r\n" for n in range(101)),  # limit_request_fields: 100
        "X-Large: " + "v" * 8191 + "\r\n",  # limit_request_field_size: 8190
    ],
    ids=["too-many-headers", "too-large-header"],
)
def test_too_many_or_too_large_headers_are_answered_431_in_the_error_shape(server, headers):
    request = f"GET /api/health/ HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode()

    status, headers, body = raw_exchange(server, request)

    assert status == 431
    assert headers["content-type"] == "application/json"
    assert body["error"] == {
        "status": 431,
        "code": "headers_too_large",
        "message": "Too many request header fields, or one too large: at most 100 fields "
        "of 8190 bytes.",
    }


def test_a_request_that_is_not_http_is_answered_400_in_the_error_shape(server):
    status, headers, body = raw_exchange(server, b"HELLO THERE\r\n\r\n")

    assert status == 400
    assert headers["content-type"] == "application/json"
    assert body["error"]["code"] == "bad_request"


def test_health_keeps_a_sane_request_id_and_is_never_cached(server):
    response = get(server, "/api/health/", headers={"X-Request-ID": "probe-1"})
    assert response.status == 200
    assert response.getheader("X-Request-ID") == "probe-1"
    assert response.getheader("Cache-Control").startswith("max-age=0")


def test_health_answers_503_in_the_error_shape_when_the_database_is_down(django_db_setup):
    closed = free_port()
    down = {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed}/storefront",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{closed}/0",
        "CACHE_URL": f"redis://127.0.0.1:{closed}/1",
    }
    with gunicorn(**down) as port:
        response = get(port, "/api/health/")

    assert response.status == 503
    error = json.loads(response.body)["error"]
    assert (error["status"], error["code"]) == (503, "service_unavailable")
    assert response.getheader("Retry-After") == "5"
    assert {name: check["status"] for name, check in error["details"]["checks"].items()} == {
        "database": "down",
        "cache": "down",
        "broker": "down",
    }


# --- Probes, metrics and logs of production ----------------------------------------------


def plain_http_get(port: int, path: str, headers: dict | None = None) -> http.client.HTTPResponse:
    """GET as a probe or a scraper does: straight to gunicorn, without the proxy's headers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=ANSWER_TIMEOUT)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_over_plain_http_without_a_redirect_to_https(server, path):
    response = plain_http_get(server, path)

    assert response.status == 200, response.body
    assert json.loads(response.body)["status"] in {"ok", "ready"}


def test_the_api_over_plain_http_still_redirects_to_https(server):
    assert plain_http_get(server, "/api/health/").status == 301


def metric(body: bytes, name: str, **labels: str) -> float:
    """The value of sample `name` with exactly `labels` in a /metrics answer (0 if absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def test_metrics_add_up_the_requests_of_every_worker(server):
    # Requests spread over both workers; whichever worker answers the scrape counts them all
    # (prometheus-client's multiprocess mode, config/gunicorn.conf.py).
    auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    labels = {"view": "healthz", "method": "GET", "status": "200"}
    before = metric(
        plain_http_get(server, "/metrics", auth).body, "storefront_http_requests_total", **labels
    )
    requests = 40
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        answers = list(pool.map(lambda _: plain_http_get(server, "/healthz"), range(requests)))
    assert all(answer.status == 200 for answer in answers)

    for _ in range(WORKERS * 2):  # Scrapes answered by either worker agree.
        response = plain_http_get(server, "/metrics", auth)
        assert response.status == 200
        assert (
            metric(response.body, "storefront_http_requests_total", **labels) == before + requests
        )


def test_metrics_refuse_a_client_without_the_token(server):
    response = plain_http_get(server, "/metrics", {"Authorization": "Bearer not-the-token"})

    assert response.status == 401
    assert json.loads(response.body)["error"]["status"] == 401


def test_each_request_is_logged_as_one_json_line_with_its_request_id(server, server_log):
    response = get(server, "/api/products/?search=hidden", headers={"X-Request-ID": "json-log-1"})
    assert response.status == 200

    deadline = time.monotonic() + ANSWER_TIMEOUT
    while time.monotonic() < deadline:
        lines = [line for line in server_log.read_text().splitlines() if "json-log-1" in line]
        if lines:
            break
        time.sleep(0.1)
    (line,) = lines  # One line for the request: gunicorn's access log is off.
    record = json.loads(line)
    assert record["logger"] == "storefront.request"
    assert record["level"] == "INFO"
    assert record["request_id"] == "json-log-1"
    assert (record["method"], record["path"], record["status"]) == ("GET", "/api/products/", 200)
    assert record["view"] == "product-list"
    assert record["duration_ms"] >= 0
    assert "time" in record
