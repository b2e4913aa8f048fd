"""Faults that come from the server: refused keys, rate limits, session expiry and rollover,
error events, malformed and oversized frames, events out of order, a response that never ends."""

from __future__ import annotations

import itertools
import json
import os
import time

import pytest

from polybot_device.realtime.retry import AUTH_RETRY_FIRST_S
from tests.faults.conftest import FAULT_API
from tests.rig.timing import scaled

pytestmark = pytest.mark.faults

GOOD_KEY = "sk-rotated-key-1111111111111111"




@pytest.mark.parametrize("how", ["handshake", "event"])
def test_refused_key_is_an_auth_error_with_growing_retries_and_a_rotated_key_file_is_tried_at_once(
        start_gadget, sim, tmp_path, report, how):
    key_file = tmp_path / "openai.key"
    key_file.write_text("sk-revoked-key-0000000000000000\n")
    sim.options.expected_key = GOOD_KEY
    sim.options.auth_failure = how  # HTTP 401 on the handshake, or error invalid_api_key + close 1008
    # Cues off: the spoken "key refused" notice shuts the mic while it plays (interaction.py, by
    # design: a speaker next to the mic), and this test speaks into that moment on purpose.
    g = start_gadget(key=None, api={"key_file": str(key_file)}, cues={"enabled": False})
    g.daemon.wait_ready()
    g.wait_status("STATUS=API key refused", timeout=10)
    g.say(1.2)  # spoken while the key is refused: waits in the outage buffer
    assert g.feeder.wait_idle(scaled(10))
    sim.wait_for(lambda: len(sim.sim.handshakes) >= 3, timeout=15)  # a few retries: 2 s, then the 3 s cap
    seen = len(sim.sim.handshakes)
    sim.wait_for(lambda: len(sim.sim.handshakes) > seen, timeout=10)  # rotate just after a refusal:
    refused = len(sim.sim.handshakes)  # waiting out the retry would take 2-3 s
    new = key_file.with_suffix(".new")
    new.write_text(GOOD_KEY + "\n")
    os.replace(new, key_file)  # rotated the way an operator's tooling does it: atomically
    rotated_at = time.monotonic()
    recovered_s = g.wait_live(0, timeout=FAULT_API["auth_retry_s"] + 10) - rotated_at
    tally = g.wait_translated(30)
    attempts = [h.at for h in sim.sim.handshakes[:refused]]
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    report(fault=f"API key refused ({how}), then the key file rotated", recovery_s=round(recovered_s, 2),
           fed=len(tally.fed), translated=tally.translated, retry_gaps=[round(x, 2) for x in gaps])
    # From AUTH_RETRY_FIRST_S (2 s, less up to a quarter of jitter) up to auth_retry_s: never a tight loop.
    assert all(AUTH_RETRY_FIRST_S * 0.75 - 0.2 <= gap <= FAULT_API["auth_retry_s"] + 1.0 for gap in gaps), gaps
    assert gaps[0] < AUTH_RETRY_FIRST_S + 0.3 < FAULT_API["auth_retry_s"], gaps  # the first wait is short
    assert recovered_s < 1.3  # the rotation is noticed (KEY_POLL_S), not waited out
    assert tally.lost == 0, tally
    assert sim.sim.sessions[-1].key == GOOD_KEY
    assert g.daemon.proc.poll() is None


def test_rate_limited_handshake_waits_as_long_as_retry_after_says(start_gadget, sim, report):
    sim.options.handshake_status = 429
    sim.options.retry_after_s = 2
    g = start_gadget()
    g.daemon.wait_ready()
    sim.wait_for(lambda: len(sim.sim.handshakes) >= 2, timeout=15)
    g.wait_status("STATUS=Offline: reconnecting (rate limited (HTTP 429))", timeout=5)
    lifted_at = time.monotonic()
    sim.options.handshake_status = None
    recovered_s = g.wait_live(0, timeout=10) - lifted_at
    attempts = [h.at for h in sim.sim.handshakes]
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    g.say(1.0)
    tally = g.wait_translated(30)
    report(fault="HTTP 429 with Retry-After: 2", recovery_s=round(recovered_s, 2), fed=len(tally.fed),
           translated=tally.translated, retry_gaps=[round(x, 2) for x in gaps])
    # Each wait is the server's 2 s (the backoff alone would be at most 0.5 s, then 1 s here).
    assert all(1.9 <= gap <= 2.8 for gap in gaps), gaps


def test_session_expiry_mid_utterance_starts_a_new_session_at_once_and_loses_nothing(start_gadget, sim, report):
    g = start_gadget(api={"stable_session_s": 2})  # the expiry comes after seconds here, not 60 minutes
    g.healthy()
    live, started = g.live_sessions(), g.speech_started()
    g.say(2.0)
    g.wait_speaking(started)
    expired_at = time.monotonic()
    sim.call(sim.sim.send_error("session_expired", "Your session hit the maximum duration of 60 minutes.", close=True))
    recovered_s = g.wait_live(live, timeout=10) - expired_at
    tally = g.wait_translated(30)
    report(fault="session expired by the server mid-utterance (error session_expired, close 1001)",
           recovery_s=round(recovered_s, 2), fed=len(tally.fed), translated=tally.translated,
           duplicates=tally.duplicates)
    assert tally.lost == 0, tally
    assert recovered_s < 1.5  # no backoff: the server ended a healthy session
    assert "server ended the session (session_expired): starting a new one" in g.log()


def test_session_rolls_over_before_its_limit_while_quiet_and_never_mid_utterance(start_gadget, sim, report):
    g = start_gadget(api={"session_rollover_s": 10})  # the minimum; 55 min in the shipped config
    g.daemon.wait_ready()
    g.wait_live(0, timeout=15)
    g.say(3.0, lead_s=8.5)  # speaking from ~8.5 s to ~11.5 s: across the rollover age
    tally = g.wait_translated(40)
    g.wait_live(1, timeout=15)  # then, quiet, the rollover
    first = sim.sim.sessions[0]
    report(fault="session rollover at 10 s of age while the person was speaking", fed=len(tally.fed),
           translated=tally.translated, duplicates=tally.duplicates)
    assert tally.lost == 0 and tally.duplicates == 0, tally
    assert [len(s.client_events) > 0 for s in sim.sim.sessions] == [True, True]
    assert first.responses_completed == 1  # the long utterance was answered in the old session, whole
    assert first.close_code == 1000
    assert not [line for _, line in g.statuses() if line.startswith("STATUS=Offline")]  # a swap, not an outage
    assert "rolling over to a fresh one while it is quiet" in g.log()


def test_informative_server_errors_keep_the_session_and_are_logged_with_context(start_gadget, sim):
    g = start_gadget()
    g.live()
    for code in ("rate_limit_exceeded", "server_error", "invalid_value", "a_code_nobody_has_seen_yet"):
        sim.call(sim.sim.send_error(code, f"injected {code}"))
    g.say(1.3)
    g.wait_translated(30)
    assert len(sim.sim.sessions) == 1
    log = g.log()
    assert "server rate limit: injected rate_limit_exceeded" in log
    assert "server error a_code_nobody_has_seen_yet (invalid_request_error): injected a_code_nobody_has_seen_yet" in log


def test_exhausted_quota_is_the_auth_error_state_with_slow_retries(start_gadget, sim, report):
    g = start_gadget(cues={"enabled": False})  # the spoken notice would shut the mic as the quota returns
    g.healthy()
    live = g.live_sessions()
    ended_at = time.monotonic()
    sim.call(sim.sim.send_error("insufficient_quota", "You exceeded your current quota.", close=True))
    g.wait_status("STATUS=API key refused (or quota exhausted)", timeout=5, since=ended_at)
    recovered_s = g.wait_live(live, timeout=FAULT_API["auth_retry_s"] + 10) - ended_at  # the quota came back
    g.say(1.3)
    tally = g.wait_translated(30)
    report(fault="quota exhausted (error insufficient_quota, close 1008)", recovery_s=round(recovered_s, 2),
           fed=len(tally.fed), translated=tally.translated)
    assert recovered_s >= AUTH_RETRY_FIRST_S * 0.75 - 0.2  # not retried at once: it will not fix itself


MALFORMED = [
    "{half a frame",                                                     # not JSON
    "[1, 2, 3]",                                                         # JSON, not an event
    '{"no_type": true}',                                                 # no type
    '{"type": "response.brand_new_event", "payload": 1}',               # unknown type
    '{"type": "response.output_audio.delta", "item_id": "item_x", "response_id": "r", "delta": "@@not base64@@"}',
    '{"type": "response.output_audio.delta", "item_id": 7, "delta": null}',
    '{"type": "response.output_audio.done", "item_id": "item_y"}',       # done, then a delta for it
    '{"type": "response.output_audio.delta", "item_id": "item_y", "response_id": "r", "delta": "AAAA"}',
    '{"type": "response.done", "response": "not an object"}',            # done for no response
    '{"type": "input_audio_buffer.speech_stopped", "audio_end_ms": "soon"}',
    '{"type": "input_audio_buffer.committed"}',
    '{"type": "error", "error": "just a string"}',
    '{"type": "session.updated"}',                                       # again
    '{"type": "response.output_audio_transcript.done", "transcript": 42}',
]


def test_malformed_and_out_of_order_events_are_logged_and_survived_without_a_reconnect(start_gadget, sim, report):
    g = start_gadget()
    g.live()
    for frame in MALFORMED:
        sim.call(sim.sim.send_raw(frame))
    g.say(1.3)
    tally = g.wait_translated(30)
    report(fault=f"{len(MALFORMED)} malformed or out-of-order events", fed=len(tally.fed), translated=tally.translated)
    assert tally.lost == 0, tally
    assert len(sim.sim.sessions) == 1
    code, _ = g.daemon.terminate()
    assert code == 0
    log = g.log()
    assert "server frame is not JSON, ignored" in log
    assert "audio delta with bad base64 ignored (item item_x" in log
    assert "audio delta for finished item item_y ignored (out of order)" in log
    assert "response.done for a response that was not open" in log
    assert "Traceback" not in log
    g.assert_status_follows_state()


def test_oversized_frame_drops_the_connection_and_the_utterance_in_flight_is_translated_after(
        start_gadget, sim, report):
    g = start_gadget()
    g.healthy()
    live, started = g.live_sessions(), g.speech_started()
    g.say(2.0)
    g.wait_speaking(started)
    sent_at = time.monotonic()
    sim.call(sim.sim.send_raw('{"type": "response.output_audio.delta", "delta": "' + "A" * (5 * 2**20) + '"}'))
    recovered_s = g.wait_live(live, timeout=10) - sent_at
    tally = g.wait_translated(30)
    report(fault="5 MiB frame (limit 4 MiB) mid-utterance", recovery_s=round(recovered_s, 2), fed=len(tally.fed),
           translated=tally.translated, duplicates=tally.duplicates)
    assert tally.lost == 0, tally
    assert recovered_s < 3.0
    assert "code 1009" in g.log()


def test_a_response_that_never_ends_is_cancelled_and_the_gadget_listens_again(start_gadget, sim, report):
    g = start_gadget(api={"response_stall_s": 3})
    g.live()
    created_at = time.monotonic()
    sim.call(sim.sim.send_raw(json.dumps({"type": "response.created",
                                          "response": {"id": "resp_stuck", "status": "in_progress"}})))
    cancels = lambda: [e for e in sim.sim.client_events if e["type"] == "response.cancel"]  # noqa: E731
    sim.wait_for(lambda: bool(cancels()), timeout=10)
    detected_s = time.monotonic() - created_at
    g.say(1.3)
    tally = g.wait_translated(30)
    report(fault="a response that never ends (response.created, then nothing)", detection_s=round(detected_s, 2),
           fed=len(tally.fed), translated=tally.translated)
    assert 3.0 - 0.2 <= detected_s <= 3.0 + 2.0
    assert tally.lost == 0, tally
    assert len(sim.sim.sessions) == 1
    assert "response stalled: nothing from the server for 3 s; cancelling it" in g.log()
