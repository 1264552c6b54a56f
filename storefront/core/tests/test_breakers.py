"""The circuit breakers (storefront/core/breakers.py): an outage error opens one, it then
refuses calls without making them, calls probe again after `reset_seconds`, and the threads
that share it are never queued behind one another's calls."""

import threading

import pytest

from storefront.core import breakers
from storefront.core.tests.helpers import travel

RESET_SECONDS = 5
# Bounds the waits of a failing test; a passing one never waits this long.
TIMEOUT_SECONDS = 10


class Outage(Exception):
    """Stands for a timeout or a refused connection."""


@pytest.fixture
def breaker(request) -> breakers.Breaker:
    return breakers.breaker(
        request.node.nodeid, reset_seconds=RESET_SECONDS, outage_errors=(Outage,)
    )


def fail(error: type[Exception] = Outage):
    raise error("the service failed")


class Calls:
    """A guarded function that counts how often the breaker let it run."""

    def __init__(self):
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        return "answer"


def test_the_threads_sharing_a_breaker_are_inside_its_calls_at_the_same_time(breaker):
    # gunicorn's gthread worker runs 8 threads per process (config/gunicorn.conf.py). Each
    # call waits, inside the breaker, until all 8 are inside: a breaker that ran one call
    # at a time would break the barrier (its timeout) instead.
    threads = 8
    inside = threading.Barrier(threads, timeout=TIMEOUT_SECONDS)
    outcomes: list[object] = [None] * threads

    def call(index: int) -> None:
        try:
            outcomes[index] = breaker.call(inside.wait)
        except BaseException as error:
            outcomes[index] = error

    workers = [threading.Thread(target=call, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(TIMEOUT_SECONDS * 2)

    assert set(outcomes) == set(range(threads))  # Barrier.wait's arrival indexes


def test_an_outage_error_opens_the_breaker_which_then_refuses_calls_without_making_them(
    breaker,
):
    guarded = Calls()
    with pytest.raises(Outage):  # the call that opens the breaker raises its own error
        breaker.call(fail)

    with pytest.raises(breakers.CircuitBreakerError) as refused:
        breaker.call(guarded)

    assert guarded.count == 0
    assert breaker.name in str(refused.value)


def test_other_errors_leave_the_breaker_closed(breaker):
    guarded = Calls()
    with pytest.raises(ValueError):
        breaker.call(fail, ValueError)

    assert breaker.call(guarded) == "answer"
    assert guarded.count == 1


def test_after_reset_seconds_a_call_probes_the_service_and_its_success_closes_the_breaker(
    breaker,
):
    guarded = Calls()
    with pytest.raises(Outage):
        breaker.call(fail)

    with travel(RESET_SECONDS - 1), pytest.raises(breakers.CircuitBreakerError):
        breaker.call(guarded)
    with travel(RESET_SECONDS + 1):
        assert breaker.call(guarded) == "answer"  # the probe
        assert breaker.call(guarded) == "answer"  # closed: no longer a probe

    assert guarded.count == 2
    assert breaker.closed


def test_a_probe_that_fails_opens_the_breaker_again_for_reset_seconds(breaker):
    guarded = Calls()
    with pytest.raises(Outage):
        breaker.call(fail)

    with travel(RESET_SECONDS + 1):
        with pytest.raises(Outage):
            breaker.call(fail)  # the probe
        with pytest.raises(breakers.CircuitBreakerError):
            breaker.call(guarded)
    with travel(2 * RESET_SECONDS + 2):
        assert breaker.call(guarded) == "answer"

    assert guarded.count == 1


def test_a_reset_of_zero_seconds_lets_every_call_probe(request):
    breaker = breakers.breaker(request.node.nodeid, reset_seconds=0, outage_errors=(Outage,))
    guarded = Calls()
    with pytest.raises(Outage):
        breaker.call(fail)

    assert breaker.call(guarded) == "answer"
    assert guarded.count == 1


def test_one_breaker_per_name_in_the_process(breaker, request):
    again = breakers.breaker(request.node.nodeid, reset_seconds=1, outage_errors=(KeyError,))

    assert again is breaker


def test_a_breaker_is_named_without_the_credentials_of_its_url():
    assert breakers.display_url("redis://user:secret@cache.internal:6379/0") == (
        "redis://cache.internal:6379/0"
    )
