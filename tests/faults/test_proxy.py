"""The fault proxy does what the fault tests rely on (a rig that lies would make them worthless)."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from tests.rig.proxy import FaultProxy
from tests.rig.timing import eventually, scaled

pytestmark = pytest.mark.faults


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture
def echo_proxy() -> Iterator[FaultProxy]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    proxy = FaultProxy("127.0.0.1", server.server_address[1])
    yield proxy
    proxy.close()
    server.shutdown()
    server.server_close()


def connect(proxy: FaultProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=scaled(5))


def test_pass_and_delay_forward_in_order(echo_proxy):
    with connect(echo_proxy) as s:
        s.sendall(b"hello")
        assert s.recv(100) == b"hello"
        echo_proxy.set_mode("delay", delay_s=0.2)
        start = time.monotonic()
        for i in range(5):
            s.sendall(b"%d" % i)
        got = b""
        while len(got) < 5:
            got += s.recv(100)
        assert got == b"01234"
        assert time.monotonic() - start >= 0.4  # 0.2 s each way


def test_refuse_closes_the_port_and_keeps_open_connections(echo_proxy):
    with connect(echo_proxy) as s:
        s.sendall(b"a")
        assert s.recv(10) == b"a"  # accepted and forwarding (one still in the backlog would be lost)
        echo_proxy.set_mode("refuse")
        with pytest.raises(ConnectionRefusedError):
            connect(echo_proxy)
        s.sendall(b"still here")
        assert s.recv(100) == b"still here"
        echo_proxy.set_mode("pass")
        with connect(echo_proxy) as again:
            again.sendall(b"x")
            assert again.recv(10) == b"x"


def test_drop_resets_every_connection(echo_proxy):
    with connect(echo_proxy) as s:
        s.sendall(b"a")
        assert s.recv(10) == b"a"
        assert echo_proxy.drop() == 1
        try:  # RST: reset at once, or EOF and then a failing write
            eof = s.recv(10)
        except OSError:
            return
        assert eof == b""
        eventually(lambda: write_fails(s), 1, "a write on the dropped connection to fail")


def write_fails(s) -> bool:
    try:
        s.sendall(b"x" * 1000)
    except OSError:
        return True
    return False


def test_blackhole_keeps_tcp_open_forwards_nothing_and_pushes_back(echo_proxy):
    with connect(echo_proxy) as s:
        s.sendall(b"a")
        assert s.recv(10) == b"a"
        echo_proxy.set_mode("blackhole")
        s.sendall(b"b")
        s.settimeout(0.5)
        with pytest.raises(TimeoutError):
            s.recv(10)
        # A sender that keeps writing is blocked within a bounded amount (a dead link's window).
        s.setblocking(False)
        sent = 0
        try:
            for _ in range(10_000):
                sent += s.send(b"x" * 4096)
        except BlockingIOError:
            pass
        assert sent < 8 * 2**20, "the black hole swallowed everything"
        echo_proxy.set_mode("pass")  # the link comes back: what was held flows again
        s.setblocking(True)
        s.settimeout(scaled(5))
        assert s.recv(1) == b"b"
