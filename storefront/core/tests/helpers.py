"""Small helpers shared by the tests of the circuit breakers (storefront/core/breakers.py)."""

import contextlib
import datetime as dt
import time
from collections.abc import Iterator
from unittest import mock

import circuitbreaker
import time_machine


@contextlib.contextmanager
def travel(seconds: float) -> Iterator[None]:
    """Run the block `seconds` later, on the wall clock (time_machine) and on the clock the
    breakers read: circuitbreaker times its reset on time.monotonic(), which time_machine
    does not move."""
    monotonic = time.monotonic
    with (
        time_machine.travel(dt.timedelta(seconds=seconds)),
        mock.patch.object(circuitbreaker, "monotonic", lambda: monotonic() + seconds),
    ):
        yield
