"""What the translator tells the world outside the data path: typed events and a stats snapshot.

The fleet reporting (metrics, journal, state file) and the demo read these, never the
translator's parts: a listener given to :meth:`.app.Translator.subscribe` receives each
:data:`TranslatorEvent` on the loop thread, and :meth:`.app.Translator.stats` returns one frozen
:class:`TranslatorStats`. Nothing here is built per audio chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .config import Config, Mode
from .cost.meter import BudgetChange, CostSummary
from .cost.usage import ResponseUsage
from .realtime.actions import ResponseStatus
from .realtime.failures import Outcome


@dataclass(frozen=True)
class ResponseLatency:
    """The first audio of a response reached the speaker, this long after the speech ended."""

    seconds: float


@dataclass(frozen=True)
class ResponseDone:
    """A response finished (completed, cancelled, failed, ...)."""

    status: ResponseStatus


@dataclass(frozen=True)
class SessionEnded:
    """A connection attempt or a session ended, and why."""

    outcome: Outcome


@dataclass(frozen=True)
class ResponseCost:
    """A response's usage and its estimated cost (it comes before that response's ResponseDone)."""

    usage: ResponseUsage
    cost: float


@dataclass(frozen=True)
class BudgetChanged:
    change: BudgetChange
    summary: CostSummary


TranslatorEvent = ResponseLatency | ResponseDone | SessionEnded | ResponseCost | BudgetChanged
Listener = Callable[[TranslatorEvent], None]


@dataclass(frozen=True)
class TranslatorStats:
    mode: Mode
    language: str
    """The selected language (conversation: the one paired with home; else the target)."""
    utterances_translated: int
    """Responses completed since start."""
    dropped_s: float
    """Mic audio lost because an outage outlasted audio.outage_buffer_s, since start."""
    mic_chunks: int
    """Chunks the mic delivered since start (it changes while the mic works)."""
    mic_xruns: int
    speaker_underruns: int
    speaker_frames: int
    """Frames handed to the speaker since start (it changes while it plays)."""
    speaker_playing: bool
    last_mic_chunk: bytes | None
    """The latest audio each way, by reference (for a level meter; no work per chunk). The mic's is
    the latest captured, whether the voice gate let it through or not."""
    last_played_chunk: bytes | None
    quiet: bool
    """Nobody speaking, nothing playing, no response on its way."""
    session_live_since: float | None
    """time.monotonic() when the current session went live; None while there is none."""
    upstream_audio_bytes: int = 0
    """Audio append messages handed to the socket since start, in bytes (the upstream data)."""
    voice_gate_open_s: float = 0.0
    """Seconds of mic audio the voice gate let through since start (pre-rolls included); with the
    gate bypassed (interpreter, hold-to-talk) every second counts."""


class Observable(Protocol):
    """What the fleet reporting needs of the translator."""

    @property
    def config(self) -> Config:
        """The running configuration (a reload replaces it)."""

    def stats(self) -> TranslatorStats: ...

    def cost(self) -> CostSummary:
        """Today's and the total estimate, the budget."""

    def subscribe(self, listener: Listener) -> None: ...
