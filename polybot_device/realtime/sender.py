"""What goes out on the socket: protocol events at once, and the mic audio in order.

:class:`EventSender`: each event a protocol machine builds is sent in a task of its own, so no
caller waits on the socket; a session that is gone needs none of them.

:class:`AudioSender`: outbox -> socket while a session is live, one task per live session
(started by the link, cancelled with the session). It sends the backlog an outage left in the
outbox first, then each new chunk as the mic pump announces it; translation sessions get exactly
``frame_bytes`` per append (their engine works in 200 ms frames). Events that must follow the audio
captured before them (hold-to-talk's commit) wait here until that audio is on the wire.
``written_ms`` counts the audio handed to the socket, which a pong later confirms.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from ..audio.wire import BYTES_PER_MS
from ..trace import probe
from .actions import Action, Send
from .outbox import Outbox
from .session import SessionKind

log = logging.getLogger(__name__)


class EventSender:
    def __init__(self) -> None:
        self.ws: ClientConnection | None = None
        """The live connection, set and cleared by the link."""
        self._pending: set[asyncio.Task[None]] = set()

    def send(self, actions: list[Action]) -> list[Action]:
        """Sends the :class:`Send` actions (if connected); returns the others."""
        rest: list[Action] = []
        for action in actions:
            if not isinstance(action, Send):
                rest.append(action)
            elif self.ws is None:
                log.debug("not connected: %s not sent", action.event.get("type"))
            else:
                text = json.dumps(action.event, separators=(",", ":"))
                task = asyncio.get_running_loop().create_task(_send_quietly(self.ws, text, action.event.get("type")))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)
        return rest


class AudioSender:
    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._waiting = asyncio.Event()
        self._after_audio: list[dict[str, Any]] = []
        self.written_ms = 0.0
        """Audio of this session handed to the socket, in ms (what a pong confirms)."""
        self.sent_bytes = 0
        """Size of every audio append message handed to the socket since start (all sessions):
        what the mic costs in upstream data, before TLS and WebSocket framing."""

    def audio_ready(self) -> None:
        """New audio is in the outbox."""
        self._waiting.set()

    def send_after_audio(self, events: list[dict[str, Any]]) -> None:
        """Send these once every chunk captured before them is on the wire."""
        self._after_audio.extend(events)
        self._waiting.set()

    def new_session(self) -> None:
        """Nothing carries over from one session to the next: the timeline starts again at 0."""
        self._after_audio.clear()
        self.written_ms = 0.0

    async def run(self, ws: ClientConnection, kind: SessionKind) -> None:
        """Send until cancelled (the session ended); returns never."""
        append_json, frame = kind.append_json, kind.frame_bytes
        framing = bytearray()
        while True:
            chunks = self._outbox.take()
            if frame:
                for chunk in chunks:
                    framing += chunk
                while len(framing) >= frame:
                    message = append_json(memoryview(framing)[:frame])
                    self.sent_bytes += len(message)
                    await ws.send(message)
                    del framing[:frame]
                    self.written_ms += frame / BYTES_PER_MS
            else:
                for chunk in chunks:
                    message = append_json(chunk)
                    self.sent_bytes += len(message)
                    await ws.send(message)
                    self.written_ms += len(chunk) / BYTES_PER_MS
                    if probe is not None:
                        probe.mark("sent", id(chunk))
            while self._after_audio:
                await ws.send(json.dumps(self._after_audio.pop(0), separators=(",", ":")))
            dropped = self._outbox.take_dropped_ms()
            if dropped:
                log.warning("outage buffer was full: the oldest %.1f s of audio were dropped", dropped / 1000)
            self._waiting.clear()
            if not self._outbox.pending_ms and not self._after_audio:
                await self._waiting.wait()


async def _send_quietly(ws: ClientConnection, text: str, kind: Any) -> None:
    try:
        await ws.send(text)
    except ConnectionClosed:
        log.debug("connection closed before %s was sent", kind)
