"""The daemon as systemd would run it: a subprocess with a config file, a NOTIFY_SOCKET the test
binds, stderr captured. And the simulator on its own loop thread, so sync tests can drive it.

Every ``timeout`` here is seconds on an idle machine, stretched by the suite's time factor
(tests/rig/timing.py): callers pass the number they mean and never scale it themselves."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from polybot_device.simulator import RealtimeSimulator, SimulatorOptions
from tests.rig.timing import scaled

REPO = Path(__file__).resolve().parents[2]


class SimulatorThread:
    """RealtimeSimulator on a background event loop. Knobs: mutate ``.options`` directly."""

    def __init__(self, options: SimulatorOptions | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="simulator", daemon=True)
        self._thread.start()
        self.sim = RealtimeSimulator(options or SimulatorOptions())
        self.call(self.sim.start())

    def call(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(scaled(timeout))

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> None:
        """Until ``predicate()`` holds, re-checked on each change the simulator signals; TimeoutError."""
        self.call(self.sim.wait_for(predicate, scaled(timeout)), timeout + 5)

    @property
    def url(self) -> str:
        return self.sim.url

    @property
    def options(self) -> SimulatorOptions:
        return self.sim.options

    def close(self) -> None:
        if self.loop.is_closed() or not self._thread.is_alive():
            return
        try:
            self.call(self.sim.stop(), 10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(scaled(5))


class DatagramSink:
    """A unix datagram socket the daemon writes to (NOTIFY_SOCKET, journald's socket), read by a
    thread; each datagram is parsed by ``parse`` and kept in order."""

    def __init__(self, path: Path, parse: Callable[[bytes], Any], recv_bytes: int = 1 << 20) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self._parse = parse
        self._recv_bytes = recv_bytes
        self.items: list[Any] = []
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                data = self.sock.recv(self._recv_bytes)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._cond:
                self.items.append(self._parse(data))
                self._cond.notify_all()

    def snapshot(self) -> list[Any]:
        with self._cond:
            return list(self.items)

    def close(self) -> None:
        self._stop = True
        self.sock.close()


class NotifySocket(DatagramSink):
    """Stands in for systemd's NOTIFY_SOCKET; collects every sd_notify message."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, lambda data: (time.monotonic(), data.decode()))

    @property
    def messages(self) -> list[tuple[float, str]]:
        return self.snapshot()

    def lines(self) -> list[str]:
        return [line for _, m in self.snapshot() for line in m.splitlines()]

    def wait_for(self, predicate: Callable[[list[str]], bool], timeout: float) -> None:
        """Until ``predicate(lines)`` holds, re-checked on each message that arrives; TimeoutError."""
        with self._cond:
            lines = lambda: [line for _, m in self.items for line in m.splitlines()]  # noqa: E731
            if not self._cond.wait_for(lambda: predicate(lines()), scaled(timeout)):
                raise TimeoutError(f"notify: condition not met within {scaled(timeout):.1f} s; "
                                   f"got {self.items[-10:]}")


class DaemonProcess:
    def __init__(self, tmp: Path, config: dict, env: dict[str, str], key: str | None = "sk-test-key-0123456789abcdef",
                 watchdog_usec: int | None = None) -> None:
        self.config_path = tmp / "polybot.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.notify = NotifySocket(tmp / "notify.sock")
        self.stderr_path = tmp / "daemon.log"
        full_env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "CREDENTIALS_DIRECTORY",
                                                                      "JOURNAL_STREAM", "WATCHDOG_USEC")}
        full_env.update(env)
        full_env["NOTIFY_SOCKET"] = str(self.notify.path)
        if key is not None:
            full_env["OPENAI_API_KEY"] = key
        if watchdog_usec is not None:
            full_env["WATCHDOG_USEC"] = str(watchdog_usec)
        self._stderr = open(self.stderr_path, "w")  # noqa: SIM115 - the daemon writes it until close()
        self.proc = subprocess.Popen([sys.executable, "-m", "polybot_device", "run", "--config", str(self.config_path)],
                                     env=full_env, stdout=self._stderr, stderr=subprocess.STDOUT, cwd=REPO)

    def log(self) -> str:
        return self.stderr_path.read_text()

    def wait_ready(self, timeout: float = 20) -> None:
        self.notify.wait_for(lambda lines: "READY=1" in lines, timeout)

    def terminate(self, timeout: float = 10) -> tuple[int, float]:
        """SIGTERM; returns (exit status, seconds it took to exit)."""
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(scaled(timeout))
        return code, time.monotonic() - start

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(scaled(5))
        self._stderr.close()
        self.notify.close()
