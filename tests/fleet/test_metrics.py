"""Metrics for node_exporter's textfile collector: valid Prometheus text with the numbers a fleet
dashboard needs (the file is replaced atomically: test_atomic.py)."""

from __future__ import annotations

import math

from prometheus_client.parser import text_string_to_metric_families

from polybot_device.fleet.levels import FLOOR_DBFS
from polybot_device.fleet.metrics import Snapshot, render
from polybot_device.state import State
from tests.rig.fleet import one_utterance
from tests.rig.timing import eventually


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
    # one_utterance(): 1 s of speech; the gate let it through with its pre-roll and hang, not the
    # silence the rig fed before and after it. Upstream: base64 PCM16 at 24 kHz, 64 000 bytes a
    # second, for at least the speech; less than the gate let through (the echo gate drops the
    # hang while the reply plays).
    open_s = got[("polybot_voice_gate_open_seconds_total", ())]
    assert 1.0 <= open_s < 4.0
    assert 64000 * 1.0 <= got[("polybot_upstream_audio_bytes_total", ())] <= 1.1 * 64000 * open_s
    code, _ = daemon.terminate()
    assert code == 0
    assert not prom.exists()  # a stopped daemon leaves no stale numbers behind
    assert [p.name for p in prom.parent.iterdir()] == []
