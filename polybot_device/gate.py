"""Which mic chunks reach the server: the echo gate and hold-to-talk, as plain rules with no I/O.

The mic pump asks :meth:`MicGate.route` once per chunk (50 times a second: nothing is allocated,
and the speaker and the clock are only asked when a rule needs them). The rules:

* hold-to-talk (conversation and one-way modes) with the button up: nothing is sent, but the last
  ``PREROLL_CHUNKS`` are kept, so that the words said in the moment before a press counts as talk
  are not lost (:meth:`MicGate.start_talking` hands them over);
* the echo gate (``audio.echo_gate``): while the speaker plays, and ``audio.echo_tail_ms`` after,
  the mic is shut, so the gadget's own voice never reaches the server's VAD;
* interpreter mode wants a stream without gaps: a shut chunk is replaced by silence of the same
  length instead of being dropped, and hold-to-talk does not apply.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .config import Config

PREROLL_CHUNKS = 40
"""hold-to-talk: ~0.8 s of 20 ms mic chunks kept while the button is up, for the start of a press."""


class Route(enum.Enum):
    SEND = "send"
    SILENCE = "silence"
    """Send silence of the chunk's length instead (interpreter mode: no gaps in the stream)."""
    DROP = "drop"


class Speaker(Protocol):
    def is_playing(self) -> bool: ...

    def quiet_for_s(self) -> float:
        """Seconds since the last sample left the speaker (0 while playing)."""
        ...


@dataclass(frozen=True)
class GateSettings:
    echo_gate: bool
    echo_tail_s: float
    hold_to_talk: bool

    @classmethod
    def from_config(cls, config: Config) -> GateSettings:
        return cls(config.audio.echo_gate, config.audio.echo_tail_ms / 1000, config.controls.button.hold_to_talk)


class MicGate:
    def __init__(self, settings: GateSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        """Replaced whole on a reload."""
        self.streaming = False
        """The session is a translation stream (interpreter mode)."""
        self.talking = False
        """hold-to-talk: the button is held, so the mic is sent."""
        self._preroll: deque[tuple[float, bytes]] = deque(maxlen=PREROLL_CHUNKS)
        self._clock = clock

    @property
    def waiting_for_talk(self) -> bool:
        """hold-to-talk applies and the button is not held."""
        return self.settings.hold_to_talk and not self.talking and not self.streaming

    def route(self, chunk: bytes, speaker: Speaker) -> Route:
        """What to do with ``chunk``, just captured, while ``speaker`` plays or not."""
        if self.waiting_for_talk:
            self._preroll.append((self._clock(), chunk))
        elif not self.hears_echo(speaker):
            return Route.SEND
        return Route.SILENCE if self.streaming else Route.DROP

    def hears_echo(self, speaker: Speaker) -> bool:
        """Our own voice may be in the mic: it plays, or its echo is still in the room."""
        if not self.settings.echo_gate:
            return False
        return speaker.is_playing() or speaker.quiet_for_s() < self.settings.echo_tail_s

    def start_talking(self, since: float | None) -> list[bytes]:
        """The button is held (since ``since``): from now on the mic is sent; returns the chunks
        captured since then, which the gate held back."""
        held = [chunk for at, chunk in self._preroll if since is not None and at >= since]
        self._preroll.clear()
        self.talking = True
        return held

    def stop_talking(self) -> None:
        self._preroll.clear()
        self.talking = False
