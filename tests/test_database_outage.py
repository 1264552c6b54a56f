"""PostgreSQL going away and coming back, seen by clients of a running server.

Django serves real HTTP requests (its WSGI handler, with the request signals that close and
reopen connections) from a private PostgreSQL cluster (tests/pgserver.py) that the tests
stop, hang and start again, with the connection settings of production (persistent
connections with health checks) and the project's connect_timeout.
"""

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.db import connections

from tests.pgserver import PostgresServer, postgres_server

CONNECT_TIMEOUT = settings.DATABASES["default"].get("OPTIONS", {}).get("connect_timeout")
# How long a client waits for an answer before the test calls the request hung.
CLIENT_TIMEOUT_SECONDS = (CONNECT_TIMEOUT or 0) + 15


@pytest.fixture(scope="module")
def cluster(django_db_blocker) -> Iterator[PostgresServer]:
    """A migrated private cluster that Django's default database points at meanwhile."""
    config = connections["default"].settings_dict
    saved = dict(config)
    with postgres_server() as server, django_db_blocker.unblock():
        server.create_database("storefront")
        connections.close_all()
        config.update(HOST="127.0.0.1", PORT=server.port, NAME="storefront")
        try:
            call_command("migrate", verbosity=0, interactive=False)
            connections.close_all()
            yield server
        finally:
            connections.close_all()
            config.clear()
            config.update(saved)


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextmanager
def live_server(*, conn_max_age: int) -> Iterator[str]:
    """Serve the project over HTTP from a thread; yield its base URL."""
    config = connections["default"].settings_dict
    saved = config["CONN_MAX_AGE"], config["CONN_HEALTH_CHECKS"]
    config.update(CONN_MAX_AGE=conn_max_age, CONN_HEALTH_CHECKS=True)
    httpd = make_server("127.0.0.1", 0, WSGIHandler(), handler_class=QuietHandler)

    def serve() -> None:
        try:
            httpd.serve_forever(poll_interval=0.05)
        finally:
            connections.close_all()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(CLIENT_TIMEOUT_SECONDS)
        httpd.server_close()
        config["CONN_MAX_AGE"], config["CONN_HEALTH_CHECKS"] = saved


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def get(base_url: str, target: tuple[str, dict[str, str]]) -> tuple[int, dict, bytes]:
    """GET `target` (path, headers) of the server; return (status, headers, body)."""
    path, headers = target
    opener = urllib.request.build_opener(NoRedirects)
    request = urllib.request.Request(base_url + path, headers=headers)
    try:
        with opener.open(request, timeout=CLIENT_TIMEOUT_SECONDS) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


# Requests that need the database in each kind of view: a public DRF list, a DRF view
# authenticating a token, and the admin reading the session of its cookie.
API_LIST = ("/api/categories/", {})
API_WITH_TOKEN = ("/api/cart/", {"Authorization": "Token 0123456789abcdef"})
ADMIN = ("/admin/", {"Cookie": f"{settings.SESSION_COOKIE_NAME}=no-such-session"})


def assert_service_unavailable(answer, *, api: bool) -> None:
    status, headers, body = answer
    assert status == 503, body
    assert headers["Retry-After"] == "5"
    if api:
        error = json.loads(body)["error"]
        assert (error["status"], error["code"]) == (503, "service_unavailable")
        assert error["message"]
    else:
        assert headers["Content-Type"].startswith("text/html")


def test_requests_answer_503_while_postgresql_is_down_and_normally_once_it_is_back(cluster):
    with live_server(conn_max_age=60) as url:
        assert get(url, API_LIST)[0] == 200
        assert get(url, API_WITH_TOKEN)[0] == 401
        assert get(url, ADMIN)[0] == 302  # To the login page.

        cluster.stop()
        try:
            assert_service_unavailable(get(url, API_LIST), api=True)
            assert_service_unavailable(get(url, API_WITH_TOKEN), api=True)
            assert_service_unavailable(get(url, ADMIN), api=False)
        finally:
            cluster.start()

        # The same process and server thread: its connection was lost and is reopened.
        assert get(url, API_LIST)[0] == 200
        assert get(url, ADMIN)[0] == 302


def test_a_hung_server_answers_503_after_the_connect_timeout_not_never(cluster):
    assert CONNECT_TIMEOUT, "DATABASES OPTIONS has no connect_timeout"
    # A new connection per request, so the request has to connect to the hung server.
    with live_server(conn_max_age=0) as url:
        assert get(url, API_LIST)[0] == 200

        cluster.hang()
        try:
            # Within CLIENT_TIMEOUT_SECONDS, or get() raises TimeoutError.
            assert_service_unavailable(get(url, API_LIST), api=True)
        finally:
            cluster.resume()

        assert get(url, API_LIST)[0] == 200


def readyz(base_url: str) -> tuple[int, dict]:
    status, _, body = get(base_url, ("/readyz", {}))
    return status, json.loads(body)


def test_readyz_answers_503_while_postgresql_is_down_and_200_once_it_is_back(cluster):
    with live_server(conn_max_age=60) as url:
        status, body = readyz(url)
        assert (status, body["status"]) == (200, "ready"), body

        cluster.stop()
        try:
            status, body = readyz(url)
        finally:
            cluster.start()
        assert status == 503
        error = body["error"]
        assert (error["code"], error["message"]) == ("service_unavailable", "Not ready: database.")
        checks = error["details"]["checks"]
        assert checks["database"] == {"status": "down", "error": "OperationalError"}
        # Not tried against a database that is down: each would wait for it again.
        assert checks["migrations"] == checks["outbox"] == {"status": "skipped"}

        assert readyz(url)[0] == 200


def test_readyz_answers_503_on_a_database_without_the_migrations(cluster):
    cluster.create_database("unmigrated")
    config = connections["default"].settings_dict
    connections.close_all()
    config["NAME"] = "unmigrated"
    try:
        with live_server(conn_max_age=0) as url:
            status, body = readyz(url)
    finally:
        connections.close_all()
        config["NAME"] = "storefront"

    assert status == 503
    checks = body["error"]["details"]["checks"]
    assert checks["database"] == {"status": "ok"}
    assert checks["migrations"]["status"] == "down"
    assert checks["migrations"]["error"] == "UnappliedMigrations"
    assert checks["migrations"]["unapplied"] > 0
