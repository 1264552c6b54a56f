"""Database conflicts and outages (storefront/core/database.py), with real PostgreSQL errors.

The retry tests force a real deadlock: a partner thread holds a row the view needs and then
asks for one the view holds; PostgreSQL aborts the view's transaction (the partner waits
with a longer deadlock_timeout, so it is never the one chosen).
"""

import json
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
import pytest
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.test import RequestFactory
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from config import urls as project_urls
from storefront.catalog.models import Tag
from storefront.catalog.tests.factories import TagFactory
from storefront.core.api.exceptions import server_error
from storefront.core.database import Failure, commit_watch, failure_of, note_external_effect
from storefront.orders.tests.factories import OrderFactory
from storefront.payments.models import Payment
from storefront.payments.services import authorise_payment, reserve_refund, send_refund
from tests.concurrency import TIMEOUT_SECONDS, deadlocks_detected


@dataclass
class Scenario:
    """What the view below does: rename tags `first` then `second` in one transaction,
    after the partner (if `conflicts` are left) holds `second`."""

    first: int = 0
    second: int = 0
    conflicts: int = 0
    commit_before: bool = False
    external_effect: bool = False
    attempts: int = 0
    partner_ready: queue.Queue = field(default_factory=queue.Queue)
    # One item per round the partner committed (after the deadlock aborted the view).
    partner_done: queue.Queue = field(default_factory=queue.Queue)


scenario = Scenario()


class DeadlockingView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request):
        scenario.attempts += 1
        name = request.data["name"]
        if scenario.attempts > 1:
            # A run again after a deadlock: it would otherwise race the partner, still
            # finishing the round that aborted the first run, for the row it waits on.
            scenario.partner_done.get(timeout=TIMEOUT_SECONDS)
        if scenario.commit_before:
            # An autocommit write before the transaction: running the view again would
            # repeat it.
            TagFactory(name=f"attempt {scenario.attempts}")
        if scenario.conflicts:
            scenario.conflicts -= 1
            scenario.partner_ready.get(timeout=TIMEOUT_SECONDS)
        with transaction.atomic():
            Tag.objects.filter(pk=scenario.first).update(name=name)
            if scenario.external_effect:
                # As a payment provider's charge: done, whatever the transaction does next.
                note_external_effect()
            Tag.objects.filter(pk=scenario.second).update(name=name)
        return Response({"attempts": scenario.attempts})


# The project's URLs and error handlers, and the view above.
urlpatterns = [path("api/test/deadlock/", DeadlockingView.as_view()), *project_urls.urlpatterns]
handler500 = project_urls.handler500


def blocked_by(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [pid]
        )
        return bool(cursor.fetchone()[0])


def partner(rounds: int) -> threading.Thread:
    """A thread that deadlocks with the view `rounds` times, one per attempt of the view."""

    def run() -> None:
        try:
            for _ in range(rounds):
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute("SET LOCAL deadlock_timeout = '20s'")
                    Tag.objects.filter(pk=scenario.second).update(name="partner")
                    pid = connection.connection.info.backend_pid
                    scenario.partner_ready.put(pid)
                    deadline = time.monotonic() + TIMEOUT_SECONDS
                    while not blocked_by(pid):
                        assert time.monotonic() < deadline, "the view never waited"
                        time.sleep(0.02)
                    # The view holds `first` and waits for `second`: this closes the cycle.
                    Tag.objects.filter(pk=scenario.first).update(name="partner")
                scenario.partner_done.put(pid)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.fixture
def deadlocks(request):
    """Set the scenario up with `conflicts` deadlocks; yield a function that runs the view
    (JSON body unless `format` says otherwise) and returns (response, deadlocks detected)."""
    first, second = TagFactory(), TagFactory()

    def run(
        *,
        conflicts: int,
        commit_before: bool = False,
        external_effect: bool = False,
        format: str = "json",
    ):
        global scenario
        scenario = Scenario(
            first=first.pk,
            second=second.pk,
            conflicts=conflicts,
            commit_before=commit_before,
            external_effect=external_effect,
        )
        before = deadlocks_detected()
        thread = partner(conflicts)
        client = APIClient(raise_request_exception=False)
        response = client.post("/api/test/deadlock/", {"name": "renamed"}, format=format)
        thread.join(TIMEOUT_SECONDS)
        assert not thread.is_alive()
        return response, deadlocks_detected() - before

    return run


pytestmark = pytest.mark.urls(__name__)
# The partner's rows must be committed to be seen, so these tests commit for real.
committing = pytest.mark.django_db(transaction=True)


def assert_service_unavailable(response, retry_after: str) -> None:
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == retry_after
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (503, "service_unavailable")
    assert error["message"]


@committing
def test_a_request_aborted_by_a_deadlock_runs_again_and_succeeds(deadlocks):
    response, detected = deadlocks(conflicts=1)

    assert detected == 1
    assert response.status_code == 200, response.content
    assert response.json() == {"attempts": 2}
    # The second run read the same body and did its writes once, after the partner's.
    assert set(Tag.objects.values_list("name", flat=True)) == {"renamed"}


@committing
def test_a_request_aborted_twice_answers_503_and_changes_nothing(deadlocks):
    response, detected = deadlocks(conflicts=2)

    assert detected == 2
    assert_service_unavailable(response, retry_after="1")
    assert scenario.attempts == 2
    assert set(Tag.objects.values_list("name", flat=True)) == {"partner"}


@committing
def test_a_request_that_committed_a_write_before_the_deadlock_is_not_run_again(deadlocks):
    response, detected = deadlocks(conflicts=1, commit_before=True)

    assert detected == 1
    assert_service_unavailable(response, retry_after="1")
    assert scenario.attempts == 1
    assert Tag.objects.filter(name__startswith="attempt").count() == 1


@committing
def test_a_request_that_made_an_effect_outside_the_database_is_not_run_again(deadlocks):
    # A provider charged (note_external_effect) in the transaction the deadlock rolled back:
    # a second run would charge again.
    response, detected = deadlocks(conflicts=1, external_effect=True)

    assert detected == 1
    assert_service_unavailable(response, retry_after="1")
    assert scenario.attempts == 1


@pytest.mark.django_db
def test_charging_and_refunding_through_a_provider_count_as_effects_outside_the_database():
    order = OrderFactory(payment__method=Payment.Method.CARD, payment__amount=Decimal("10.00"))
    with commit_watch() as watch:
        payment = authorise_payment(payment=order.payment, token="tok_success")
    assert watch.committed
    refund = reserve_refund(payment=payment, amount=payment.amount)
    with commit_watch() as watch:
        send_refund(refund=refund)
    assert watch.committed
    with commit_watch() as watch:
        Tag.objects.exists()
    assert not watch.committed


@committing
def test_a_multipart_request_is_not_run_again(deadlocks):
    # Its body is streamed (files go to disk), so a second run could not read it.
    response, detected = deadlocks(conflicts=1, format="multipart")

    assert detected == 1
    assert_service_unavailable(response, retry_after="1")
    assert scenario.attempts == 1


# --- What an error means ------------------------------------------------------------------


def caught(call) -> DatabaseError:
    with pytest.raises(DatabaseError) as raised:
        call()
    return raised.value


@committing
def test_a_serialization_failure_is_a_conflict():
    tag = TagFactory()
    settings = connection.settings_dict

    def update_under_a_stale_snapshot():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            Tag.objects.get(pk=tag.pk)  # The snapshot starts here.
            with psycopg.connect(
                host=settings["HOST"],
                port=settings["PORT"],
                user=settings["USER"],
                dbname=settings["NAME"],
                autocommit=True,
            ) as other:
                other.execute("UPDATE catalog_tag SET name = 'other' WHERE id = %s", [tag.pk])
            Tag.objects.filter(pk=tag.pk).update(name="mine")

    error = caught(update_under_a_stale_snapshot)

    assert error.__cause__.sqlstate == "40001"
    assert failure_of(error) is Failure.CONFLICT


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unreachable_database() -> OperationalError:
    """The error of opening a connection to a port where no server listens."""
    unreachable = connection.copy()
    unreachable.settings_dict = {**connection.settings_dict, "PORT": closed_port()}
    try:
        return caught(unreachable.ensure_connection)
    finally:
        unreachable.close()


@pytest.mark.django_db
def test_a_refused_connection_is_an_outage():
    assert failure_of(unreachable_database()) is Failure.OUTAGE


@pytest.mark.django_db
def test_other_database_errors_are_neither():
    TagFactory(slug="taken")

    def duplicate_slug():
        with transaction.atomic():
            Tag.objects.create(name="Again", slug="taken")

    duplicate = caught(duplicate_slug)

    def cancelled_by_statement_timeout():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 1")
            cursor.execute("SELECT pg_sleep(1)")

    cancelled = caught(cancelled_by_statement_timeout)

    assert isinstance(duplicate, IntegrityError)
    assert isinstance(cancelled, OperationalError)
    assert cancelled.__cause__.sqlstate == "57014"
    assert (failure_of(duplicate), failure_of(cancelled), failure_of(RuntimeError())) == (
        None,
        None,
        None,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "content_type"), [("/api/products/", "application/json"), ("/admin/", "text/html")]
)
def test_handler500_answers_503_for_an_outage(path, content_type):
    request = RequestFactory().get(path)
    try:
        raise unreachable_database()
    except OperationalError:
        # Django calls handler500 while it handles the exception.
        response = server_error(request)

    assert response.status_code == 503
    assert response["Retry-After"] == str(Failure.OUTAGE.retry_after)
    assert response["Content-Type"].startswith(content_type)
    if content_type == "application/json":
        body = json.loads(response.content)["error"]
        assert (body["status"], body["code"]) == (503, "service_unavailable")


def test_handler500_answers_500_for_anything_else():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        response = server_error(RequestFactory().get("/api/products/"))

    assert response.status_code == 500
    assert json.loads(response.content)["error"]["code"] == "server_error"


def test_postgresql_connections_time_out_connecting_and_keep_alive():
    from config.settings.base import DATABASE_CONNECT_TIMEOUT, database_config

    options = database_config("postgres://shop@db.example.com:5432/shop")["OPTIONS"]
    assert options["connect_timeout"] == DATABASE_CONNECT_TIMEOUT
    assert (options["keepalives"], options["keepalives_idle"]) == (1, 30)
    assert options["tcp_user_timeout"] == 60_000
    # What the URL says wins.
    assert (
        database_config("postgres://db/shop?connect_timeout=2")["OPTIONS"]["connect_timeout"] == 2
    )
