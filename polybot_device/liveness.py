"""Whether the audio threads still report in: what the watchdog asks before each ping.

Kept apart from the translator so the watchdog's rule (how long a blocking call may last before
systemd should restart us) lives in one place with its reason."""

from __future__ import annotations

import time
from collections.abc import Callable

THREAD_STUCK_AFTER_S = 10.0
"""An audio thread that has not reported in for this long is stuck in a blocking call: the
watchdog stops pinging and systemd restarts the daemon. Waiting for a missing device still
reports in (each open attempt), so a missing mic is not a hang."""

LivenessCheck = Callable[[], str | None]


def thread_check(part: str, last_alive: Callable[[], float | None]) -> LivenessCheck:
    """A check that names ``part`` when its thread has been silent for too long, else None."""
    def check() -> str | None:
        alive_at = last_alive()
        if alive_at is None:
            return None
        silent_s = time.monotonic() - alive_at
        return f"{part} thread silent for {silent_s:.0f} s" if silent_s > THREAD_STUCK_AFTER_S else None
    return check
