"""The local Realtime simulator: a real websockets server on loopback, its knobs and its records.

Endpoints (``url`` is ``ws://HOST:PORT/v1/realtime``):

- ``/v1/realtime?model=M``: conversation sessions (conversation.py);
- ``/v1/realtime/translations?model=M``: interpreter sessions (translation.py).

Auth is ``Authorization: Bearer KEY`` (or Azure's ``api-key: KEY``). Keys are kept on the
session records for tests to compare, and never logged.

Knobs live on ``RealtimeSimulator.options`` and are read when they matter, so a test may
change them on the live object at any time. Records (``client_events``, ``sessions``,
``handshakes``, ``responses_completed``) only grow; ``wait_for`` wakes on each change, so a
test waits for what it needs instead of sleeping.
"""

from __future__ import annotations

import asyncio
import http
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from ..realtime.session import SessionType
from .connection import Accepted, SimConnection
from .conversation import ConversationSession
from .options import SimulatorOptions
from .records import HandshakeRecord, SessionRecord
from .session import CLOSE_GOING_AWAY, CLOSE_INTERNAL, CLOSE_POLICY, BaseSession
from .translation import TranslationSession

log = logging.getLogger(__name__)
# websockets logs every request header at DEBUG, Authorization included: its logger for the
# simulator stops at INFO so that no log level ever shows a key.
_websockets_log = logging.getLogger(__name__ + ".websockets")
_websockets_log.setLevel(logging.INFO)

CONVERSATION_PATH = "/v1/realtime"
TRANSLATION_PATH = "/v1/realtime/translations"
FATAL_CLOSE_CODES = {"session_expired": CLOSE_GOING_AWAY, "invalid_api_key": CLOSE_POLICY,
                     "insufficient_quota": CLOSE_POLICY}


class RealtimeSimulator:
    """A local stand-in for the OpenAI Realtime API (GA protocol) on loopback."""

    def __init__(self, options: SimulatorOptions | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.options = options if options is not None else SimulatorOptions()
        self.host = host
        self.port = port
        self.client_events: list[dict[str, Any]] = []
        self.sessions: list[SessionRecord] = []
        self.handshakes: list[HandshakeRecord] = []
        self.responses_completed = 0
        self._open: set[BaseSession] = set()
        self._server: Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._change = asyncio.Event()
        self._deltas_counted = 0

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}{CONVERSATION_PATH}"

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._server = await serve(
            self._handle, self.host, self.port,
            process_request=self._process_request,
            create_connection=SimConnection,
            ping_interval=None,  # the simulator never pings: silence must be total
            max_size=16 * 2**20,  # the service accepts events up to 15 MiB
            logger=_websockets_log,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("Realtime simulator listening on %s", self.url)

    async def stop(self) -> None:
        if self._server is None:
            return
        for session in list(self._open):
            if session.silent_until:
                session.abort()  # a held connection could not finish a closing handshake
        self._server.close()
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> RealtimeSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ----------------------------------------------------------------- what sessions tell us
    # (the SessionHost interface of session.py: sessions know the server by nothing else)

    def changed(self) -> None:
        """A record changed: wake every wait_for."""
        changed, self._change = self._change, asyncio.Event()
        changed.set()

    def client_event(self, record: SessionRecord, event: dict[str, Any]) -> None:
        if not self.options.record_audio and "audio" in event:
            event = {**event, "audio": ""}
        record.client_events.append(event)
        self.client_events.append(event)
        self.changed()

    def response_completed(self, record: SessionRecord) -> None:
        record.responses_completed += 1
        self.responses_completed += 1
        self.changed()

    def delta_sent(self) -> bool:
        """Count one audio delta; True when drop_after_deltas says to abort now."""
        limit = self.options.drop_after_deltas
        if limit is None:
            self._deltas_counted = 0
            return False
        self._deltas_counted += 1
        if self._deltas_counted < limit:
            return False
        self.options.drop_after_deltas = None
        self._deltas_counted = 0
        return True

    async def wait_for(self, predicate: Callable[[], bool], timeout: float) -> None:
        """Return once ``predicate()`` is true, re-checking on every change; TimeoutError after
        ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            while True:
                change = self._change
                if predicate():
                    return
                await change.wait()

    # ----------------------------------------------------------------- faults

    async def drop_connections(self) -> None:
        """Abort every open connection (no close frame) and wait until their sessions ended."""
        sessions = list(self._open)
        for session in sessions:
            session.abort()
        await self.wait_for(lambda: all(s.record.closed for s in sessions), timeout=5)

    async def send_error(self, code: str, message: str, close: bool = False) -> None:
        """Send an ``error`` event to every open session; with ``close``, then close it
        (1001 for session_expired, 1008 for key/quota errors, else 1011)."""
        async def one(session: BaseSession) -> None:
            await session.send_error(code, message)
            if close:
                await session.close(FATAL_CLOSE_CODES.get(code, CLOSE_INTERNAL), code)
        await asyncio.gather(*(one(s) for s in list(self._open)), return_exceptions=True)

    async def send_raw(self, text: str) -> None:
        """Send a raw text frame, well-formed or not, to every open session."""
        await asyncio.gather(*(s.send_text(text) for s in list(self._open)),
                             return_exceptions=True)

    def hold_silent(self, seconds: float) -> None:
        """Half-open every open connection for ``seconds``: nothing is sent, nothing received is
        processed (no pongs, no answers; it is handled when the hold ends). Connections made
        meanwhile are not held. Safe from another thread (the hold then starts a moment later,
        on the simulator's loop)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self._loop is None or running is self._loop:
            self._hold_silent(seconds)
        else:
            self._loop.call_soon_threadsafe(self._hold_silent, seconds)

    def _hold_silent(self, seconds: float) -> None:
        for session in list(self._open):
            session.hold_silent(seconds)

    # ----------------------------------------------------------------- connections

    def _refuse(self, connection: ServerConnection, request: Request, status: int,
                text: str) -> Response:
        self.handshakes.append(HandshakeRecord(request.path, status, time.monotonic()))
        self.changed()
        log.info("refusing handshake to %s with HTTP %d", urlsplit(request.path).path, status)
        return connection.respond(status, text + "\n")

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        opts = self.options
        url = urlsplit(request.path)
        path = url.path.rstrip("/")
        if path not in (CONVERSATION_PATH, TRANSLATION_PATH):
            return self._refuse(connection, request, 404, "not found")
        if opts.refuse_next > 0:
            opts.refuse_next -= 1
            return self._refuse(connection, request, 503, "service unavailable")
        if opts.handshake_status is not None:
            status = opts.handshake_status
            try:
                phrase = http.HTTPStatus(status).phrase.lower()
            except ValueError:
                phrase = "refused"
            response = self._refuse(connection, request, status, phrase)
            if opts.retry_after_s is not None:
                response.headers["Retry-After"] = f"{opts.retry_after_s:g}"
            return response
        key = _presented_key(request)
        if not key:
            return self._refuse(connection, request, 401, "missing api key")
        bad_key = opts.expected_key is not None and key != opts.expected_key
        if bad_key and opts.auth_failure != "event":
            return self._refuse(connection, request, 401, "invalid api key")
        model = parse_qs(url.query).get("model", [""])[0]
        if not model:
            return self._refuse(connection, request, 400, "missing required parameter: model")
        kind = SessionType.TRANSLATION if path == TRANSLATION_PATH else SessionType.REALTIME
        assert isinstance(connection, SimConnection)
        connection.accepted = Accepted(kind, model, key, bad_key)
        self.handshakes.append(HandshakeRecord(request.path, 101, time.monotonic()))
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        assert isinstance(ws, SimConnection) and ws.accepted is not None and ws.request is not None
        accepted = ws.accepted
        record = SessionRecord(path=ws.request.path, model=accepted.model, kind=accepted.kind, key=accepted.key)
        cls = TranslationSession if accepted.kind is SessionType.TRANSLATION else ConversationSession
        session = cls(self, ws, record)
        self.sessions.append(record)
        self._open.add(session)
        self.changed()
        log.info("session %s opened: %s model=%s", record.id, accepted.kind, accepted.model)
        try:
            await session.run(accepted.bad_key)
        finally:
            self._open.discard(session)
            if not session.dead:
                await ws.close()
            record.close_code = ws.close_code
            record.closed = True
            self.changed()
            log.info("session %s closed (%s)", record.id, record.close_code)


def _presented_key(request: Request) -> str:
    authorization = request.headers.get("Authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("api-key", "").strip()


async def run_simulator(host: str, port: int, options: SimulatorOptions,
                        on_ready: Callable[[str], None] | None = None) -> None:
    """Serve until cancelled; ``on_ready(url)`` is called once the port is listening."""
    async with RealtimeSimulator(options, host, port) as simulator:
        if on_ready is not None:
            on_ready(simulator.url)
        await asyncio.Future()
