"""The simulator's server-side websocket connection, which can play dead (a half-open link)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection

from ..realtime.session import SessionType


@dataclass(frozen=True)
class Accepted:
    """What the handshake settled, for the session that follows it."""

    kind: SessionType
    model: str
    key: str = field(repr=False)
    bad_key: bool
    """A key that is not the expected one, to be refused by an error event (auth_failure="event")."""


class SimConnection(ServerConnection):
    """A server connection that can play dead: ``set_silenced(True)`` holds every incoming byte
    unprocessed (so pings get no pong, close frames no answer) until ``set_silenced(False)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.silenced = False
        self._held: list[bytes] = []
        self.accepted: Accepted | None = None

    def data_received(self, data: bytes) -> None:
        if self.silenced:
            self._held.append(data)
            return
        super().data_received(data)

    def set_silenced(self, silenced: bool) -> None:
        self.silenced = silenced
        if not silenced:
            held = b"".join(self._held)
            self._held.clear()
            if held and not self.transport.is_closing():
                super().data_received(held)
