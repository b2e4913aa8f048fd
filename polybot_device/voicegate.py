"""The local voice gate: what of the mic may be speech, and so goes towards the server at all.

A gadget spends most of its life waiting; streaming every 20 ms of room noise costs 64 KB/s of
upstream data and 50 wake-ups a second. The gate runs in the capture thread, before the hand-off
to the event loop, and says per chunk:

* CLOSED: nothing is handed on. The chunk is kept in a pre-roll ring (at most ``preroll_ms``,
  only audio never sent), so the words said before the gate was sure are not lost;
* OPENED: speech may have started: the pre-roll, then this chunk, are handed on;
* OPEN: hand this chunk on.

It opens when at least ``OPEN_NEED`` of the last ``OPEN_WINDOW`` 20 ms frames score at least the
threshold (320 ms of voice within 600 ms: a knock, a door or a cough rings for 60-400 ms and is
called a voice by every detector measured; this window removes them). That confirmation takes up
to ~0.9 s after the onset, which the pre-roll pays for: the effective pre-roll is never below
``vad.prefix_padding_ms + CONFIRM_MAX_MS``. It closes ``hang`` after the last voiced frame, long
enough for the server's VAD to hear the silence that ends the turn, and never while the server
says it is still hearing speech (up to ``SERVER_HOLD_MAX_S``: the server is not trusted to ever
say otherwise). While the server hears a turn the detector is not run at all: it would only
confirm what the server says, and the hang then counts from the turn's end. The server still
decides turns; the gate only decides what could be speech.

``bypass`` (set from the loop: hold-to-talk, interpreter mode, or ``enabled: false``) hands every
chunk on, as before the gate existed. Pure: no I/O, no clock, no threads; the scorer is injected.
The loop thread only sets flags (``bypass``, ``server_hearing``) and reads counters.
"""

from __future__ import annotations

import enum
import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .audio.voicedetect import FRAME, EarshotScorer, FrameScorer, earshot_available
from .audio.wire import BYTES_PER_MS
from .config import Config

log = logging.getLogger(__name__)

FRAME_MS = 20
OPEN_WINDOW = 30
OPEN_NEED = 16
CONFIRM_MAX_MS = 900
"""The longest onset-to-open delay measured (880 ms), rounded up."""
HANG_MARGIN_MS = 500
"""Over ``vad.silence_duration_ms``: the server must hear that much silence to end a turn."""
SPEAKING_PAUSE_MS = 500
"""No voiced frame for this long (with the gate open or not) counts as a pause."""
SERVER_HOLD_MAX_S = 30.0


class Verdict(enum.Enum):
    CLOSED = "closed"
    OPENED = "opened"
    OPEN = "open"


@dataclass(frozen=True)
class VoiceGateSettings:
    enabled: bool
    threshold: float
    preroll_ms: int
    hang_ms: int

    @classmethod
    def from_config(cls, config: Config) -> VoiceGateSettings:
        vg = config.audio.voice_gate
        return cls(enabled=vg.enabled, threshold=1.0 - vg.sensitivity,
                   preroll_ms=max(vg.preroll_ms, config.vad.prefix_padding_ms + CONFIRM_MAX_MS),
                   hang_ms=max(vg.hang_ms, config.vad.silence_duration_ms + HANG_MARGIN_MS))


class VoiceGate:
    def __init__(self, settings: VoiceGateSettings, make_scorer: Callable[[], FrameScorer]) -> None:
        self.settings = settings
        """Replaced whole on a reload (read once per frame by the capture thread)."""
        self.bypass = not settings.enabled
        """Hand every chunk on (set by the loop)."""
        self.server_hearing = False
        """The server reported speech started and not yet stopped (set by the loop)."""
        self.open_bytes = 0
        """Audio handed on since start, the pre-roll included (the gate-open-seconds metric)."""
        self._make_scorer = make_scorer
        self._scorer: FrameScorer | None = None
        self._frame = np.zeros(FRAME, dtype=np.int16)
        self._filled = 0
        self._window = [False] * OPEN_WINDOW
        self._at = 0
        self._voiced = 0
        self._since_voice = math.inf
        self._open = False
        self._ring: deque[bytes] = deque()
        self._ring_bytes = 0
        self._server_ms = 0.0

    def configure(self, config: Config, streaming: bool) -> None:
        """Settings from ``config``; ``streaming``: the session wants a continuous stream
        (interpreter mode). Hold-to-talk and interpreter mode bypass the gate (docs/modes.md)."""
        self.settings = VoiceGateSettings.from_config(config)
        self.bypass = not self.settings.enabled or streaming or config.controls.button.hold_to_talk

    @property
    def open(self) -> bool:
        """Speech may be going on (the detector's view, whatever ``bypass`` says)."""
        return self._open

    @property
    def speaking(self) -> bool:
        """Someone is talking now: the gate is open and the last voiced frame is recent."""
        return self._open and self._since_voice * FRAME_MS < SPEAKING_PAUSE_MS

    def reset(self) -> None:
        """The capture stream (re)started: a new scorer state, no stale pre-roll. Capture thread."""
        if self._scorer is None and self.settings.enabled:
            self._scorer = self._make_scorer()
        if self._scorer is not None:
            self._scorer.reset()
        self._filled = 0
        self._window = [False] * OPEN_WINDOW
        self._voiced = 0
        self._since_voice = math.inf
        self._open = False
        self._ring.clear()
        self._ring_bytes = 0

    def feed(self, chunk: bytes) -> Verdict:
        """One chunk of PCM16 mono 24 kHz, as captured (capture thread)."""
        settings = self.settings
        was_open = self._open
        if settings.enabled:
            self._score(np.frombuffer(chunk, dtype=np.int16), settings)
        if self.bypass or not settings.enabled:
            self._drop_ring()
            self.open_bytes += len(chunk)
            return Verdict.OPEN
        if self._open:
            self.open_bytes += len(chunk)
            return Verdict.OPEN if was_open or not self._ring else Verdict.OPENED
        self._ring.append(chunk)
        self._ring_bytes += len(chunk)
        limit = settings.preroll_ms * BYTES_PER_MS
        while self._ring_bytes - len(self._ring[0]) >= limit:
            self._ring_bytes -= len(self._ring.popleft())
        return Verdict.CLOSED

    def take_preroll(self) -> list[bytes]:
        """After OPENED: the chunks held back while closed, oldest first; the ring is emptied."""
        held = list(self._ring)
        self.open_bytes += self._ring_bytes
        self._drop_ring()
        return held

    def _drop_ring(self) -> None:
        if self._ring:
            self._ring.clear()
            self._ring_bytes = 0

    def _score(self, samples: np.ndarray, settings: VoiceGateSettings) -> None:
        if self.server_hearing and self._open and self._server_ms < SERVER_HOLD_MAX_S * 1000:
            # The server hears a turn and is the authority on it: no detector work meanwhile
            # (the gate stays open anyway); the hang counts from when it says the turn ended.
            self._server_ms += len(samples) / (BYTES_PER_MS // 2)
            self._since_voice = 0
            self._filled = 0
            return
        if not self.server_hearing:
            self._server_ms = 0.0
        frame, n, i = self._frame, self._filled, 0
        while i < len(samples):
            take = min(FRAME - n, len(samples) - i)
            frame[n : n + take] = samples[i : i + take]
            n += take
            i += take
            if n == FRAME:
                n = 0
                self._step(self._scorer.score(frame) >= settings.threshold if self._scorer else False, settings)
        self._filled = n

    def _step(self, voiced: bool, settings: VoiceGateSettings) -> None:
        """One 20 ms frame through the open/hang rule."""
        self._voiced += voiced - self._window[self._at]
        self._window[self._at] = voiced
        self._at = (self._at + 1) % OPEN_WINDOW
        self._since_voice = 0 if voiced else self._since_voice + 1
        if not self._open:
            self._open = self._voiced >= OPEN_NEED
            return
        quiet_ms = self._since_voice * FRAME_MS
        held = self.server_hearing and quiet_ms < SERVER_HOLD_MAX_S * 1000
        if quiet_ms >= settings.hang_ms and not held:
            self._open = False


def make_voice_gate(config: Config) -> VoiceGate | None:
    """The gate with earshot, or None where earshot has no wheel (32-bit ARM): then the mic
    streams all the time, as before the gate existed."""
    if not earshot_available():
        if config.audio.voice_gate.enabled:
            log.warning("voice gate: earshot is not installed on this platform; streaming the mic all the time")
        return None
    return VoiceGate(VoiceGateSettings.from_config(config), EarshotScorer)
