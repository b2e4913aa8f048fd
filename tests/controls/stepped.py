"""LEDs on a clock the test turns by hand.

``StatusLight(config, player=clock.player)`` gives each LED a player that runs the real
:class:`~polybot_device.controls.player.Sequencer` and writes through the real gpiozero device to
the mock pin, exactly as the daemon's player thread does, but time only moves when the test calls
``clock.run(seconds)``. Every step is taken at the exact moment it is due, and each watched pin's
level is recorded with that moment, so a pattern's rhythm is compared exactly, on any machine.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from polybot_device.controls.player import Sequencer, Steps

History = list[tuple[Any, float | None]]


class SteppedClock:
    def __init__(self, pins) -> None:
        self.now = 0.0
        self._factory = pins
        self._players: list[_SteppedPlayer] = []
        self._changes: dict[int, list[tuple[float, Any]]] = {}

    def player(self, write: Callable[[Any], None], name: str, off: Any) -> _SteppedPlayer:
        """The ``player=`` factory for StatusLight."""
        player = _SteppedPlayer(self, write, off)
        self._players.append(player)
        player.catch_up()
        return player

    def watch(self, *numbers: int) -> None:
        """Record these pins' levels from now on (starting with the level they have now)."""
        for n in numbers:
            self._changes[n] = [(self.now, self._factory.pin(n).state)]

    def run(self, seconds: float) -> None:
        """Let ``seconds`` pass, taking every step of every LED at the moment it is due."""
        end = self.now + seconds
        while True:
            due = min((p.due for p in self._players if p.due is not None), default=math.inf)
            if due > end:
                break
            self.now = max(self.now, due)
            for player in self._players:
                player.catch_up()
        self.now = end

    def history(self, number: int) -> History:
        """[(level, seconds it lasted)] since ``watch``; the level shown now last, with None."""
        changes = self._changes[number]
        lasted = [(level, round(changes[i + 1][0] - t, 9)) for i, (t, level) in enumerate(changes[:-1])]
        return lasted + [(changes[-1][1], None)]

    def _record(self) -> None:
        for n, changes in self._changes.items():
            level = self._factory.pin(n).state
            if level != changes[-1][1]:
                changes.append((self.now, level))


class _SteppedPlayer:
    """Player's contract (loop, once, close) without a thread: a change shows at once, as it does
    when the real thread is woken; timed steps wait for the clock."""

    def __init__(self, clock: SteppedClock, write: Callable[[Any], None], off: Any) -> None:
        self._clock = clock
        self._write = write
        self._off = off
        self._sequencer = Sequencer(off)
        self._last: Any = None
        self._closed = False

    @property
    def due(self) -> float | None:
        return None if self._closed else self._sequencer.due

    def loop(self, steps: Steps) -> None:
        self._sequencer.loop(steps)
        self.catch_up()

    def once(self, steps: Steps) -> None:
        self._sequencer.once(steps)
        self.catch_up()

    def close(self) -> None:
        self._closed = True
        self._set(self._off)

    def catch_up(self) -> None:
        while self.due is not None and self.due <= self._clock.now:
            self._set(self._sequencer.advance(self._clock.now))

    def _set(self, value: Any) -> None:
        if value != self._last:
            self._last = value
            self._write(value)
            self._clock._record()
