"""The WebSocket to the Realtime API: connect, configure, pump audio out and events in, reconnect.

This module owns the socket and nothing else. What an event means is the protocol machines' job
(:mod:`.session`); what to keep while offline is the outbox's (:mod:`.outbox`); sending audio is
the sender's (:mod:`.sender`). Every failure ends in the same place, :meth:`RealtimeLink.run`'s
loop, which asks :mod:`.retry` how long to wait (by cause, and by how long the session lived) and
what to show meanwhile; a clock behind the certificate waits briefly and ends as soon as the clock
is set. Nothing a server sends may end the process: an action the rest of the daemon
fails to handle is logged and dropped. Words shown in the status pass :mod:`..redact`, and the key
just tried is masked in them (a library's error text may quote a header).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from ..apikey import KeySource, KeyUnavailable, KeyUnusable
from ..config import ApiConfig
from ..redact import MASK
from ..state import Link, StatusModel
from . import decoding
from .actions import Action, Play, Send, SessionLive, SessionOver
from .backoff import until_clock_steps
from .dial import dial
from .failures import Cause, Outcome, close_words, ended_by_server, rejected, unreachable
from .keepalive import keep_alive
from .outbox import Outbox
from .retry import KEY_POLL_S, RetryPolicy
from .sender import AudioSender, EventSender
from .session import SessionKind, SessionProtocol
from .translation import as_wire

log = logging.getLogger(__name__)


class RealtimeLink:
    """Owns the connection. ``on_action`` receives every protocol action except the sends;
    ``on_outcome`` how every attempt or session ended (the fleet reporting counts the causes)."""

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
        on_outcome: Callable[[Outcome], None] = lambda outcome: None,
    ) -> None:
        self._api = api
        self._keys = keys
        self._status = status
        self._outbox = outbox
        self._session_kind = session_kind
        self._on_action = on_action
        self._on_session_lost = on_session_lost
        self._is_quiet = is_quiet
        self._on_outcome = on_outcome
        self._rolled_over: str | None = None
        self._retry = RetryPolicy(api.backoff_initial_s, api.backoff_max_s, api.auth_retry_s, api.stable_session_s)
        self._lived_s = 0.0
        self._key_seen: tuple[object, ...] | None = None
        self._ws: ClientConnection | None = None
        self._protocol: SessionProtocol | None = None
        self._sender = AudioSender(outbox)
        self._events = EventSender()
        self._offline_since: float | None = None
        self._half_open = False
        self.live_since: float | None = None
        """time.monotonic() when the current session went live; None while there is none."""

    # -- called by the rest of the daemon (event loop thread) -----------------------------------

    @property
    def live(self) -> bool:
        return self._protocol is not None and self._protocol.live

    @property
    def response_open(self) -> bool:
        return self._protocol is not None and self._protocol.response_open

    @property
    def audio_bytes_sent(self) -> int:
        """Audio append messages handed to the socket since start, in bytes (upstream data)."""
        return self._sender.sent_bytes

    def audio_ready(self) -> None:
        """New audio is in the outbox; the sender sends it if a session is live."""
        self._sender.audio_ready()

    def send_after_audio(self, events: list[dict[str, Any]]) -> None:
        """Send these once every captured chunk before them is on the wire (hold-to-talk's commit
        must follow the last append, not overtake it). Dropped if no session is live."""
        if self.live:
            self._sender.send_after_audio(events)

    def interrupt(self, played_ms: int) -> None:
        """Playback was stopped: the session says how much of the current item was heard."""
        if self._protocol is not None:
            self._events.send(self._protocol.interrupt(played_ms))

    def reconfigure(self, session_update_event: dict[str, Any]) -> None:
        """A live change (languages, VAD) on the current session; the next one gets it anyway."""
        if self._protocol is not None:
            self._events.send(self._protocol.reconfigure(session_update_event))

    async def restart_session(self, reason: str) -> None:
        """End the current session now and start the next one at once (e.g. a mode switch that
        changes endpoint). Audio captured meanwhile waits in the outbox and is not lost."""
        ws, protocol = self._ws, self._protocol
        if ws is None:
            return
        self._rolled_over = reason
        for action in protocol.closing() if protocol is not None else []:
            if isinstance(action, Send):
                try:
                    await ws.send(json.dumps(action.event))
                except ConnectionClosed:
                    pass
        await ws.close(1000, reason[:60])

    # -- the loop ----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect and serve forever; returns only by cancellation."""
        logged: str | None = None
        while True:
            if self._status.facts.link is Link.DOWN:
                self._status.update(link=Link.CONNECTING)  # the first attempt; afterwards OFFLINE says why
            outcome = await self._attempt()
            self._on_outcome(outcome)
            lived_s, self._lived_s = self._lived_s, 0.0
            if outcome.went_live:
                logged, self._offline_since = None, time.monotonic()
                if self._retry.is_swap(outcome, lived_s):
                    log.info("server ended the session (%s): starting a new one", outcome.words)
                else:
                    log.warning("connection lost after %.1f s live: %s; reconnecting", lived_s, outcome.words)
            elif self._offline_since is None:
                self._offline_since = time.monotonic()
            delay = self._retry.delay_s(outcome, lived_s)
            self._show(outcome, lived_s)
            if not outcome.went_live and outcome.words != logged:
                log.warning("cannot connect: %s; retrying in %.1f s", outcome.words, delay)
                logged = outcome.words
            if outcome.cause is Cause.CLOCK:
                await until_clock_steps(delay)
            else:
                await self._wait(delay, watch_key=outcome.auth)

    def _show(self, outcome: Outcome, lived_s: float) -> None:
        """The outage, or the key problem, in the status; a swap shows nothing."""
        if outcome.cause is Cause.KEY_UNUSABLE:
            self._status.update(link=Link.KEY_UNUSABLE, detail=outcome.words)
        elif outcome.auth:
            self._status.update(link=Link.AUTH_ERROR, detail=outcome.words)
        elif outcome.cause is Cause.CLOCK:  # not an outage: retried soon, and at once when the clock is set
            self._status.update(link=Link.CLOCK_UNSET, detail=outcome.words)
        elif not self._retry.is_swap(outcome, lived_s):
            self._status.update(link=Link.OFFLINE, detail=outcome.words)

    async def _wait(self, delay_s: float, watch_key: bool) -> None:
        """Sleeps ``delay_s``; after a key problem, ends early when the key file or credential
        changes (compared with what it was when the failed key was read)."""
        if not watch_key or self._key_seen is None:
            await asyncio.sleep(delay_s)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay_s
        while (left := deadline - loop.time()) > 0:
            await asyncio.sleep(min(KEY_POLL_S, left))
            if self._keys.fingerprint() != self._key_seen:
                log.info("the API key changed: trying it now")
                return

    async def _attempt(self) -> Outcome:
        self._key_seen = self._keys.fingerprint()  # before the read: a rotation after it is a change
        try:
            key = await self._keys.read_async()
        except KeyUnusable as exc:
            return Outcome(str(exc), Cause.KEY_UNUSABLE)
        except KeyUnavailable as exc:
            return Outcome(str(exc), Cause.KEY_UNAVAILABLE)
        kind = self._session_kind()
        try:
            ws = await dial(self._api, kind, key)
        except InvalidStatus as exc:
            return rejected(exc)
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI, ValueError) as exc:
            outcome = unreachable(exc)
            return replace(outcome, words=outcome.words.replace(key.value, MASK)) if key.value else outcome
        try:
            return await self._serve(ws, kind)
        finally:
            if self.live_since is not None:
                self._lived_s = time.monotonic() - self.live_since
            self._protocol = None
            self._ws = self._events.ws = None
            self.live_since = None
            self._sender.new_session()
            self._outbox.session_lost()
            self._on_session_lost()

    async def _serve(self, ws: ClientConnection, kind: SessionKind) -> Outcome:
        self._ws = self._events.ws = ws
        protocol = self._protocol = kind.make_protocol()
        self._rolled_over = None
        self._half_open = False
        self._sender.new_session()
        helpers: list[asyncio.Task[None]] = []
        verdict: list[SessionOver] = []
        try:
            helpers.append(asyncio.create_task(self._keep_alive(ws), name="keepalive"))
            self._events.send(protocol.opening())
            if not await self._until_live(ws, protocol, verdict):
                return Outcome("the server did not confirm the session configuration", Cause.TIMEOUT)
            helpers.append(asyncio.create_task(self._sender.run(ws, kind), name="audio-sender"))
            helpers.append(asyncio.create_task(self._roll_over_when_quiet(ws), name="rollover"))
            await self._serve_live(ws, protocol, verdict)
        except ConnectionClosed as exc:
            if not verdict or self._rolled_over or self._half_open:
                return self._closed(exc, went_live=self.live_since is not None)
        finally:
            for task in helpers:
                task.cancel()
            # gather, not a loop of try/await/except CancelledError: a SIGTERM arriving while we
            # wait here must reach the run loop, not be swallowed as a helper's own cancellation
            # (it was: the daemon kept reconnecting after SIGTERM when it landed mid-teardown).
            await asyncio.gather(*helpers, return_exceptions=True)
            await ws.close()
        return ended_by_server(verdict[-1], went_live=self.live_since is not None)

    async def _until_live(self, ws: ClientConnection, protocol: SessionProtocol, verdict: list[SessionOver]) -> bool:
        """Reads events until the session is live; False if that took longer than connect_timeout_s."""
        try:
            async with asyncio.timeout(self._api.connect_timeout_s):
                while not protocol.live:
                    await self._dispatch(self._handle(await ws.recv(), protocol), verdict)
        except TimeoutError:
            return False
        self._went_live()
        return True

    async def _serve_live(self, ws: ClientConnection, protocol: SessionProtocol, verdict: list[SessionOver]) -> None:
        """Reads events until the connection closes; a response silent for response_stall_s is
        abandoned, never left hanging."""
        while True:
            timeout = self._api.response_stall_s if protocol.response_open else None
            try:
                async with asyncio.timeout(timeout):
                    message = await ws.recv()  # cancelling recv() is safe in websockets
            except TimeoutError:
                log.warning("response stalled: nothing from the server for %.0f s; cancelling it",
                            self._api.response_stall_s)
                await self._dispatch(self._events.send(protocol.abandon_response()), verdict)
                continue
            await self._dispatch(self._handle(message, protocol), verdict)

    async def _dispatch(self, actions: list[Action], verdict: list[SessionOver]) -> None:
        """Hands the actions on, in order. Audio in another format is converted off the loop first
        (the next frame is read only after it: the order of what is played stays the server's)."""
        for action in actions:
            if isinstance(action, SessionOver):
                verdict.append(action)
            elif not isinstance(action, SessionLive):
                if isinstance(action, Play) and not action.is_wire:
                    action = await as_wire(action)
                try:
                    self._on_action(action)
                except Exception:  # whatever a server sent, it must not end the process
                    log.exception("%s from the server could not be handled; carrying on", type(action).__name__)

    def _closed(self, exc: ConnectionClosed, went_live: bool) -> Outcome:
        if self._rolled_over:
            return Outcome(self._rolled_over, Cause.ROLLOVER, went_live=True, immediate=True)
        if self._half_open:
            return Outcome(f"no pong within {self._api.ping_timeout_s:g} s (half-open connection)",
                           Cause.CONNECTION_LOST, went_live=went_live)
        return Outcome(f"connection closed ({close_words(exc)})", Cause.CONNECTION_LOST, went_live=went_live)

    def _went_live(self) -> None:
        self.live_since = time.monotonic()
        self._status.update(link=Link.UP, detail="")
        if self._offline_since is not None:
            log.info("session live after %.1f s without one", time.monotonic() - self._offline_since)
            self._offline_since = None
        else:
            log.info("session live")

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

    def _keep_alive(self, ws: ClientConnection) -> Coroutine[Any, Any, None]:
        api, sender = self._api, self._sender

        def dead() -> None:
            self._half_open = True

        return keep_alive(ws, api.ping_interval_s, api.ping_timeout_s, lambda: sender.written_ms,
                          self._outbox.server_heard, dead)

    def _handle(self, message: str | bytes, protocol: SessionProtocol) -> list[Action]:
        event = decoding.parse_frame(message)
        if event is None:
            return []
        try:
            actions = protocol.handle(event)
        except Exception:
            log.exception("server event %r could not be handled; carrying on", str(event.get("type"))[:60])
            return []
        return self._events.send(actions)
