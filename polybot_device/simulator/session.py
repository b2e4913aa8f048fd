"""What every simulated session does, whatever its endpoint: receive, record, answer, misbehave.

A session owns its websocket connection. Everything it sends goes through ``send``, which
keeps the order of events across the tasks that send (the reader, the response streamer, the
expiry timer), honours ``hold_silent`` and records what went out. A client event the session
cannot accept raises ``ClientError`` inside a handler and becomes an ``error`` event; the
session stays open, as with the real service. A session knows its server only as a
:class:`SessionHost`: the knobs to read, and where to report what happened.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from typing import Any, Protocol

from websockets.exceptions import ConnectionClosed

from .connection import SimConnection
from .ids import new_id
from .options import SimulatorOptions
from .records import SessionRecord

log = logging.getLogger(__name__)

CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_INTERNAL = 1011


class SessionHost(Protocol):
    """What a session may ask of the simulator that accepted it."""

    @property
    def options(self) -> SimulatorOptions:
        """The knobs, as they are now (a test may change them at any time)."""

    def changed(self) -> None:
        """A record changed (an utterance, a sent event): wake whoever waits for one."""

    def client_event(self, record: SessionRecord, event: dict[str, Any]) -> None:
        """A client event arrived (recorded on ``record`` and in the simulator's list)."""

    def response_completed(self, record: SessionRecord) -> None: ...

    def delta_sent(self) -> bool:
        """One more audio delta went out; True when ``drop_after_deltas`` says to abort now."""


class ClientError(Exception):
    """A client event the service would refuse; becomes an ``error`` event, session stays open."""

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param


class SessionGone(Exception):
    """The connection was aborted on purpose; whoever was sending stops quietly."""


class BaseSession:
    """Reads client events, dispatches them to ``on_<type>`` handlers, sends server events."""

    #: client event type -> handler method name; filled by subclasses
    handlers: dict[str, str] = {}

    def __init__(self, host: SessionHost, ws: SimConnection, record: SessionRecord) -> None:
        self.host = host
        self.ws = ws
        self.record = record
        self.audible = asyncio.Event()
        self.audible.set()
        self.silent_until = 0.0
        self.dead = False
        self._send_lock = asyncio.Lock()
        self.tasks: set[asyncio.Task[None]] = set()

    # ----------------------------------------------------------------- life cycle

    async def run(self, bad_key: bool) -> None:
        try:
            if bad_key:
                await self.send_error("invalid_api_key", "Incorrect API key provided.")
                await self.ws.close(CLOSE_POLICY, "invalid api key")
                return
            await self.on_open()
            max_s = self.host.options.session_max_s
            if max_s is not None:
                self.spawn(self._expire(max_s))
            async for message in self.ws:
                await self._receive(message)
        except (ConnectionClosed, SessionGone):
            pass
        finally:
            for task in list(self.tasks):
                task.cancel()
            if self.tasks:
                await asyncio.gather(*self.tasks, return_exceptions=True)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run a coroutine owned by this session (cancelled when the session ends)."""
        task = asyncio.get_running_loop().create_task(self._quietly(coro))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    @staticmethod
    async def _quietly(coro: Coroutine[Any, Any, None]) -> None:
        try:
            await coro
        except (ConnectionClosed, SessionGone):
            pass

    async def _expire(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        log.info("session %s reached session_max_s=%s: expiring it", self.record.id, seconds)
        await self.send_error(
            "session_expired", "Your session hit the maximum duration of 60 minutes."
        )
        await self.ws.close(CLOSE_GOING_AWAY, "session expired")

    async def on_open(self) -> None:
        """Send the greeting (``session.created``)."""

    # ----------------------------------------------------------------- receiving

    async def _receive(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            await self.send_error("invalid_request_error", "Binary frames are not supported.")
            return
        try:
            event = json.loads(message)
        except ValueError as exc:
            await self.send_error("invalid_json", f"The server could not parse the JSON: {exc}")
            return
        if not isinstance(event, dict):
            await self.send_error("invalid_json", "A client event must be a JSON object.")
            return
        self.host.client_event(self.record, event)
        event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        kind = event.get("type")
        try:
            if not isinstance(kind, str):
                raise ClientError(
                    "missing_required_parameter", "Missing required parameter: 'type'.", "type"
                )
            name = self.handlers.get(kind)
            if name is None:
                supported = ", ".join(f"'{t}'" for t in self.handlers)
                raise ClientError(
                    "invalid_value",
                    f"Invalid value: '{kind}'. Supported values are: {supported}.",
                    "type",
                )
            await getattr(self, name)(event)
        except ClientError as err:
            await self.send_error(err.code, err.message, param=err.param, event_id=event_id)
        except (ConnectionClosed, SessionGone):
            raise
        except Exception:  # a simulator bug: make it visible, keep serving
            log.exception("simulator failed handling %s", kind)
            await self.send_error(
                "server_error", "The simulator failed on this event.", error_type="server_error",
                event_id=event_id,
            )

    # ----------------------------------------------------------------- sending

    async def send(self, event: dict[str, Any]) -> None:
        """Send one server event (``event_id`` is added), in order, unless held silent."""
        event = {"event_id": new_id("event"), **event}
        text = json.dumps(event, separators=(",", ":"))
        async with self._send_lock:
            await self.audible.wait()
            if self.dead:
                raise SessionGone
            await self.ws.send(text)
        sent = json.loads(text)  # what went on the wire, not the live objects it came from
        if not self.host.options.record_audio and "delta" in sent and "audio" in sent["type"]:
            sent["delta"] = ""
        self.record.events_sent.append(sent)
        self.host.changed()

    async def send_text(self, text: str) -> None:
        """Send a raw text frame (not recorded in ``events_sent``)."""
        async with self._send_lock:
            await self.audible.wait()
            if self.dead:
                raise SessionGone
            await self.ws.send(text)

    async def send_audio_delta(self, event: dict[str, Any]) -> None:
        """Send an audio delta, then abort the connection if ``drop_after_deltas`` says so."""
        await self.send(event)
        if self.host.delta_sent():
            log.info("drop_after_deltas reached: aborting session %s", self.record.id)
            self.abort()
            raise SessionGone

    async def send_error(
        self,
        code: str,
        message: str,
        *,
        param: str | None = None,
        event_id: str | None = None,
        error_type: str | None = None,
    ) -> None:
        if error_type is None:
            error_type = "server_error" if code == "server_error" else "invalid_request_error"
        error = {"type": error_type, "code": code, "message": message, "param": param,
                 "event_id": event_id}
        await self.send({"type": "error", "error": error})

    async def close(self, code: int, reason: str = "") -> None:
        await self.ws.close(code, reason)

    # ----------------------------------------------------------------- faults

    def abort(self) -> None:
        """Drop the TCP connection without a close frame."""
        self.dead = True
        self.audible.set()
        self.ws.transport.abort()

    def hold_silent(self, seconds: float) -> None:
        """Send nothing and leave everything received (pings included) unanswered for a while."""
        loop = asyncio.get_running_loop()
        self.silent_until = max(self.silent_until, loop.time() + seconds)
        self.audible.clear()
        self.ws.set_silenced(True)
        loop.call_at(self.silent_until, self._end_silence)

    def _end_silence(self) -> None:
        if asyncio.get_running_loop().time() + 1e-3 < self.silent_until:
            return  # a later hold_silent extended it
        self.silent_until = 0.0
        self.ws.set_silenced(False)
        self.audible.set()
