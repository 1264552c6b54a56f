"""What a database error means for the request that hit it, and the one retry of a conflict.

`failure_of(exc)` sorts PostgreSQL errors into two kinds that are not bugs:

- CONFLICT: the transaction was aborted because of other transactions, and the same work
  may succeed if run again: deadlock_detected (SQLSTATE 40P01), serialization_failure
  (40001). See the PostgreSQL manual, Appendix A (error codes) and 13.2 (isolation).
- OUTAGE: the database cannot be reached or is going away: a connection that cannot be
  opened (refused, timed out: DATABASES OPTIONS connect_timeout) or was lost, SQLSTATE
  class 08 (connection exception), 57P01-57P03 (shutdown, crash, starting up), 53300 (too
  many connections). Django reconnects by itself once the server is back.

Anything else (None) is left alone: a constraint violation is the caller's to handle, and
an unknown error is a bug, answered 500.

`RetryOnConflictMiddleware` runs a view once more when it failed with a CONFLICT, if that is
safe; what is still a CONFLICT or an OUTAGE after it becomes a 503 `service_unavailable`
with `Retry-After` (storefront/core/api/exceptions.py, server_error). Documented in
docs/api.md ("Database conflicts and outages").
"""

import enum
import logging
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar

import psycopg
from django.conf import settings
from django.db import OperationalError, connections, transaction

logger = logging.getLogger(__name__)

CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})
OUTAGE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
# Statements that never change anything, so running them again is harmless. Anything else
# (INSERT, UPDATE, DELETE, WITH ...) counts as a write. A match, not a strip: this runs for
# every statement of every request.
READ_ONLY_STATEMENT = re.compile(
    r"\s*(SELECT|SHOW|SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO)\b", re.IGNORECASE
)


class Failure(enum.Enum):
    """A database error that is no bug: what the client is told, and when to try again."""

    CONFLICT = ("The request clashed with concurrent changes; please retry it.", 1)
    OUTAGE = ("The database is unavailable; please retry shortly.", 5)

    def __init__(self, message: str, retry_after: int) -> None:
        self.message = message
        # Seconds, for the Retry-After header of the 503 answer.
        self.retry_after = retry_after


def failure_of(exc: BaseException | None) -> Failure | None:
    """The kind of `exc`, a Django database error wrapping a psycopg one; None otherwise."""
    if not isinstance(exc, OperationalError):
        return None
    cause = exc.__cause__
    if not isinstance(cause, psycopg.Error):
        return None
    sqlstate = cause.sqlstate
    if sqlstate in CONFLICT_SQLSTATES:
        return Failure.CONFLICT
    # No SQLSTATE: psycopg itself failed to connect or lost the connection.
    if sqlstate is None or sqlstate.startswith("08") or sqlstate in OUTAGE_SQLSTATES:
        return Failure.OUTAGE
    return None


class CommitWatch:
    """Records whether the request did something a second run would repeat: a write that
    committed on this thread's connections (an execute wrapper), or an effect outside the
    database (note_external_effect).

    A write in autocommit mode commits at once; one inside a transaction commits when that
    transaction does (an on_commit callback; a rolled-back transaction never calls it).
    """

    def __init__(self) -> None:
        self.committed = False

    def reset(self) -> None:
        self.committed = False

    def _mark_committed(self) -> None:
        self.committed = True

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not self.committed and not READ_ONLY_STATEMENT.match(sql):
            connection = context["connection"]
            if connection.in_atomic_block:
                transaction.on_commit(self._mark_committed, using=connection.alias)
            else:
                self.committed = True
        return result


_current_watch: ContextVar[CommitWatch | None] = ContextVar("commit_watch", default=None)


@contextmanager
def commit_watch() -> Iterator[CommitWatch]:
    """Watch what the code run inside does that a second run would repeat (CommitWatch):
    its writes on every database, and the effects it notes (note_external_effect)."""
    watch = CommitWatch()
    token = _current_watch.set(watch)
    try:
        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(watch))
            yield watch
    finally:
        _current_watch.reset(token)


def note_external_effect() -> None:
    """Record, before it happens, that the current request changes something outside the
    database that a rollback cannot undo: a payment provider charging or refunding. A request
    that did so is never run again after a conflict (RetryOnConflictMiddleware), so the
    effect cannot happen twice. Does nothing outside commit_watch()."""
    watch = _current_watch.get()
    if watch is not None:
        watch.committed = True


class RetryOnConflictMiddleware:
    """Run the view once more when PostgreSQL aborted it with a CONFLICT (deadlock,
    serialization failure), so that a client never sees the conflict of two transactions it
    did not cause.

    The view is run again only if that cannot repeat an effect or lose input:
    - nothing the view wrote has committed (CommitWatch), e.g. an autocommit UPDATE before
      the transaction that failed, and it made no effect outside the database (a payment
      provider's charge or refund: note_external_effect); no transaction is still open;
    - the request body can be read again: it is read into memory before the view (as Django
      does for a form), which is possible unless it is multipart (file uploads are streamed
      to disk) or larger than DATA_UPLOAD_MAX_MEMORY_SIZE.
    Otherwise, and if the second run fails too, the error goes on to handler500, which
    answers 503 service_unavailable with Retry-After (storefront/core/api/exceptions.py).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with commit_watch() as watch:
            request._retry_on_conflict = _Attempt(watch=watch, replayable=_buffer_body(request))
            return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        attempt = getattr(request, "_retry_on_conflict", None)
        if attempt is not None:
            attempt.view = (view_func, view_args, view_kwargs)
            # Writes before the view (middleware) are not run again, so they do not count.
            attempt.watch.reset()

    def process_exception(self, request, exception):
        attempt = getattr(request, "_retry_on_conflict", None)
        if attempt is None or not attempt.may_retry(exception):
            return None
        attempt.retried = True
        logger.warning(
            "Running %s %s again after a database conflict: %s",
            request.method,
            request.path,
            exception,
        )
        view_func, view_args, view_kwargs = attempt.view
        return view_func(request, *view_args, **view_kwargs)


class _Attempt:
    """One request's state for RetryOnConflictMiddleware."""

    def __init__(self, *, watch: CommitWatch, replayable: bool) -> None:
        self.watch = watch
        self.replayable = replayable
        self.view = None
        self.retried = False

    def may_retry(self, exception: Exception) -> bool:
        return (
            failure_of(exception) is Failure.CONFLICT
            and self.view is not None
            and self.replayable
            and not self.retried
            and not self.watch.committed
            and not any(c.in_atomic_block for c in connections.all(initialized_only=True))
        )


def _buffer_body(request) -> bool:
    """Read the body into memory (request.body) so that a second run of the view can read
    it again; return whether it can be (see RetryOnConflictMiddleware)."""
    if request.content_type.startswith("multipart/"):
        return False
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    if length <= 0:
        return True
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and length > limit:
        return False
    request.body  # noqa: B018 - reading it keeps it (HttpRequest.body).
    return True
