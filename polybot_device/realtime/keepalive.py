"""Noticing a dead connection within seconds: our own ping/pong, with the whole round trip timed.

Not websockets' keepalive: its ping() waits for the send buffer to drain outside its timeout, and
a dead Wi-Fi link with a buffer full of audio never drains, so the link went unnoticed until TCP
gave up, minutes later. Here the whole round trip is under the timeout, and the socket is aborted
(a closing handshake with nobody there would only wait). Bound: a link that dies is noticed
within ``interval_s + timeout_s``. A pong also proves that the server has read every frame sent
before its ping: that audio need not be kept for a re-send.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from websockets.asyncio.client import ClientConnection

log = logging.getLogger(__name__)


async def keep_alive(ws: ClientConnection, interval_s: float, timeout_s: float, written_ms: Callable[[], float],
                     heard: Callable[[float], None], dead: Callable[[], None]) -> None:
    """Ping every ``interval_s``. A pong: ``heard(ms)`` with the audio written before the ping.
    No pong within ``timeout_s``: ``dead()``, the socket is aborted and this returns."""
    while True:
        await asyncio.sleep(interval_s)
        before_ping_ms = written_ms()
        try:
            async with asyncio.timeout(timeout_s):
                pong = await ws.ping()
                await pong
        except TimeoutError:
            log.warning("no pong within %g s: the connection is dead (half-open); dropping it", timeout_s)
            dead()
            ws.transport.abort()
            return
        heard(before_ping_ms)
