"""Process health: the watchdog pings only while the event loop turns and every long-lived part
reports in; an unexpected crash exits 1 with its traceback in the log."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import subprocess
import sys
import time

import pytest
import yaml

import polybot_device.liveness
from polybot_device.apikey import KeySource
from polybot_device.cli import serve
from polybot_device.config import parse_config
from tests.faults.conftest import FAULT_API, KEY
from tests.rig.daemon import REPO, NotifySocket
from tests.rig.loopback import daemon_config
from tests.rig.timing import scaled

pytestmark = pytest.mark.faults

WATCHDOG_USEC = 400_000
"""WatchdogSec=0.4 s: the daemon pings every 0.2 s."""


def pings(notify: NotifySocket) -> list[float]:
    return [t for t, message in list(notify.messages) if "WATCHDOG=1" in message.splitlines()]


def test_watchdog_pings_stop_while_the_loop_hangs_or_the_mic_thread_is_stuck_and_resume_after(
        tmp_path, rig, sim, feeder, monkeypatch, report):
    """The daemon's own serve() on this test's event loop (the main thread, so its signal handlers
    work), with NOTIFY_SOCKET and WATCHDOG_USEC as systemd sets them."""
    notify = NotifySocket(tmp_path / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify.path))
    monkeypatch.setenv("WATCHDOG_USEC", str(WATCHDOG_USEC))
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    for key, value in rig.env().items():
        monkeypatch.setenv(key, value)
    # A stuck audio thread is declared after 10 s in the product; 1.5 s here keeps the test short.
    monkeypatch.setattr(polybot_device.liveness, "THREAD_STUCK_AFTER_S", 1.5)
    config = parse_config(daemon_config(sim, rig, api=FAULT_API))
    keys = KeySource(None, environ={"OPENAI_API_KEY": KEY})
    hang_s = 3.0
    found: dict[str, float] = {}

    async def wait_pings(more_than: int, timeout: float) -> float:
        await asyncio.to_thread(notify.wait_for, lambda lines: lines.count("WATCHDOG=1") > more_than, timeout)
        return time.monotonic()

    async def scenario() -> int:
        daemon = asyncio.create_task(serve(config, keys))
        await asyncio.to_thread(notify.wait_for, lambda lines: "READY=1" in lines, 20)
        await wait_pings(3, timeout=5)

        # 1. The loop itself hangs: a blocking call on it, as a bug would make.
        hang_from = time.monotonic()
        time.sleep(hang_s)
        hang_to = time.monotonic()
        during = [t for t in pings(notify) if hang_from + 0.05 < t < hang_to]
        found["loop_resumed_s"] = await wait_pings(len(pings(notify)), timeout=2) - hang_to
        found["loop_pings_during_hang"] = len(during)

        # 2. The loop turns but the mic thread is stuck in a blocking read (a FIFO nobody feeds:
        #    its writer stays open, as a wedged driver would).
        writer = os.open(rig.fifo, os.O_RDWR | os.O_NONBLOCK)
        try:
            feeder.stop()
            stuck_from = time.monotonic()
            await asyncio.sleep(1.5 + 2.0)  # the stuck bound, then 2 s that must have no ping
            last = max(pings(notify))
            found["pings_stop_after_s"] = last - stuck_from
            quiet_since = time.monotonic() - 2.0
            found["mic_pings_while_stuck"] = len([t for t in pings(notify) if t > quiet_since])
            feed_again = rig.feeder()  # the mic delivers again
            try:
                fed_at = time.monotonic()
                found["mic_resumed_s"] = await wait_pings(len(pings(notify)), timeout=5) - fed_at
            finally:
                feed_again.stop()
        finally:
            os.close(writer)
        os.kill(os.getpid(), signal.SIGTERM)  # serve()'s own handler: a clean stop
        return await asyncio.wait_for(daemon, scaled(10))

    try:
        code = asyncio.run(scenario())
    finally:
        notify.close()
    report(fault="event loop blocked for 3 s; mic thread stuck in a read", **{k: round(v, 2) for k, v in found.items()})
    assert found["loop_pings_during_hang"] == 0
    assert found["loop_resumed_s"] < 1.0
    assert found["pings_stop_after_s"] < 1.5 + 0.5
    assert found["mic_pings_while_stuck"] == 0
    assert found["mic_resumed_s"] < 2.0
    assert code == 0


def test_an_unexpected_crash_exits_1_with_its_traceback_in_the_log(tmp_path, report):
    """Out of file descriptors at start (RLIMIT_NOFILE 5): the event loop cannot be made. Not a
    config problem, not a clean stop: exit status 1, and the traceback is in the log."""
    config = tmp_path / "polybot.yaml"
    config.write_text(yaml.safe_dump({"api": {"url": "ws://127.0.0.1:9/v1/realtime"}}))
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "JOURNAL_STREAM")}
    env["OPENAI_API_KEY"] = KEY

    def starve() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (5, 5))

    result = subprocess.run([sys.executable, "-m", "polybot_device", "run", "--config", str(config)], env=env,
                            cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30,
                            preexec_fn=starve)
    report(fault="unexpected crash (out of file descriptors at start)", exit_status=result.returncode)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "unexpected crash" in result.stderr
    assert "Traceback (most recent call last)" in result.stderr
    assert "Too many open files" in result.stderr
