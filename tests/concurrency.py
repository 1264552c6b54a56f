"""Run callables in real threads, each on its own database connection: at the same moment
(run_concurrently), or one while another holds its locks (run_blocked_behind)."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
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

    def behind_barrier(call: Callable[[], Any]) -> Any:
        barrier.wait(timeout=TIMEOUT_SECONDS)
        return call()

    _join(_start([partial(behind_barrier, call) for call in calls], outcomes))
    return outcomes


def run_blocked_behind(
    holder: Callable[[Callable[[], None]], Any], waiter: Callable[[], Any]
) -> tuple[Outcome, Outcome]:
    """Run `waiter` while `holder` holds its locks, each in its own thread; return both
    outcomes (holder's, waiter's).

    `holder(hold)` takes its locks (in a transaction of its own) and calls `hold()` while it
    holds them; `waiter` starts once it does, and `hold()` returns once `waiter`'s connection
    waits for a lock held by `holder`'s (wait_until_blocked_by), so that `holder` goes on,
    commits and lets `waiter` through. Each thread closes its database connection at the end;
    use with @pytest.mark.django_db(transaction=True).
    """
    holding, release = threading.Event(), threading.Event()
    holder_pid: list[int] = []

    def hold() -> None:
        connection.ensure_connection()
        holder_pid.append(connection.connection.info.backend_pid)
        holding.set()
        assert release.wait(TIMEOUT_SECONDS), "the holder was never released"

    def hold_locks() -> Any:
        try:
            return holder(hold)
        finally:
            holding.set()  # Also when `holder` failed before holding: nothing then waits.

    def wait_for_locks() -> Any:
        assert holding.wait(TIMEOUT_SECONDS), "the holder never held its locks"
        return waiter()

    held, waited = Outcome(), Outcome()
    threads = _start([hold_locks, wait_for_locks], [held, waited])
    try:
        assert holding.wait(TIMEOUT_SECONDS), "the holder never held its locks"
        if holder_pid:
            wait_until_blocked_by(holder_pid[0])
    finally:
        release.set()
        _join(threads)
    assert holder_pid, f"the holder failed before holding its locks: {held.error!r}"
    return held, waited


def _start(calls: list[Callable[[], Any]], outcomes: list[Outcome]) -> list[threading.Thread]:
    """Start a thread per call, storing its value or error in its outcome."""

    def run(call: Callable[[], Any], outcome: Outcome) -> None:
        try:
            outcome.value = call()
        except BaseException as error:
            outcome.error = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=item) for item in zip(calls, outcomes, strict=True)
    ]
    for thread in threads:
        thread.start()
    return threads


def _join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(TIMEOUT_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"


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
