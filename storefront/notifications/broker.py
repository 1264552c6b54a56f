"""Publishing outbox messages to Celery: short timeouts and a circuit breaker, so a checkout
never waits on a broker that is down or hung for longer than one short timeout.

Publications use a connection of their own (`settings.NOTIFICATIONS_PUBLISH_TIMEOUT` seconds
to connect and per socket operation, no reconnection retries), pooled per process, instead
of the app's default connection: the Celery worker consumes with BRPOP on that default
connection and keeps CELERY_BROKER_TRANSPORT_OPTIONS' longer socket timeout, which must
exceed BRPOP's own wait. The first failure opens the process's breaker for that broker
(storefront/core/breakers.py) for `settings.NOTIFICATIONS_PUBLISH_BREAKER_SECONDS`:
publications then fail at once, without touching the network, until calls probe the
broker again. The breaker is shared by the process's threads and holds no lock while a
publication runs. A failed publication leaves its outbox row to the drain
(services.publish_messages).
"""

import redis
from celery import Celery, Task
from django.conf import settings
from kombu import pools
from kombu.exceptions import OperationalError

from storefront.core import breakers

# What a broker outage raises: kombu wraps connection errors in OperationalError when it
# can; a command that timed out on an open connection may come through as redis' own error.
OUTAGE_ERRORS = (OperationalError, redis.ConnectionError, redis.TimeoutError, OSError)


class BrokerUnavailable(Exception):
    """The broker did not take the message (it failed now or a moment ago)."""


def breaker(url: str) -> breakers.Breaker:
    """The process's breaker for publications to the broker at `url`."""
    return breakers.breaker(
        f"broker {breakers.display_url(url)}",
        reset_seconds=settings.NOTIFICATIONS_PUBLISH_BREAKER_SECONDS,
        outage_errors=OUTAGE_ERRORS,
    )


def publish(task: Task, *args) -> None:
    """Send `task` with positional `args` to the broker once, without retrying.

    Runs the task in-process when the app runs tasks eagerly (tests, `make run` without
    Redis). Raises BrokerUnavailable if the broker failed or the breaker is open.
    """
    conf = task.app.conf
    if conf.task_always_eager:
        task.apply_async(args=args)
        return
    url = conf.broker_write_url
    try:
        breaker(url).call(_send, task, args, url)
    except breakers.CircuitBreakerError as exc:
        raise BrokerUnavailable(str(exc)) from None  # it names the breaker
    except OUTAGE_ERRORS as exc:
        raise BrokerUnavailable(str(exc) or type(exc).__name__) from exc


def publish_each(task: Task, ids: list) -> tuple[int, list, BrokerUnavailable | None]:
    """publish `task` once for each id of `ids`, in order, stopping at the first broker
    outage; return how many were published, the ids left unpublished (the one it failed on
    and those after it) and that outage (None when all were published). Never raises for a
    broker outage: each outbox makes what is left due for its drain."""
    for position, item_id in enumerate(ids):
        try:
            publish(task, item_id)
        except BrokerUnavailable as exc:
            return position, ids[position:], exc
    return len(ids), [], None


def ping(app: Celery) -> None:
    """Check that the broker takes connections, as publish() would reach it: the same short
    timeout, the same breaker, a pooled connection. Raises BrokerUnavailable otherwise.

    For GET /api/health/ (storefront/core/health.py), which must not hold a request thread
    for longer than a publication would while the broker hangs.
    """
    url = app.conf.broker_write_url
    try:
        breaker(url).call(_ping, app, url)
    except breakers.CircuitBreakerError as exc:
        raise BrokerUnavailable(str(exc)) from None
    except OUTAGE_ERRORS as exc:
        raise BrokerUnavailable(str(exc) or type(exc).__name__) from exc


def _connection(app: Celery, url: str):
    """A connection to `url` with the publication timeouts and no retries. Built for each
    call (cheap, no I/O); equal connections share one pool in kombu.pools."""
    timeout = settings.NOTIFICATIONS_PUBLISH_TIMEOUT
    return app.connection_for_write(
        url,
        connect_timeout=timeout,
        transport_options={
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "max_retries": 0,
        },
    )


def _send(task: Task, args: tuple, url: str) -> None:
    timeout = settings.NOTIFICATIONS_PUBLISH_TIMEOUT
    connection = _connection(task.app, url)
    with pools.producers[connection].acquire(block=True, timeout=timeout) as producer:
        task.apply_async(args=args, producer=producer, retry=False)


def _ping(app: Celery, url: str) -> None:
    timeout = settings.NOTIFICATIONS_PUBLISH_TIMEOUT
    with pools.connections[_connection(app, url)].acquire(block=True, timeout=timeout) as conn:
        conn.ensure_connection(max_retries=0)
