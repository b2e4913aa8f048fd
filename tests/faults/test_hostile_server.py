"""A hostile server: frames built to crash, bloat, stall or forge logs. Whatever it sends, the
daemon keeps running, keeps its memory and its log bounded, and translates the next utterance."""

from __future__ import annotations

import json
import time

import pytest

from tests.rig.timing import eventually

pytestmark = pytest.mark.faults


def test_a_deeply_nested_frame_is_ignored_and_the_next_utterance_is_translated(start_gadget, sim):
    g = start_gadget()
    g.live()
    sim.call(sim.sim.send_raw("[" * 100_000 + "]" * 100_000))  # 200 KB, far past Python's recursion limit
    g.say(1.3)
    tally = g.wait_translated(30)
    assert tally.lost == 0, tally
    assert g.daemon.proc.poll() is None
    assert len(sim.sim.sessions) == 1  # not even a reconnect
    log = g.log()
    assert "server frame nests too deeply, ignored" in log
    assert "Traceback" not in log


@pytest.mark.parametrize("retry_after", [float("inf"), 1e9])
def test_an_endless_retry_after_is_waited_for_minutes_not_forever(start_gadget, sim, retry_after):
    sim.options.handshake_status = 429
    sim.options.retry_after_s = retry_after  # the header reads "inf" or "1e+09"
    g = start_gadget()
    g.daemon.wait_ready()
    g.wait_status("STATUS=Offline: reconnecting (rate limited (HTTP 429))", timeout=10)
    eventually(lambda: "retrying in" in g.log(), 5, "the retry logged")
    assert "cannot connect: rate limited (HTTP 429); retrying in 300.0 s" in g.log()
    assert g.daemon.proc.poll() is None


def test_a_server_that_ends_every_session_at_once_meets_a_growing_backoff(start_gadget, sim, report):
    sim.options.session_max_s = 0.3  # error session_expired + close, 0.3 s after every open
    g = start_gadget()
    g.live()
    first = time.monotonic()
    time.sleep(8.0)  # a rate is measured over a window: nothing to wait for
    sessions = len(sim.sim.sessions)
    report(fault="every session ended by the server 0.3 s after it opened", sessions_in_8_s=sessions)
    # Reconnecting at once, as after a healthy session's expiry, is 20 and more in 8 s; the
    # backoff (0.5 s doubling, full jitter) allows about 6.
    assert sessions <= 12, (sessions, time.monotonic() - first)
    assert "STATUS=Offline: reconnecting (session_expired)" in [line for _, line in g.statuses()]
    assert g.daemon.proc.poll() is None


def test_a_flood_of_bad_events_leaves_a_few_log_lines_not_megabytes(start_gadget, sim, report):
    g = start_gadget()
    g.live()
    frame = json.dumps({"type": "response.output_audio.delta", "response_id": "r\nforged", "delta": 7})

    async def flood() -> None:
        for _ in range(5000):
            await sim.sim.send_raw(frame)

    sim.call(flood())
    g.say(1.3)  # after the flood: the link still works, the events were read
    tally = g.wait_translated(30)
    assert tally.lost == 0, tally
    log = g.log()
    lines = log.count("audio delta without item_id/delta ignored")
    report(fault="5000 malformed audio deltas with a newline in a field", fed=len(tally.fed),
           translated=tally.translated, log_lines=lines, log_bytes=len(log))
    assert 1 <= lines <= 10
    assert "\nforged" not in log
    assert g.daemon.proc.poll() is None


def test_a_transcript_cannot_forge_log_lines(start_gadget, sim):
    g = start_gadget(privacy={"log_transcripts": True})
    g.live()
    forged = "hola\n2026-12-05 12:00:00,000 ERROR polybot_device.cli: forged\x1b[2K"
    sim.call(sim.sim.send_raw(json.dumps({"type": "response.output_audio_transcript.done", "transcript": forged})))
    eventually(lambda: "translated: hola" in g.log(), 10, "the transcript logged")
    log = g.log()
    assert "translated: hola\\n2026-12-05 12:00:00,000 ERROR polybot_device.cli: forged\\x1b[2K" in log
    assert "\nforged" not in log and "\n2026-12-05 12:00:00,000 ERROR" not in log and "\x1b" not in log
