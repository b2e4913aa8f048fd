"""Reconnect delays, with plain values: how long a gadget waits before it tries again."""

import asyncio
import random
import time

from polybot_device.realtime.backoff import Backoff, until_clock_steps
from tests.rig.timing import scaled


class Ceiling:
    """A 'random' source that always draws the top of the range: the delays' ceilings, exactly."""

    def uniform(self, low: float, high: float) -> float:
        return high


def test_the_longest_possible_wait_doubles_from_the_first_delay_up_to_the_cap():
    backoff = Backoff(0.5, 10.0, rng=Ceiling())
    assert [backoff.next_delay() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_after_a_healthy_session_the_next_drop_is_retried_quickly_again():
    backoff = Backoff(0.5, 10.0, rng=Ceiling())
    for _ in range(6):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_a_gadget_that_failed_for_days_still_waits_at_most_the_cap():
    backoff = Backoff(0.5, 10.0, rng=Ceiling())
    for _ in range(10_000):
        assert backoff.next_delay() <= 10.0


def test_delays_are_spread_over_the_whole_range_so_a_fleet_does_not_reconnect_in_step():
    """Full jitter: a hundred kiosks behind one router, all dropped at once, come back spread out."""
    draws = []
    for kiosk in range(100):
        backoff = Backoff(0.5, 10.0, rng=random.Random(kiosk))
        for _ in range(5):
            backoff.next_delay()
        draws.append(backoff.next_delay())  # the sixth try: ceiling 10 s
    assert all(0.0 <= d <= 10.0 for d in draws)
    assert min(draws) < 1.0 and max(draws) > 9.0
    assert len({round(d, 1) for d in draws}) > 50


class SteppedWall:
    """The wall clock, stepped forward by an hour (as NTP does on a Pi) once ``step_after_s`` passed."""

    def __init__(self, step_after_s: float) -> None:
        self.step_at = time.monotonic() + step_after_s

    def __call__(self) -> float:
        return time.time() + (3600.0 if time.monotonic() >= self.step_at else 0.0)


def test_waiting_for_the_time_sync_ends_as_soon_as_the_clock_is_stepped():
    started = time.monotonic()
    asyncio.run(until_clock_steps(scaled(30), wall=SteppedWall(0.3)))
    assert time.monotonic() - started < scaled(5), "the next attempt waited for its retry, not for the clock"


def test_without_a_step_the_wait_is_the_whole_retry_delay():
    started = time.monotonic()
    asyncio.run(until_clock_steps(0.6, wall=time.time))
    assert time.monotonic() - started >= 0.6
