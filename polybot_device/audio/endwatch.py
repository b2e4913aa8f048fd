"""Noticing when the speaker has played the last of a translation, with as few wake-ups as it can.

The state goes back from "speaking" to idle when playback ends. Polling for that every 50 ms would
wake a Pi Zero twenty times a second for nothing; one timer set for the expected end (the playback
thread knows how much is queued) and set again if more arrived meanwhile costs one wake-up per reply."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

MIN_CHECK_S = 0.02
"""The soonest a check is set: a reply that is about to end is not re-checked in a busy loop."""


class PlaybackEndWatch:
    """Calls ``on_end()`` once, on the loop, when ``playing()`` is found false at an expected end."""

    def __init__(self, playing: Callable[[], bool], remaining_s: Callable[[], float],
                 on_end: Callable[[], None]) -> None:
        self._playing = playing
        self._remaining_s = remaining_s
        self._on_end = on_end
        self._timer: asyncio.TimerHandle | None = None

    def watch(self) -> None:
        """Check at the expected end of what is queued now (again later if more was queued)."""
        if self._timer is not None:
            self._timer.cancel()
        delay_s = max(MIN_CHECK_S, self._remaining_s())
        self._timer = asyncio.get_running_loop().call_later(delay_s, self._check)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        if self._playing():
            self.watch()
        else:
            self._on_end()
