"""Reconnect delays: exponential with full jitter, so a hundred kiosks behind one hotel router do
not all knock on the API in the same second after the Wi-Fi comes back."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

CLOCK_RETRY_S = 2.0
"""While the clock is behind (failures.Cause.CLOCK): try again this often, and at once when the
clock is stepped. Not the backoff: the time sync fixes it any second, unasked."""


class Backoff:
    def __init__(self, initial_s: float, cap_s: float, rng: random.Random | None = None) -> None:
        self.initial_s = initial_s
        self.cap_s = cap_s
        self._rng = rng or random.Random()
        self.failures = 0

    def next_delay(self) -> float:
        """Uniform in [0, min(cap, initial * 2**failures)] ("full jitter")."""
        ceiling = min(self.cap_s, self.initial_s * (2 ** min(self.failures, 30)))
        self.failures += 1
        return self._rng.uniform(0.0, ceiling)

    def reset(self) -> None:
        """After a healthy session the next drop starts again from a short delay."""
        self.failures = 0


async def until_clock_steps(max_s: float, poll_s: float = 0.25, step_s: float = 1.0,
                            wall: Callable[[], float] = time.time) -> None:
    """Sleep up to ``max_s``, returning early once the wall clock has been stepped (NTP set it):
    a daemon waiting for the time sync connects the moment it happens, not at its next retry.
    Seen as the gap between the wall clock and the monotonic clock moving by ``step_s`` or more."""
    offset = wall() - time.monotonic()
    deadline = time.monotonic() + max_s
    while (left := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(poll_s, left))
        if abs(wall() - time.monotonic() - offset) >= step_s:
            return
