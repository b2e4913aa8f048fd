"""Soak: months of service compressed into minutes. A person keeps talking (one utterance every
few seconds, each waited for), the connection is dropped mid-utterance every DROP_EVERY_S
seconds (a new session each time); the daemon's memory, open file descriptors and threads must
stay flat and no utterance may be lost.

Skipped unless asked for: ``pytest -m soak`` or ``POLYBOT_SOAK=1`` (CI sets it; .ci/run).
``POLYBOT_SOAK_S`` sets the length (default 300 s).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.soak

SOAK_S = float(os.environ.get("POLYBOT_SOAK_S", "300"))
DROP_EVERY_S = 15.0
WARMUP_S = 60.0
"""Memory is compared from here on: the first minute fills the caches and buffers a long run keeps."""
RSS_GROWTH_LIMIT_KB = 8 * 1024
LENGTHS_S = (0.8, 1.1, 1.4, 1.7)


def proc_figures(pid: int) -> tuple[int, int, int]:
    """(VmRSS in kB, open fds, threads) of a running process."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(status["VmRSS"].split()[0]), len(os.listdir(f"/proc/{pid}/fd")), int(status["Threads"])


@pytest.fixture
def soak_enabled(request: pytest.FixtureRequest) -> None:
    asked = "soak" in (request.config.option.markexpr or "")
    if not (asked or os.environ.get("POLYBOT_SOAK") == "1"):
        pytest.skip("long soak: run with `-m soak` or POLYBOT_SOAK=1")


def test_soak_talking_through_a_drop_every_15_s_keeps_memory_fds_and_threads_flat_and_loses_nothing(
        soak_enabled, start_gadget, proxy, sim, report):
    sim.options.record_audio = False
    g = start_gadget(api={"url": proxy.url()}, logging={"level": "info"})
    g.healthy()
    pid = g.daemon.proc.pid
    started = time.monotonic()
    samples: list[tuple[float, int, int, int]] = [(0.0, *proc_figures(pid))]
    drops, next_drop, cycle = 0, started + DROP_EVERY_S, 0
    while time.monotonic() - started < SOAK_S:
        live, speech = g.live_sessions(), g.speech_started()
        g.say(LENGTHS_S[cycle % len(LENGTHS_S)])
        if time.monotonic() >= next_drop:  # the first utterance after each 15 s mark is cut
            next_drop += DROP_EVERY_S
            g.wait_speaking(speech, timeout=15)
            drops += proxy.drop()
            g.wait_live(live, timeout=15)
        g.wait_translated(60)
        samples.append((time.monotonic() - started, *proc_figures(pid)))
        cycle += 1
    elapsed = time.monotonic() - started
    code, _ = g.daemon.terminate()
    tally = g.tally()
    after = [s for s in samples if s[0] >= WARMUP_S] or samples[-1:]
    rss_growth_kb = samples[-1][1] - after[0][1]
    report(fault=f"soak: {elapsed:.0f} s talking, dropped mid-utterance every {DROP_EVERY_S:.0f} s",
           duration_s=round(elapsed), drops_survived=drops, sessions=len(sim.sim.sessions),
           fed=len(tally.fed), translated=tally.translated, duplicates=tally.duplicates,
           rss_kb={"start": samples[0][1], "after_warmup": after[0][1], "end": samples[-1][1],
                   "max": max(s[1] for s in samples)},
           fds={"start": samples[0][2], "after_warmup": after[0][2], "end": samples[-1][2],
                "max": max(s[2] for s in samples)},
           threads={"start": samples[0][3], "end": samples[-1][3], "max": max(s[3] for s in samples)})
    assert code == 0
    assert tally.lost == 0, tally
    assert drops >= int(SOAK_S // DROP_EVERY_S) - 2
    assert rss_growth_kb < RSS_GROWTH_LIMIT_KB, samples
    assert samples[-1][2] <= after[0][2] + 2, samples  # no fd leak
    assert samples[-1][3] <= after[0][3] + 2, samples  # no thread leak
    assert "Traceback" not in g.log()
