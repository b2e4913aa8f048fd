"""The WebSocket to the Realtime API: connect, configure, pump audio out and events in, reconnect.

This module owns the socket and nothing else. What an event means is the protocol module's job
(:mod:`.protocol`); what to keep while offline is the outbox's (:mod:`.outbox`). Every failure
ends in the same place, :meth:`RealtimeLink.run`'s loop, which chooses the delay by cause:
refused key -> ``api.auth_retry_s`` and the key is read again; 429 -> the server's Retry-After;
anything else -> exponential backoff with full jitter, reset after a session that went live.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from ..apikey import ApiKey, KeySource, KeyUnavailable
from ..config import ApiConfig
from ..state import Link, StatusModel
from ..trace import probe
from .backoff import Backoff, until_clock_steps
from .events import BYTES_PER_MS, audio_append_json
from .failures import Outcome, close_words, failed, rejected
from .outbox import Outbox
from .protocol import Action, Send, SessionLive, SessionOver

log = logging.getLogger(__name__)

CLOCK_RETRY_S = 2.0
"""While the clock is behind (see failures.X509_V_ERR_CERT_NOT_YET_VALID): try again this often, and
at once when the clock is stepped. Not the backoff: the time sync fixes it any second, unasked."""

MAX_FRAME_BYTES = 4 * 1024 * 1024
"""Largest server frame we accept. Audio deltas are a few KiB; a bigger frame is a fault, and
websockets closes the connection (1009) rather than buffer it: we then reconnect."""


class SessionProtocol(Protocol):
    """What the link needs of a protocol state machine (conversation or translation)."""

    live: bool
    response_open: bool

    def opening(self) -> list[Action]: ...
    def handle(self, event: dict[str, Any]) -> list[Action]: ...
    def abandon_response(self) -> list[Action]: ...


@dataclass(frozen=True)
class SessionKind:
    """Which endpoint and protocol the next session uses (interpreter mode has its own)."""

    name: str  # "realtime" or "translation", for the log
    path: str  # appended to api.url: "" or "/translations"
    model: str
    make_protocol: Callable[[], Any]
    append_json: Callable[[bytes], str] = audio_append_json
    frame_bytes: int = 0
    """0: send mic chunks as captured; else exactly this many bytes per append (200 ms frames)."""


class RealtimeLink:
    """Owns the connection. ``on_action`` receives every protocol action except the sends."""

    def __init__(
        self,
        api: ApiConfig,
        keys: KeySource,
        status: StatusModel,
        outbox: Outbox,
        session_kind: Callable[[], SessionKind],
        on_action: Callable[[Action], None],
        on_session_lost: Callable[[], None] = lambda: None,
        is_quiet: Callable[[], bool] = lambda: True,
    ) -> None:
        self._api = api
        self._keys = keys
        self._status = status
        self._outbox = outbox
        self._session_kind = session_kind
        self._kind: SessionKind | None = None
        self._on_action = on_action
        self._on_session_lost = on_session_lost
        self._is_quiet = is_quiet
        self._rolled_over: str | None = None
        self._backoff = Backoff(api.backoff_initial_s, api.backoff_max_s)
        self._ws: ClientConnection | None = None
        self._audio_waiting = asyncio.Event()
        self._after_audio: list[dict[str, Any]] = []
        self.protocol: Any = None  # ConversationProtocol or TranslationProtocol, while connected
        self._pending_sends: set[asyncio.Task[None]] = set()
        self._offline_since: float | None = None
        self.reconnects = 0
        self._half_open = False
        self._written_ms = 0.0
        """Audio of this session handed to the socket, in ms (what a pong confirms)."""
        self.on_outcome: Callable[[Outcome], None] = lambda outcome: None
        """Told how every attempt or session ended (metrics and journal count the causes)."""
        self.live_since: float | None = None
        """time.monotonic() when the current session went live; None while there is none."""
        self.sessions = 0
        self.sessions_live = 0

    # -- called by the rest of the daemon (event loop thread) -----------------------------------

    def audio_ready(self) -> None:
        """New audio is in the outbox; the sender sends it if a session is live."""
        self._audio_waiting.set()

    def send(self, actions: list[Action]) -> None:
        """Send protocol-built events now, if connected; a dead session needs none of them."""
        for action in actions:
            if isinstance(action, Send):
                self._send_later(action.event)

    def send_after_audio(self, events: list[dict[str, Any]]) -> None:
        """Send these once every captured chunk before them is on the wire (hold-to-talk's commit
        must follow the last append, not overtake it). Dropped if no session is live."""
        if self.live:
            self._after_audio.extend(events)
            self._audio_waiting.set()

    @property
    def live(self) -> bool:
        return self.protocol is not None and self.protocol.live

    # -- the loop ----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect and serve forever; returns only by cancellation."""
        logged_cause: str | None = None
        while True:
            if self._status.facts.link is Link.DOWN:
                self._status.update(link=Link.CONNECTING)  # the first attempt; afterwards OFFLINE says why
            outcome = await self._attempt()
            self.on_outcome(outcome)
            if outcome.went_live:
                self._backoff.reset()
                logged_cause, self._offline_since = None, time.monotonic()
                if outcome.immediate:
                    log.info("server ended the session (%s): starting a new one", outcome.cause)
                else:
                    log.warning("connection lost: %s; reconnecting", outcome.cause)
            elif self._offline_since is None:
                self._offline_since = time.monotonic()
            clock_wait = False
            if outcome.auth:
                self._status.update(link=Link.AUTH_ERROR, detail=outcome.cause)
                delay = self._api.auth_retry_s
            elif outcome.clock:  # not an outage: retried soon, and at once when the clock is set
                self._status.update(link=Link.CLOCK_UNSET, detail=outcome.cause)
                delay, clock_wait = CLOCK_RETRY_S, True
            else:
                if not outcome.immediate:  # a swap (rollover, expiry, mode change) is not an outage
                    self._status.update(link=Link.OFFLINE, detail=outcome.cause)
                delay = 0.0 if outcome.immediate else self._backoff.next_delay()
                if outcome.retry_after_s is not None:
                    delay = max(delay, outcome.retry_after_s)
            if not outcome.went_live and outcome.cause != logged_cause:
                log.warning("cannot connect: %s; retrying in %.1f s", outcome.cause, delay)
                logged_cause = outcome.cause
            self.reconnects += 1
            await (until_clock_steps(delay) if clock_wait else asyncio.sleep(delay))

    async def _attempt(self) -> Outcome:
        try:
            key = await self._keys.read_async()
        except KeyUnavailable as exc:
            return Outcome(str(exc), auth=True)
        kind = self._kind = self._session_kind()
        try:
            ws = await connect(
                self._uri(kind),
                additional_headers=self._auth_header(key),
                open_timeout=self._api.connect_timeout_s,
                ping_interval=None,  # our own keepalive: see _keep_alive
                ping_timeout=None,
                close_timeout=0.5,
                max_size=MAX_FRAME_BYTES,
                compression=None,  # deflating base64 audio costs CPU a Pi Zero does not have
                ssl=ssl.create_default_context() if self._api.url.startswith("wss:") else None,
                user_agent_header="polybot-device",
            )
        except InvalidStatus as exc:
            return rejected(exc)
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            return failed(exc)
        try:
            return await self._serve(ws, kind)
        finally:
            self.protocol = None
            self._ws = None
            self.live_since = None
            self._after_audio.clear()
            self._outbox.session_lost()
            self._on_session_lost()

    async def _serve(self, ws: ClientConnection, kind: SessionKind) -> Outcome:
        self._ws = ws
        protocol = self.protocol = kind.make_protocol()
        self.sessions += 1
        verdict: list[SessionOver] = []
        helpers: list[asyncio.Task[None]] = []
        went_live = False
        self._rolled_over: str | None = None
        self._half_open = False
        self._written_ms = 0.0
        loop = asyncio.get_running_loop()
        setup_deadline = loop.time() + self._api.connect_timeout_s
        try:
            helpers.append(asyncio.create_task(self._keep_alive(ws), name="keepalive"))
            self.send(protocol.opening())
            while True:
                if not went_live:
                    timeout: float | None = max(0.0, setup_deadline - loop.time())
                elif protocol.response_open:
                    timeout = self._api.response_stall_s
                else:
                    timeout = None
                try:
                    async with asyncio.timeout(timeout):
                        message = await ws.recv()  # cancelling recv() is safe in websockets
                except TimeoutError:
                    if not went_live:
                        return Outcome("the server did not confirm the session configuration")
                    log.warning("response stalled: nothing from the server for %.0f s; cancelling it",
                                self._api.response_stall_s)
                    message = None
                actions = self._handle(message, protocol) if message is not None else self._abandon(protocol)
                for action in actions:
                    if isinstance(action, SessionLive):
                        went_live = True
                        self._went_live()
                        helpers.append(asyncio.create_task(self._pump_audio(ws, kind), name="audio-sender"))
                        helpers.append(asyncio.create_task(self._roll_over_when_quiet(ws), name="rollover"))
                    elif isinstance(action, SessionOver):
                        verdict.append(action)
                    else:
                        self._on_action(action)
        except ConnectionClosed as exc:
            if self._rolled_over:
                return Outcome(self._rolled_over, went_live=True, immediate=True)
            if self._half_open:
                return Outcome(f"no pong within {self._api.ping_timeout_s:g} s (half-open connection)",
                               went_live=went_live)
            if not verdict:
                return Outcome(f"connection closed ({close_words(exc)})", went_live=went_live)
        finally:
            for task in helpers:
                task.cancel()
            # gather, not a loop of try/await/except CancelledError: a SIGTERM arriving while we
            # wait here must reach the run loop, not be swallowed as a helper's own cancellation
            # (it was: the daemon kept reconnecting after SIGTERM when it landed mid-teardown).
            await asyncio.gather(*helpers, return_exceptions=True)
            await ws.close()
        over = verdict[-1]
        return Outcome(over.reason, went_live=went_live, auth=over.auth,
                       retry_after_s=over.retry_after_s, immediate=went_live and not over.auth)

    def _went_live(self) -> None:
        self.sessions_live += 1
        self.live_since = time.monotonic()
        self._status.update(link=Link.UP, detail="")
        if self._offline_since is not None:
            log.info("session live after %.1f s without one", time.monotonic() - self._offline_since)
            self._offline_since = None
        else:
            log.info("session live")

    def _abandon(self, protocol: SessionProtocol) -> list[Action]:
        actions = []
        for action in protocol.abandon_response():
            if isinstance(action, Send):
                self._send_later(action.event)
            else:
                actions.append(action)
        return actions

    async def _roll_over_when_quiet(self, ws: ClientConnection) -> None:
        """Sessions end after 60 minutes; start a fresh one before that, while nobody speaks and
        nothing plays, so a kiosk runs for days with no audible gap. Audio captured during the
        swap waits in the outbox."""
        await asyncio.sleep(self._api.session_rollover_s)
        while not self._is_quiet():
            await asyncio.sleep(0.25)
        log.info("session is %.0f minutes old: rolling over to a fresh one while it is quiet",
                 self._api.session_rollover_s / 60)
        self._rolled_over = "session rollover"
        await ws.close(1000, "rollover")

    async def _keep_alive(self, ws: ClientConnection) -> None:
        """Ping every ping_interval_s; no pong within ping_timeout_s aborts the socket. Ours, not
        websockets': its ping() waits for the send buffer to drain outside its timeout, and a dead
        Wi-Fi link with a buffer full of audio never drains, so the link went unnoticed until TCP
        gave up, minutes later. Here the whole round trip is under the timeout, and the socket is
        aborted (a closing handshake with nobody there would only wait). Bound: a link that dies
        is noticed within ping_interval_s + ping_timeout_s. A pong also proves that the server
        has read every frame sent before its ping: that audio need not be kept for a re-send."""
        api = self._api
        while True:
            await asyncio.sleep(api.ping_interval_s)
            written_ms = self._written_ms
            try:
                async with asyncio.timeout(api.ping_timeout_s):
                    pong = await ws.ping()
                    await pong
            except TimeoutError:
                log.warning("no pong within %g s: the connection is dead (half-open); dropping it",
                            api.ping_timeout_s)
                self._half_open = True
                ws.transport.abort()
                return
            self._outbox.server_heard(written_ms)

    async def restart_session(self, reason: str) -> None:
        """End the current session now and start the next one at once (e.g. a mode switch that
        changes endpoint). Audio captured meanwhile waits in the outbox and is not lost."""
        ws = self._ws
        if ws is None:
            return
        self._rolled_over = reason
        if self._kind is not None and self._kind.name == "translation" and self.protocol is not None:
            try:
                await ws.send(json.dumps(self.protocol.close_event()))
            except ConnectionClosed:
                pass
        await ws.close(1000, reason[:60])

    def _handle(self, message: str | bytes, protocol: SessionProtocol) -> list[Action]:
        try:
            event: Any = json.loads(message)
        except (ValueError, UnicodeDecodeError):
            log.warning("server frame is not JSON, ignored (%d bytes: %r...)", len(message), message[:60])
            return []
        if not isinstance(event, dict):
            log.warning("server frame is JSON but not an event object, ignored: %r", str(event)[:60])
            return []
        try:
            actions = protocol.handle(event)
        except Exception:
            log.exception("server event %r could not be handled; carrying on", str(event.get("type"))[:60])
            return []
        result = []
        for action in actions:
            if isinstance(action, Send):
                self._send_later(action.event)
            else:
                result.append(action)
        return result

    async def _pump_audio(self, ws: ClientConnection, kind: SessionKind) -> None:
        """Sends the outbox while live: the backlog from an outage first, then each new chunk
        (or, for translation sessions, whole 200 ms frames)."""
        append_json, frame = kind.append_json, kind.frame_bytes
        framing = bytearray()
        while True:
            chunks = self._outbox.take()
            if frame:
                for chunk in chunks:
                    framing += chunk
                while len(framing) >= frame:
                    await ws.send(append_json(memoryview(framing)[:frame]))
                    del framing[:frame]
                    self._written_ms += frame / BYTES_PER_MS
            else:
                for chunk in chunks:
                    await ws.send(append_json(chunk))
                    self._written_ms += len(chunk) / BYTES_PER_MS
                    if probe is not None:
                        probe.mark("sent", id(chunk))
            while self._after_audio:
                await ws.send(json.dumps(self._after_audio.pop(0), separators=(",", ":")))
            dropped = self._outbox.take_dropped_ms()
            if dropped:
                log.warning("outage buffer was full: the oldest %.1f s of audio were dropped", dropped / 1000)
            self._audio_waiting.clear()
            if not self._outbox.pending_ms and not self._after_audio:
                await self._audio_waiting.wait()

    def _send_later(self, event: dict[str, Any]) -> None:
        ws = self._ws
        if ws is None:
            log.debug("not connected: %s not sent", event.get("type"))
            return
        text = json.dumps(event, separators=(",", ":"))
        task = asyncio.get_running_loop().create_task(_send_quietly(ws, text, event.get("type")))
        self._pending_sends.add(task)
        task.add_done_callback(self._pending_sends.discard)

    def _uri(self, kind: SessionKind) -> str:
        return f"{self._api.url}{kind.path}?{urlencode({'model': kind.model})}"

    def _auth_header(self, key: ApiKey) -> dict[str, str]:
        if self._api.auth_header == "api-key":
            return {"api-key": key.value}
        return {"Authorization": f"Bearer {key.value}"}


async def _send_quietly(ws: ClientConnection, text: str, kind: Any) -> None:
    try:
        await ws.send(text)
    except ConnectionClosed:
        log.debug("connection closed before %s was sent", kind)
