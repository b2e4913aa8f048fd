"""Playing LED step lists: a pure :class:`Sequencer` (what to show, and until when) and the
:class:`Player` thread that follows it on real time.

A step list is ``((level, seconds), ...)``; a single ``(level, STEADY)`` step is a constant level.
gpiozero's ``blink()`` repeats one on/off pair and cannot show counted codes ("two flashes, pause"),
so each LED gets one thread that plays its list the way gpiozero's own blink thread does: it sleeps
on a condition variable until the next step is due, writes the output only when the level changes,
and never touches the event loop.

The timing lives in the sequencer, which knows no clock and no thread: it is told the time. Tests
drive it, and :class:`~polybot_device.controls.lights.StatusLight` through it, step by step on a
clock of their own, so a pattern's rhythm is checked exactly rather than by sleeping.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

STEADY = math.inf
Steps = tuple[tuple[Any, float], ...]

STALL_RESYNC_S = 0.25
"""A step that should have ended longer ago than this ends now, and the pattern keeps its rhythm
from here: after a stall the LED does not rush through the steps it missed."""


class Sequencer:
    """Which level of which step list shows at a given time.

    ``loop(steps)`` sets the repeating list. ``once(steps)`` plays a list over it once, after which
    the (possibly since changed) repeating list starts again from its first step. Steps are kept on
    absolute times, so a pattern keeps its rhythm however late its player wakes.

    ``due`` is when ``advance()`` must next be called: ``-inf`` right away (the list changed), a
    time (the current step ends then), or None (a steady level: nothing happens until a change).
    """

    def __init__(self, off: Any = 0) -> None:
        self._base: Steps = ((off, STEADY),)
        self._once: Steps | None = None
        self._steps: Steps = self._base
        self._index = -1
        self._ends_at = 0.0
        self.due: float | None = -math.inf

    def loop(self, steps: Steps) -> bool:
        """Repeat ``steps`` (after a confirmation in progress); True if that changed anything."""
        if steps == self._base:
            return False
        self._base = steps
        if self._once is None:
            self._begin(steps)
        return True

    def once(self, steps: Steps) -> None:
        """Play ``steps`` once, now, then go back to the repeating list."""
        self._once = steps
        self._begin(steps)

    def advance(self, now: float) -> Any:
        """Move to the next step at ``now`` and return its level (call when ``due <= now``)."""
        if self._index < 0:
            self._ends_at = now  # a new list starts its clock at the moment it is first shown
        self._index += 1
        if self._index == len(self._steps):
            if self._once is not None:  # the confirmation is over: back to the repeating list
                self._once = None
                self._begin(self._base)
                return self.advance(now)
            self._index = 0
        level, seconds = self._steps[self._index]
        if seconds == STEADY:
            self.due = None
        else:
            self._ends_at += seconds
            if self._ends_at < now - STALL_RESYNC_S:
                self._ends_at = now
            self.due = self._ends_at
        return level

    def _begin(self, steps: Steps) -> None:
        self._steps = steps
        self._index = -1
        self.due = -math.inf


class PlayerLike(Protocol):
    """What :class:`~polybot_device.controls.lights.StatusLight` asks of one LED's player."""

    def loop(self, steps: Steps) -> None: ...
    def once(self, steps: Steps) -> None: ...
    def close(self) -> None: ...


PlayerFactory = Callable[[Callable[[Any], None], str, Any], PlayerLike]
"""``factory(write, name, off)``: a player that calls ``write(level)`` for each change of level."""


class Player:
    """Plays a :class:`Sequencer` on one output from one daemon thread, on ``time.monotonic``.

    Every method is safe from any thread and returns at once. A failing ``write`` is logged and the
    pattern goes on (a broken LED must not kill the thread).
    """

    def __init__(self, write: Callable[[Any], None], name: str, off: Any = 0) -> None:
        self._write = write
        self._off = off
        self._cond = threading.Condition()
        self._sequencer = Sequencer(off)
        self._closed = False
        self._last: Any = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def loop(self, steps: Steps) -> None:
        with self._cond:
            if self._sequencer.loop(steps):
                self._cond.notify_all()

    def once(self, steps: Steps) -> None:
        with self._cond:
            self._sequencer.once(steps)
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                due = self._sequencer.due
                if due is not None and due <= now:
                    self._set(self._sequencer.advance(now))
                else:
                    self._cond.wait(None if due is None else due - now)
            self._set(self._off)

    def _set(self, value: Any) -> None:
        if value == self._last:
            return
        self._last = value
        try:
            self._write(value)
        except Exception:  # a broken LED must not kill the pattern thread
            log.exception("LED write failed")
