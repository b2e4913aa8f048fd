"""One clock for the whole suite: how long a test may wait for something, and how it waits.

Every timeout written in tests/ is the seconds a wait may take on an idle machine. ``scaled()``
stretches it by one time factor, so a slow or busy machine (a Pi, CI with neighbours, a CPU hog)
gets more time without anyone editing numbers:

* ``POLYBOT_TEST_TIME_FACTOR=3`` sets the factor (any number > 0; ``1`` pins it, which also turns
  the automatic raise below off).
* Unset, the factor is 1, raised to the machine's load per core when that is above 1 (the 1-minute
  load average divided by the number of CPUs, read once per test process), capped at
  ``AUTO_FACTOR_MAX``. A machine with twice as many runnable tasks as cores gets twice the time.

The factor stretches *waits* only: how long a test waits for an event that should come. It never
stretches a behavioural bound the test asserts (``detection_s < 2.0``), the length of a fault the
test injects, or a finger's press. A wait that times out is a failure either way; a longer wait
only makes the suite slower when something is already broken.

``eventually()`` is the one way to wait for a condition that nothing signals (a file appears, a
counter moves): it polls every ``interval`` seconds and, on timeout, says what it waited for and
the last value it saw. Where something does signal (the simulator's change event, the notify
socket's condition variable, an asyncio.Event), wait on that instead, with ``scaled()`` timeouts.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

ENV = "POLYBOT_TEST_TIME_FACTOR"
AUTO_FACTOR_MAX = 4.0
"""The automatic raise stops here: a machine busier than this needs a factor set on purpose."""
POLL_S = 0.02
"""How often eventually() looks: short next to every wait in the suite, long next to a syscall."""


def factor_from(setting: str | None, load_1min: float, cpus: int) -> float:
    """The time factor for an environment value (or None when unset) and the machine's load."""
    if setting is not None and setting.strip():
        try:
            value = float(setting)
        except ValueError:
            raise ValueError(f"{ENV}: expected a number such as 2 or 1.5, got {setting!r}") from None
        if not value > 0 or value == float("inf"):
            raise ValueError(f"{ENV}: expected a number above 0, got {setting!r}")
        return value
    per_core = load_1min / max(1, cpus)
    return min(AUTO_FACTOR_MAX, max(1.0, per_core))


def _machine_load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:  # no load average on this platform: treat the machine as idle
        return 0.0


@functools.cache
def time_factor() -> float:
    """The suite's time factor, decided once per process (see the module docstring)."""
    return factor_from(os.environ.get(ENV), _machine_load(), os.cpu_count() or 1)


def scaled(seconds: float) -> float:
    """``seconds`` of waiting on an idle machine, stretched by the time factor."""
    return seconds * time_factor()


def eventually(probe: Callable[[], T], timeout: float, what: str, *, until: Callable[[T], object] = bool,
               interval: float = POLL_S) -> T:
    """Call ``probe()`` until ``until(value)`` holds (by default: until the value is truthy), and
    return that value.

    ``timeout`` is seconds on an idle machine (stretched by the time factor). On timeout this fails
    with an AssertionError naming ``what`` and the last value ``probe()`` returned, so a probe that
    returns the thing observed (a count, a list of states) explains its own failure. An exception
    raised by ``probe`` is not swallowed: a check that crashes is a broken test, not a slow one.
    """
    limit = scaled(timeout)
    deadline = time.monotonic() + limit
    while True:
        value = probe()
        if until(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {limit:.1f} s for {what}; last seen: {_short(value)}")
        time.sleep(interval)


def _short(value: object, limit: int = 400) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"
