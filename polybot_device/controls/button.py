"""The push button (and optional volume buttons): gpiozero edges in, gestures out on the event loop.

Threads. gpiozero calls back on its own thread (lgpio's alert thread on a Pi; the thread that drives
a mock pin in tests). That thread does three things only, under one small lock: read
``time.monotonic()`` (the edge's timestamp), append ``(edge, timestamp)`` to a list, and hand a
wake-up to the loop with ``loop.call_soon_threadsafe``. Everything else (the press classifier, the
multi-press and long-press timers, calling ``on_gesture``) runs on the event loop thread, so no
asyncio object and no classifier state is ever touched from another thread.

Why the loop's ``call_at`` and not a ``threading.Timer`` for the multi-press window and the long-press
threshold: the classifier (presses.py) decides from edge timestamps alone, so a timer only has to say
"look again"; it may run late under load without changing the answer. The loop timer then costs no
thread per press, keeps all state on one thread (no lock around the state machine), and delivers
gestures in order with the ``pressed`` events. A loop too busy to run the timer would be too busy to
act on the gesture anyway.

Why the lock makes late timers safe: the edge thread takes its timestamp and appends the edge inside
the lock, and the loop takes "now" and drains the edges inside the same lock. So any edge stamped
before "now" is seen before the classifier decides anything as of "now": a timer can never close a
multi-press window that an earlier press had in fact extended. (Limit: the timestamp is when
gpiozero's thread got the edge; if that thread itself is starved, a press can look later than it was.)
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Callable

from gpiozero import Button

from ..config import ButtonConfig, GesturesConfig
from .presses import ButtonEvent, Gesture, PressClassifier

log = logging.getLogger(__name__)

OnGesture = Callable[[ButtonEvent], None]

VOLUME_REPEAT_S = 0.5
"""A volume button held down repeats its event this often (after the first one on press)."""


class Gestures:
    """Turns presses of the button into :class:`ButtonEvent` values, passed to ``on_gesture`` on the loop.

    Events: ``pressed`` on every press-down (at once: the daemon stops a playing translation with it),
    then ``short_press``/``double_press``/``triple_press``/``long_press`` carrying the configured action,
    or with hold-to-talk ``talk_start``/``talk_end``; ``volume_up``/``volume_down`` from the optional
    volume buttons (on press, repeated every VOLUME_REPEAT_S while held). Never names a pin factory.
    """

    def __init__(self, button: ButtonConfig, gestures: GesturesConfig, loop: asyncio.AbstractEventLoop,
                 on_gesture: OnGesture, *, volume_up_pin: int | None = None,
                 volume_down_pin: int | None = None) -> None:
        self._loop = loop
        self._on_gesture = on_gesture
        self._classifier = PressClassifier(
            long_press_s=button.long_press_s, multi_press_gap_s=button.multi_press_gap_s,
            hold_to_talk=button.hold_to_talk, tap_max_s=button.tap_max_s,
            actions={Gesture.SHORT_PRESS: gestures.short_press, Gesture.DOUBLE_PRESS: gestures.double_press,
                     Gesture.TRIPLE_PRESS: gestures.triple_press, Gesture.LONG_PRESS: gestures.long_press})
        self._lock = threading.Lock()
        self._edges: list[tuple[bool, float]] = []  # (pressed?, monotonic time), filled by gpiozero's thread
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._devices: list[Button] = []
        bounce = button.debounce_ms / 1000 or None
        try:
            self.button = self._add(Button(button.pin, pull_up=button.pull_up, bounce_time=bounce))
            self.button.when_pressed = self._edge_down
            self.button.when_released = self._edge_up
            for pin, gesture in ((volume_up_pin, Gesture.VOLUME_UP), (volume_down_pin, Gesture.VOLUME_DOWN)):
                if pin is not None:
                    self._add_volume(pin, button.pull_up, bounce, gesture)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the pins; no event is delivered after this returns (call it on the loop thread)."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        for device in self._devices:
            device.close()
        self._devices.clear()

    # -- gpiozero's thread: timestamp, record, wake the loop; nothing else ----------------------

    def _edge_down(self) -> None:
        self._edge(True)

    def _edge_up(self) -> None:
        self._edge(False)

    def _edge(self, down: bool) -> None:
        with self._lock:
            self._edges.append((down, time.monotonic()))
        self._wake(self._process)

    def _wake(self, callback: Callable[..., object], *args: object) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: we are shutting down
            pass

    # -- the loop thread ------------------------------------------------------------------------

    def _process(self) -> None:
        if self._closed:
            return
        with self._lock:
            now = time.monotonic()
            edges, self._edges = self._edges, []
        clf = self._classifier
        events: list[ButtonEvent] = []
        for down, t in edges:
            events += clf.press(t) if down else clf.release(t)
        events += clf.advance(now)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = clf.deadline
        if deadline is not None:  # loop.time() is time.monotonic() (asyncio's default clock)
            self._timer = self._loop.call_at(deadline, self._process)
        for event in events:
            self._deliver(event)

    def _deliver(self, event: ButtonEvent) -> None:
        if self._closed:
            return
        log.debug("button: %s (%s)", event.gesture.value, event.action)
        try:
            self._on_gesture(event)
        except Exception:  # one bad handler must not stop the button
            log.exception("gesture handler failed for %s", event.gesture.value)

    # -- volume buttons: no gestures, an event per press (and per repeat while held) --------------

    def _add_volume(self, pin: int, pull_up: bool, bounce: float | None, gesture: Gesture) -> None:
        device = self._add(Button(pin, pull_up=pull_up, bounce_time=bounce, hold_time=VOLUME_REPEAT_S,
                                  hold_repeat=True))
        serials = itertools.count(1)

        def fire() -> None:  # gpiozero's thread (edge or hold thread)
            t = time.monotonic()
            self._wake(self._deliver, ButtonEvent(gesture, None, (next(serials),), t, t))

        device.when_pressed = fire
        device.when_held = fire

    def _add(self, device: Button) -> Button:
        self._devices.append(device)
        return device
