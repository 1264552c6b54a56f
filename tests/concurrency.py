"""Run callables at the same moment in real threads, each on its own database connection."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection

TIMEOUT_SECONDS = 60


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None


def run_concurrently(calls: list[Callable[[], Any]]) -> list[Outcome]:
    """Start every call together (behind a barrier) in its own thread; return their outcomes.

    Each thread closes its database connection at the end, so the test database can be
    dropped afterwards. Use with @pytest.mark.django_db(transaction=True): the data the
    threads read must be committed.
    """
    barrier = threading.Barrier(len(calls))
    outcomes = [Outcome() for _ in calls]

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=TIMEOUT_SECONDS)
            outcomes[index].value = call()
        except BaseException as error:
            outcomes[index].error = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
    return outcomes


def deadlocks_detected() -> int:
    """How many deadlocks PostgreSQL has detected in the test database so far
    (pg_stat_database), once every other connection to it has closed: a backend reports
    its count when it exits, so read it after the threads that raced have closed theirs.

    This thread's own connection may have detected one (a request the test client ran): it
    is closed first, outside a transaction, so that its count is reported too instead of
    whenever PostgreSQL next flushes its statistics (up to 10 s later on PostgreSQL 15,
    which would count it in a later test)."""
    if not connection.in_atomic_block:
        connection.close()
    deadline = time.monotonic() + TIMEOUT_SECONDS
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if not cursor.fetchone()[0]:
                break
            assert time.monotonic() < deadline, "another connection to the database stayed open"
            time.sleep(0.05)
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def wait_until_blocked_by(pid: int) -> None:
    """Wait until another backend of the test database waits for a lock held by `pid`."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                [pid],
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the write never waited for the checkout's locks")
