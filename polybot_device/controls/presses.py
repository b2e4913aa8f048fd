"""Presses -> gestures, as a pure state machine: timestamps in, events out, no threads, no clock.

The button layer (button.py) feeds it the edge timestamps it took and asks it what has become certain
by a given time. Because every decision is made from timestamps only, the result does not depend on
when the code happens to run: a timer that fires late, or an edge that is processed late, yields the
same gestures as a perfectly punctual run would.

Rules (``threshold`` is ``long_press_s``, or ``tap_max_s`` with hold-to-talk):

- every press-down emits ``pressed`` at once (the daemon uses it to stop a translation: barge-in);
- a press released before ``threshold`` is a tap; taps separated by less than ``multi_press_gap_s``
  (release to next press) form one gesture: 1 tap ``short_press``, 2 ``double_press``,
  3 ``triple_press``. The gesture is certain ``multi_press_gap_s`` after the last release, or at once
  when no longer gesture is configured (``max_taps``);
- a press still down at ``threshold`` is a ``long_press`` (fired then, not on release) or, with
  hold-to-talk, ``talk_start`` then ``talk_end`` on release. Taps pending before it are emitted first,
  as their own gesture: nothing is dropped or merged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..config import GestureAction


class Gesture(enum.Enum):
    PRESSED = "pressed"
    SHORT_PRESS = "short_press"
    DOUBLE_PRESS = "double_press"
    TRIPLE_PRESS = "triple_press"
    LONG_PRESS = "long_press"
    TALK_START = "talk_start"
    TALK_END = "talk_end"
    VOLUME_UP = "volume_up"
    VOLUME_DOWN = "volume_down"


NONE = GestureAction.NONE
TAP_GESTURES = {1: Gesture.SHORT_PRESS, 2: Gesture.DOUBLE_PRESS, 3: Gesture.TRIPLE_PRESS}


@dataclass(frozen=True)
class ButtonEvent:
    gesture: Gesture
    action: GestureAction | None
    """The configured action for short/double/triple/long press ('next-language', 'replay', 'next-mode',
    'stop' or 'none'); None for pressed, talk_start/talk_end and volume events."""
    presses: tuple[int, ...]
    """Serial numbers (from 1, per button) of the press-downs this event is made of. The `pressed` event
    of press n has (n,); a double press made of presses 4 and 5 has (4, 5)."""
    started_at: float
    """time.monotonic() of the gesture's first press-down (talk_start: when talking began)."""
    at: float
    """time.monotonic() at which the event became certain (an edge, or a threshold reached)."""


class PressClassifier:
    """Turns one button's press/release timestamps into :class:`ButtonEvent` values.

    Feed :meth:`press` and :meth:`release` in edge order and call :meth:`advance` at (or after)
    :attr:`deadline`; each returns the events that became certain, oldest first. Times are seconds
    on any one monotonic clock.
    """

    def __init__(self, *, long_press_s: float, multi_press_gap_s: float, hold_to_talk: bool = False,
                 tap_max_s: float = 0.3, actions: dict[Gesture, GestureAction] | None = None) -> None:
        self.threshold_s = tap_max_s if hold_to_talk else long_press_s
        self.gap_s = multi_press_gap_s
        self.hold_to_talk = hold_to_talk
        self.actions = dict(actions or {})
        # The longest tap gesture that does something: reaching it needs no wait for another tap.
        useful = [n for n, g in TAP_GESTURES.items() if self.actions.get(g, NONE) != NONE]
        self.max_taps = max(useful, default=1)
        self._serial = 0
        self._down_at: float | None = None  # the current press, while the button is down
        self._down_serial = 0
        self._held = False  # the current press reached the threshold
        self._taps: list[tuple[int, float]] = []  # (serial, press time) of pending taps
        self._last_release = 0.0

    @property
    def deadline(self) -> float | None:
        """When :meth:`advance` next has something to decide (None: nothing pending)."""
        if self._down_at is not None:
            return None if self._held else self._down_at + self.threshold_s
        if self._taps:
            return self._last_release + self.gap_s
        return None

    def press(self, t: float) -> list[ButtonEvent]:
        out = self.advance(t)
        if self._down_at is not None:  # two downs without an up: a glitch, the button is still down
            return out
        self._serial += 1
        self._down_at, self._down_serial, self._held = t, self._serial, False
        out.append(ButtonEvent(Gesture.PRESSED, None, (self._serial,), t, t))
        return out

    def release(self, t: float) -> list[ButtonEvent]:
        out = self.advance(t)
        if self._down_at is None:
            return out
        down_at, serial = self._down_at, self._down_serial
        self._down_at = None
        if self._held:
            if self.hold_to_talk:
                out.append(ButtonEvent(Gesture.TALK_END, None, (serial,), down_at, t))
            return out
        self._taps.append((serial, down_at))
        self._last_release = t
        if len(self._taps) >= self.max_taps:
            out.append(self._flush(t))
        return out

    def advance(self, now: float) -> list[ButtonEvent]:
        """Everything that is certain at ``now`` (given every edge up to ``now`` was fed)."""
        out: list[ButtonEvent] = []
        if self._down_at is not None:
            reached = self._down_at + self.threshold_s
            if not self._held and now >= reached:
                if self._taps:
                    out.append(self._flush(reached))
                self._held = True
                gesture = Gesture.TALK_START if self.hold_to_talk else Gesture.LONG_PRESS
                action = None if self.hold_to_talk else self.actions.get(Gesture.LONG_PRESS, NONE)
                out.append(ButtonEvent(gesture, action, (self._down_serial,), self._down_at, reached))
        elif self._taps and now >= self._last_release + self.gap_s:
            out.append(self._flush(self._last_release + self.gap_s))
        return out

    def _flush(self, at: float) -> ButtonEvent:
        taps, self._taps = self._taps, []
        gesture = TAP_GESTURES[min(len(taps), 3)]
        return ButtonEvent(gesture, self.actions.get(gesture, NONE), tuple(s for s, _ in taps), taps[0][1], at)
