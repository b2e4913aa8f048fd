"""What the link needs to know about a session before it connects, and of its protocol machine.

Two kinds of session exist: conversations (``{api.url}``, :mod:`.protocol`) and interpreter-mode
translation sessions (``{api.url}/translations``, :mod:`.translation`). The link treats both alike
through :class:`SessionProtocol`; :class:`SessionKind` says where to connect and how audio goes out.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .actions import Action
from .events import AppendJson, audio_append_json, translation_append_json
from .translation import FRAME_BYTES


class SessionType(enum.StrEnum):
    REALTIME = "realtime"
    """A conversation session: server VAD turns, responses, truncate."""
    TRANSLATION = "translation"
    """Interpreter mode: continuous translation of a stream, 200 ms frames in."""


class SessionProtocol(Protocol):
    """A session's protocol state machine: server events in, actions out, no I/O."""

    @property
    def live(self) -> bool:
        """The server confirmed our configuration: audio may flow."""

    @property
    def response_open(self) -> bool:
        """A response is on its way (never true for translation sessions)."""

    def opening(self) -> list[Action]:
        """What to send as soon as the socket is open."""

    def handle(self, event: dict[str, Any]) -> list[Action]:
        """One server event (a parsed JSON object, hostile: any field may be wrong)."""

    def reconfigure(self, session_update_event: dict[str, Any]) -> list[Action]:
        """A live change of languages or VAD on the same connection."""

    def interrupt(self, played_ms: int) -> list[Action]:
        """Playback was stopped after ``played_ms`` of the current item: tell the server."""

    def abandon_response(self) -> list[Action]:
        """The open response stalled: stop waiting for it."""

    def closing(self) -> list[Action]:
        """What to send before we close the socket on purpose."""


@dataclass(frozen=True)
class SessionKind:
    """Which endpoint and protocol the next session uses (interpreter mode has its own)."""

    type: SessionType
    model: str
    make_protocol: Callable[[], SessionProtocol]

    @property
    def path(self) -> str:
        """Appended to api.url."""
        return "/translations" if self.type is SessionType.TRANSLATION else ""

    @property
    def append_json(self) -> AppendJson:
        return translation_append_json if self.type is SessionType.TRANSLATION else audio_append_json

    @property
    def frame_bytes(self) -> int:
        """0: send mic chunks as captured; else exactly this many bytes per append (200 ms frames)."""
        return FRAME_BYTES if self.type is SessionType.TRANSLATION else 0
