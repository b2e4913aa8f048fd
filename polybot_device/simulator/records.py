"""What the simulator remembers, for tests to assert on: sessions and handshake attempts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..realtime.session import SessionType
from .ids import new_id


@dataclass
class SessionRecord:
    """What one accepted connection did."""

    path: str
    """Request path with query, e.g. /v1/realtime?model=gpt-realtime-2.1."""
    model: str
    kind: SessionType
    key: str = field(repr=False)
    """The key the client presented (never logged)."""
    id: str = field(default_factory=lambda: new_id("sess"))
    input_audio: bytearray = field(default_factory=bytearray, repr=False)
    """All PCM16 24 kHz mono audio the client appended."""
    client_events: list[dict[str, Any]] = field(default_factory=list, repr=False)
    events_sent: list[dict[str, Any]] = field(default_factory=list, repr=False)
    session: dict[str, Any] = field(default_factory=dict)
    """The session object as currently configured."""
    utterances: int = 0
    """Utterances committed (conversation) or stretches of speech heard (translation)."""
    responses_completed: int = 0
    answered_ms: list[int] = field(default_factory=list)
    """The voiced length of each utterance a completed response answered, in order (what a test
    recognises each utterance by, now that usage counts the whole conversation)."""
    closed: bool = False
    close_code: int | None = None

    def sent_types(self) -> list[str]:
        return [event["type"] for event in self.events_sent]


@dataclass
class HandshakeRecord:
    path: str
    status: int
    """101 when accepted, else the HTTP status of the refusal."""
    at: float
    """time.monotonic() of the attempt."""
