"""A TCP proxy on loopback that breaks the network on request. The daemon connects to it instead
of the simulator, so every fault goes through the daemon's real sockets.

Modes (``proxy.set_mode(...)``, callable from any thread; they apply to open connections too):

- ``pass``: bytes flow both ways.
- ``delay``: each chunk is forwarded ``delay_s`` later, in order, both ways (a slow link).
- ``refuse``: the listening socket is closed, so a connect fails with ECONNREFUSED; open
  connections are left alone (one still in the listen backlog, not yet accepted, is lost).
  Leaving the mode listens again on the same port.
- ``blackhole``: TCP stays open but nothing flows: the proxy stops reading both sockets, so the
  kernel buffers fill and the sender's writes block, as when Wi-Fi dies with no RST (half-open).
  New connections are accepted (the TCP handshake completes) and get nothing either.

Action: ``drop()`` aborts every open connection at once (RST both ways, no close frame).

The listening socket's receive buffer is small (``RCVBUF_BYTES``), so a black hole pushes back
on the daemon's audio within a few seconds, as a dead Wi-Fi link does, instead of swallowing
minutes of it in loopback's large buffers. ``tls`` (an ``ssl.SSLContext``) makes the proxy
terminate TLS, for wss:// tests; ``set_tls`` swaps the certificate for new connections.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections import deque
from typing import Any

from tests.rig.timing import scaled

RCVBUF_BYTES = 16384
MODES = ("pass", "delay", "refuse", "blackhole")


class _Side(asyncio.Protocol):
    def __init__(self, link: _Link, name: str) -> None:
        self.link, self.name = link, name
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.link.made(self)

    def data_received(self, data: bytes) -> None:
        self.link.forward(self, data)

    def eof_received(self) -> bool:
        self.link.close()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.link.close()


class _Link:
    """One client connection and its upstream connection."""

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        self.client: _Side | None = None
        self.upstream: _Side | None = None
        self._early: list[bytes] = []  # from the client before upstream was connected
        self._queues: dict[str, deque[tuple[float, bytes]]] = {"client": deque(), "upstream": deque()}
        self._timers: dict[str, asyncio.TimerHandle | None] = {"client": None, "upstream": None}
        self.closed = False

    def made(self, side: _Side) -> None:
        if side.name == "client":
            self.client = side
            self.proxy._links.add(self)
            with self.proxy._accepted:
                self.proxy.connections += 1
                self.proxy._accepted.notify_all()
            asyncio.get_running_loop().create_task(self._connect_upstream())
        else:
            self.upstream = side
            for data in self._early:
                self.forward(self.client, data)  # type: ignore[arg-type]
            self._early.clear()
        self.apply_mode()

    async def _connect_upstream(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(lambda: _Side(self, "upstream"), self.proxy.upstream_host,
                                         self.proxy.upstream_port)
        except OSError:
            self.abort()

    def apply_mode(self) -> None:
        for side in (self.client, self.upstream):
            if side is None or side.transport is None or side.transport.is_closing():
                continue
            if self.proxy.mode == "blackhole":
                side.transport.pause_reading()
            else:
                side.transport.resume_reading()

    def forward(self, source: _Side, data: bytes) -> None:
        target = self.upstream if source.name == "client" else self.client
        if target is None or target.transport is None:
            self._early.append(data)
            return
        delay = self.proxy.delay_s if self.proxy.mode == "delay" else 0.0
        queue = self._queues[source.name]
        if delay <= 0 and not queue:
            target.transport.write(data)
            return
        loop = asyncio.get_running_loop()
        queue.append((loop.time() + delay, data))
        if self._timers[source.name] is None:
            self._timers[source.name] = loop.call_at(queue[0][0], self._release, source.name, target)

    def _release(self, name: str, target: _Side) -> None:
        self._timers[name] = None
        queue = self._queues[name]
        loop = asyncio.get_running_loop()
        while queue and queue[0][0] <= loop.time():
            _, data = queue.popleft()
            if target.transport is not None and not target.transport.is_closing():
                target.transport.write(data)
        if queue:
            self._timers[name] = loop.call_at(queue[0][0], self._release, name, target)

    def abort(self) -> None:
        for side in (self.client, self.upstream):
            if side is not None and side.transport is not None:
                side.transport.abort()
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for timer in self._timers.values():
            if timer is not None:
                timer.cancel()
        for side in (self.client, self.upstream):
            if side is not None and side.transport is not None and not side.transport.is_closing():
                side.transport.close()
        self.proxy._links.discard(self)


class FaultProxy:
    """Listens on 127.0.0.1 (an ephemeral port) and forwards to ``upstream_host:upstream_port``,
    on its own event loop thread."""

    def __init__(self, upstream_host: str, upstream_port: int, tls: ssl.SSLContext | None = None) -> None:
        self.upstream_host, self.upstream_port = upstream_host, upstream_port
        self.mode = "pass"
        self.delay_s = 0.0
        self.connections = 0
        """Client connections accepted so far (see wait_connections)."""
        self._accepted = threading.Condition()
        self._tls = tls
        self._links: set[_Link] = set()
        self._server: asyncio.base_events.Server | None = None
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        self._call(self._listen())

    # -- called from the test's thread ----------------------------------------------------------

    def url(self, path: str = "/v1/realtime") -> str:
        scheme = "wss" if self._tls is not None else "ws"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def set_mode(self, mode: str, delay_s: float | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")
        self._call(self._set_mode(mode, delay_s))

    def drop(self) -> int:
        """Abort every open connection now; returns how many there were."""
        return self._call(self._drop())

    def set_tls(self, tls: ssl.SSLContext) -> None:
        """Serve new connections with this TLS context (e.g. another certificate)."""
        self._call(self._set_tls(tls))

    def wait_connections(self, more_than: int, timeout: float) -> None:
        """Wait until more than ``more_than`` client connections have been accepted."""
        with self._accepted:
            if not self._accepted.wait_for(lambda: self.connections > more_than, scaled(timeout)):
                raise TimeoutError(f"proxy: still {self.connections} connections after {scaled(timeout):.1f} s")

    @property
    def open_connections(self) -> int:
        return len(self._links)

    def close(self) -> None:
        if self.loop.is_closed() or not self._thread.is_alive():
            return
        try:
            self._call(self._close(), timeout=5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(scaled(5))

    # -- on the proxy's loop ------------------------------------------------------------------

    def _call(self, coro: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(scaled(timeout))

    async def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)  # inherited by accepted sockets
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Side(_Link(self), "client"), sock=sock, ssl=self._tls)

    async def _unlisten(self) -> None:
        if self._server is not None:
            self._server.close()  # existing connections stay open
            self._server = None

    async def _set_mode(self, mode: str, delay_s: float | None) -> None:
        if delay_s is not None:
            self.delay_s = delay_s
        if mode == "refuse" and self._server is not None:
            await self._unlisten()
        elif mode != "refuse" and self._server is None:
            await self._listen()
        self.mode = mode
        for link in list(self._links):
            link.apply_mode()

    async def _drop(self) -> int:
        links = list(self._links)
        for link in links:
            link.abort()
        return len(links)

    async def _set_tls(self, tls: ssl.SSLContext) -> None:
        self._tls = tls
        if self._server is not None:
            await self._unlisten()
            await self._listen()

    async def _close(self) -> None:
        await self._unlisten()
        await self._drop()
