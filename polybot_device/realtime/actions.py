"""What the protocol machines ask the rest of the daemon to do: plain values, no behaviour.

Both session kinds (:mod:`.protocol` for conversations, :mod:`.translation` for interpreter mode)
answer every server event with a list of these; the link (:mod:`.connection`) sends the
:class:`Send` ones and passes the others to the translator.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from ..audio.wire import WIRE_RATE_HZ
from ..cost.usage import ResponseUsage, TranscriptionUsage
from ..state import Activity


@dataclass(frozen=True)
class Send:
    event: dict[str, Any]


@dataclass(frozen=True)
class Play:
    item_id: str
    pcm: bytes
    rate_hz: int = WIRE_RATE_HZ
    channels: int = 1
    """The format the server stated. Only the link hands on anything but the wire format: it
    converts it off the event loop first (:func:`.translation.as_wire`)."""

    @property
    def is_wire(self) -> bool:
        return self.rate_hz == WIRE_RATE_HZ and self.channels == 1


@dataclass(frozen=True)
class SessionLive:
    """session.updated arrived for our configuration: audio may flow."""


@dataclass(frozen=True)
class SetActivity:
    activity: Activity


@dataclass(frozen=True)
class SpeechStarted:
    """The server heard the person start; barge-in if our speaker is still playing."""

    audio_start_ms: int


@dataclass(frozen=True)
class InputTranslated:
    """Interpreter mode: the server has translated the input up to ``position_ms`` of this
    session's timeline (the ``elapsed_ms`` of its deltas). That audio is never sent again."""

    position_ms: int


@dataclass(frozen=True)
class UtteranceEnded:
    """Committed by the server VAD: the person stopped; a response is coming. ``audio_end_ms``
    comes from speech_stopped (committed carries no position); 0 if there was none."""

    audio_end_ms: int


class ResponseStatus(enum.StrEnum):
    """How a response ended: the server's ``response.status``, or our own ``stalled``."""

    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    INCOMPLETE = "incomplete"
    STALLED = "stalled"
    """No event for api.response_stall_s: we gave up on it."""
    OTHER = "other"
    """A status this client does not know."""

    @classmethod
    def of(cls, value: object) -> ResponseStatus:
        """The server's status text; anything else is OTHER."""
        known = {member.value: member for member in cls}
        return known.get(value, cls.OTHER) if isinstance(value, str) else cls.OTHER

    @property
    def trouble(self) -> bool:
        """The person did not get a translation and should hear so (a cancel was theirs)."""
        return self in (ResponseStatus.FAILED, ResponseStatus.INCOMPLETE, ResponseStatus.STALLED)


@dataclass(frozen=True)
class ResponseFinished:
    status: ResponseStatus


@dataclass(frozen=True)
class UsageReported:
    """A response.done carried usage: what that response will be billed for."""

    usage: ResponseUsage


@dataclass(frozen=True)
class TranscriptionUsed:
    """Input transcription reported its own usage (billed by its own model's prices)."""

    usage: TranscriptionUsage


@dataclass(frozen=True)
class Transcript:
    role: str  # "heard" (the person) or "translated" (the model's speech)
    text: str


@dataclass(frozen=True)
class SessionOver:
    """The server said this session cannot go on (the close follows)."""

    reason: str
    auth: bool = False  # the key is refused or out of quota: retry slowly
    retry_after_s: float | None = None


Action = (Send | Play | SessionLive | SetActivity | SpeechStarted | UtteranceEnded | ResponseFinished
          | Transcript | SessionOver | UsageReported | TranscriptionUsed | InputTranslated)
"""Everything a protocol machine can ask for. The link sends the Sends itself and hands the rest on."""
