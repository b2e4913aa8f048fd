"""Metrics for node_exporter's textfile collector: valid Prometheus text, replaced atomically (a
reader never sees half a file), with the numbers a fleet dashboard needs."""

from __future__ import annotations

import math
import os
import threading
import time

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from polybot_device.fleet.atomic import write_atomically
from polybot_device.fleet.levels import FLOOR_DBFS, LevelMeter, mean_square, to_dbfs
from polybot_device.fleet.metrics import Snapshot, render
from polybot_device.state import State
from tests.fleet.conftest import one_utterance
from tests.rig.timing import eventually, scaled


def samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_rendered_metrics_parse_and_follow_prometheus_conventions():
    snap = Snapshot("1.2.3", "conversation", 1.7e9, State.SPEAKING, utterances=4,
                    reconnects={"network": 2}, dropped_s=1.5, xruns={"mic": 1}, session_age_s=12.5,
                    levels_dbfs={"mic": -42.0})
    snap.latency.observe(0.6)
    snap.latency.observe(30.0)
    families = {f.name: f for f in text_string_to_metric_families(render(snap))}
    assert families["polybot_utterances_translated"].type == "counter"
    assert families["polybot_response_latency_seconds"].type == "histogram"
    got = samples(render(snap))
    assert got[("polybot_state", (("state", "speaking"),))] == 1
    assert sum(v for (name, _), v in got.items() if name == "polybot_state") == 1  # one-hot
    assert got[("polybot_response_latency_seconds_bucket", (("le", "0.75"),))] == 1
    assert got[("polybot_response_latency_seconds_bucket", (("le", "+Inf"),))] == 2
    assert got[("polybot_response_latency_seconds_count", ())] == 2
    assert got[("polybot_reconnects_total", (("cause", "network"),))] == 2
    assert got[("polybot_reconnects_total", (("cause", "auth"),))] == 0  # every cause, so rate() works
    assert got[("polybot_outage_dropped_seconds_total", ())] == 1.5
    assert got[("polybot_audio_level_dbfs", (("stream", "mic"),))] == -42.0
    assert math.isnan(got[("polybot_audio_level_dbfs", (("stream", "speaker"),))])


def test_levels_tell_a_dead_mic_from_a_quiet_room_from_speech():
    def chunk(amplitude):
        t = np.arange(480) / 24000
        return (amplitude * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16).tobytes()

    assert to_dbfs(mean_square(bytes(960))) == FLOOR_DBFS
    assert -61 < to_dbfs(mean_square(chunk(0.0014))) < -59  # sine RMS is 3 dB under its peak
    assert -16 < to_dbfs(mean_square(chunk(0.25))) < -14
    meter = LevelMeter()
    meter.offer(chunk(0.25), 1)
    meter.offer(chunk(0.001), 1)  # same counter: nothing new arrived, ignored
    assert -16 < meter.take_dbfs() < -14
    assert math.isnan(meter.take_dbfs())  # nothing since


def _exposition(i: int, lines: int) -> str:
    body = "".join(f'polybot_test_series{{n="{k}"}} {i}\n' for k in range(lines))
    return f"# TYPE polybot_test_series gauge\n{body}# generation {i} end\n"


REWRITES_SEEN = 50
"""The atomic-replace check reads until it has seen the file change this many times: a count of
rewrites, not of seconds, so a busy machine makes it slower, never weaker."""


def _hammer(path, writer, enough) -> tuple[int, int, set[str]]:
    """A writer thread replaces the file over and over with big and small versions; this thread reads
    it back, each read checked to be one whole version that parses, until ``enough(rewrites_seen,
    torn)`` says so. Returns (rewrites seen, torn reads, parse problems)."""
    versions = [_exposition(i, 4000 if i % 2 else 3) for i in range(6)]
    writer(path, versions[0])
    stop = threading.Event()

    def write_loop():
        i = 0
        while not stop.is_set():
            writer(path, versions[i % len(versions)])
            i += 1

    thread = threading.Thread(target=write_loop, daemon=True)
    thread.start()
    seen = torn = 0
    problems: set[str] = set()
    previous = versions[0]
    deadline = time.monotonic() + scaled(60)
    try:
        while not enough(seen, torn):
            assert time.monotonic() < deadline, f"only {seen} rewrites seen ({torn} torn) in {scaled(60):.0f} s"
            text = path.read_text()
            if text != previous:
                seen += 1
                previous = text
            if text not in versions:
                torn += 1
                continue
            try:
                list(text_string_to_metric_families(text))
            except ValueError as exc:
                problems.add(str(exc))
    finally:
        stop.set()
        thread.join(scaled(5))
    return seen, torn, problems


def test_metrics_file_is_never_seen_half_written_by_a_concurrent_reader(tmp_path):
    seen, torn, problems = _hammer(tmp_path / "polybot.prom", write_atomically,
                                   lambda seen, torn: seen >= REWRITES_SEEN)
    assert torn == 0 and not problems
    assert [p.name for p in tmp_path.iterdir()] == ["polybot.prom"]  # no temp files left behind
    assert (os.stat(tmp_path / "polybot.prom").st_mode & 0o777) == 0o644  # node_exporter may read it


def test_the_concurrent_reader_does_catch_a_plain_rewrite(tmp_path):
    """The check above can fail: the same reader sees torn files when the file is rewritten in
    place, well within the rewrites the check above watches."""
    def plain(path, text):
        with open(path, "w") as f:
            f.write(text)

    seen, torn, _ = _hammer(tmp_path / "polybot.prom", plain, lambda seen, torn: torn > 0 or seen >= REWRITES_SEEN)
    assert torn > 0, f"no torn read in {seen} in-place rewrites"


def test_daemon_writes_the_metrics_a_fleet_dashboard_needs(sim, rig, feeder, start_fleet_daemon, tmp_path):
    prom = tmp_path / "node-exporter" / "polybot.prom"
    prom.parent.mkdir()
    sim.options.refuse_next = 2  # two HTTP 503s before the first session
    daemon = start_fleet_daemon(metrics={"textfile": str(prom), "interval_s": 1.0})
    daemon.wait_ready()
    eventually(lambda: prom.exists(), 10, "the metrics file")
    feeder.feed(one_utterance())
    sim.wait_for(lambda: sim.sim.responses_completed >= 1, timeout=30)

    def translated():
        got = samples(prom.read_text())
        return got if got[("polybot_utterances_translated_total", ())] >= 1 else None

    got = eventually(translated, 10, "the utterance in the metrics")
    assert got[("polybot_response_latency_seconds_count", ())] >= 1
    assert 0 < got[("polybot_response_latency_seconds_sum", ())] < 10
    assert got[("polybot_reconnects_total", (("cause", "server_error"),))] == 2
    states = {labels[0][1]: v for (name, labels), v in got.items() if name == "polybot_state"}
    assert sum(states.values()) == 1 and set(states) >= {"listening", "offline", "auth-error", "mic-missing"}
    assert got[("polybot_session_age_seconds", ())] > 0
    assert got[("polybot_outage_dropped_seconds_total", ())] == 0
    assert ("polybot_audio_xruns_total", (("stream", "mic"),)) in got
    mic = got[("polybot_audio_level_dbfs", (("stream", "mic"),))]
    assert FLOOR_DBFS <= mic <= 0  # the rig's mic delivers audio (silence between utterances)
    code, _ = daemon.terminate()
    assert code == 0
    assert not prom.exists()  # a stopped daemon leaves no stale numbers behind
    assert [p.name for p in prom.parent.iterdir()] == []
