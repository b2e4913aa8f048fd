"""The doctor's network checks: DNS, then one real session handshake (TLS, the key, the model).

The handshake is the daemon's own: the same connect (realtime.dial.dial, which also refuses
redirects with an api-key header) and the same session protocol machine (sessions.SessionChoice),
run until the server confirms the session or says why not. With ``api.url`` on a loopback
simulator it checks the simulator instead. Failures are worded by realtime.failures, so the doctor
and the journal say the same thing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from ..apikey import KeySource, KeyUnavailable
from ..config import Config, is_loopback, uses_tls
from ..modes import Selection
from ..realtime import decoding
from ..realtime.actions import Action, Send, SessionOver
from ..realtime.dial import dial
from ..realtime.failures import Cause, close_words, rejected, unreachable
from ..realtime.session import SessionProtocol
from ..sessions import SessionChoice
from . import clock
from .report import Finding, Report, Verdict

log = logging.getLogger(__name__)

DNS_TIMEOUT_S = 5.0
NETWORK_ADVICE = "check the Wi-Fi or cable (`nmcli device status`) and api.url"


@dataclass(frozen=True)
class Handshake:
    findings: list[Finding]
    server_date: str | None = None


async def run_network(config: Config, keys: KeySource, report: Report) -> None:
    """Adds the DNS, connection (TLS), API key and clock findings."""
    url = config.api.url
    host = urlsplit(url).hostname or ""
    server_date = None
    dns = report.add(await _resolve(host))
    if dns.verdict is Verdict.FAIL:
        report.add(Finding("API key", Verdict.SKIP, "needs the server to be found first"))
    else:
        done = await _handshake(config, keys)
        for finding in done.findings:
            report.add(finding)
        server_date = done.server_date
    report.add(clock.judge(time.time(), clock.installed_at(), await asyncio.to_thread(clock.ntp_synchronized),
                           clock.server_time(server_date)))


async def _resolve(host: str) -> Finding:
    if is_loopback(host):
        return Finding("DNS", Verdict.PASS, f"{host} (loopback: the local simulator)")
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, 443, type=socket.SOCK_STREAM), DNS_TIMEOUT_S)
    except TimeoutError:
        return Finding("DNS", Verdict.FAIL, f"{host}: no answer within {DNS_TIMEOUT_S:g} s", NETWORK_ADVICE)
    except OSError as exc:
        return Finding("DNS", Verdict.FAIL, f"{host}: {exc.strerror or exc}", NETWORK_ADVICE)
    return Finding("DNS", Verdict.PASS, f"{host} -> {infos[0][4][0]}")


async def _handshake(config: Config, keys: KeySource) -> Handshake:
    try:
        key = await keys.read_async()
    except KeyUnavailable as exc:
        return Handshake([Finding("API key", Verdict.FAIL, str(exc),
                                  "put the key in /etc/polybot/openai_api_key (root only, 0600), or set api.key_file")])
    choice = SessionChoice(config, Selection.from_config(config))
    kind = choice.kind()
    try:
        ws = await dial(config.api, kind, key)
    except InvalidStatus as exc:
        outcome = rejected(exc)
        return Handshake([_link_ok(config), _refused(outcome.cause, outcome.words)], exc.response.headers.get("Date"))
    except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
        return Handshake([_unreachable(config, exc)])
    try:
        date = ws.response.headers.get("Date") if ws.response is not None else None
        return Handshake([_link_ok(config), await _until_live(ws, kind.make_protocol(), kind.model, config)], date)
    finally:
        await ws.close()


def _link_ok(config: Config) -> Finding:
    if uses_tls(config.api.url):
        return Finding("connection", Verdict.PASS, "TCP and TLS to the API: certificate verified")
    return Finding("connection", Verdict.PASS, "plain ws:// to the loopback simulator (no TLS)")


def _refused(cause: Cause, words: str) -> Finding:
    if cause.is_auth:
        return Finding("API key", Verdict.FAIL, words, "check the key (no spaces, not revoked) and the "
                                                       "account's billing at platform.openai.com")
    return Finding("API key", Verdict.FAIL, f"not checked: {words}", "the service may be down; try again later")


def _unreachable(config: Config, exc: BaseException) -> Finding:
    outcome = unreachable(exc)
    if outcome.cause is Cause.TLS:
        advice = "the clock may be wrong (see the clock line), or something on the network intercepts TLS"
    else:
        advice = NETWORK_ADVICE
    return Finding("connection", Verdict.FAIL, f"{urlsplit(config.api.url).netloc}: {outcome.words}", advice)


async def _until_live(ws: ClientConnection, protocol: SessionProtocol, model_name: str, config: Config) -> Finding:
    """Send the session's opening; read events until the server confirms it, refuses it, or times out."""
    model = f"session with {model_name}"
    try:
        async with asyncio.timeout(config.api.connect_timeout_s):
            actions = protocol.opening()
            while True:
                for action in actions:
                    if isinstance(action, Send):
                        await ws.send(json.dumps(action.event))
                    elif isinstance(action, SessionOver):
                        return _refused(Cause.AUTH if action.auth else Cause.OTHER, action.reason)
                if protocol.live:
                    return Finding("API key", Verdict.PASS, f"accepted: {model} is live")
                actions = _handle(protocol, decoding.parse_frame(await ws.recv()))
    except TimeoutError:
        return Finding("API key", Verdict.FAIL, f"{model}: not confirmed within {config.api.connect_timeout_s:g} s",
                       "the network is slow or the service is busy; try again")
    except ConnectionClosed as exc:
        return Finding("API key", Verdict.FAIL, f"{model}: the server closed it ({close_words(exc)})",
                       "check api.model and the key")


def _handle(protocol: SessionProtocol, event: dict[str, Any] | None) -> list[Action]:
    """A server event through the protocol machine; one it cannot handle is skipped, as the daemon does."""
    if event is None:
        return []
    try:
        return protocol.handle(event)
    except Exception:
        log.exception("server event %r could not be handled; carrying on", str(event.get("type"))[:60])
        return []
