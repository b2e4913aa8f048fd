"""The one button, pressed with real timing on gpiozero's MockFactory, against the running daemon
(in-process), the real simulator and the FIFO-fed libasound rig."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.rig.inprocess import InProcessDaemon
from tests.rig.loopback import daemon_config, silence, speech_like
from tests.rig.timing import eventually, scaled
from tests.validation import validate

BUTTON = 17


@pytest.fixture
def daemon(sim, rig, feeder, pins):
    started: list[InProcessDaemon] = []
    old = rig.apply()

    def start(**overrides) -> InProcessDaemon:
        d = InProcessDaemon(daemon_config(sim, rig, **overrides))
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()
    import os
    if old is None:
        os.environ.pop("ALSA_CONFIG_PATH", None)
    else:
        os.environ["ALSA_CONFIG_PATH"] = old


def press(pins, seconds: float = 0.08) -> None:
    pin = pins.pin(BUTTON)
    pin.drive_low()
    time.sleep(seconds)  # a finger on the button: real timing is the point of the test
    pin.drive_high()


def session_updates(sim):
    return [e for e in sim.sim.client_events if e["type"] == "session.update"]


def wait_live(sim, d: InProcessDaemon) -> None:
    sim.wait_for(lambda: bool(session_updates(sim)), timeout=20)
    eventually(lambda: d.translator.link.live, 10, "the daemon's own view of the link: live")  # its loop sets it


def test_short_press_switches_the_language_on_the_live_session(sim, rig, feeder, daemon, pins):
    d = daemon(languages=["es", "en", "fr"])
    wait_live(sim, d)
    press(pins)
    sim.wait_for(lambda: len(session_updates(sim)) >= 2, timeout=10)
    update = session_updates(sim)[-1]
    validate(update)
    assert "French (fr)" in update["session"]["instructions"]
    assert "Spanish (es)" in update["session"]["instructions"]  # the home language stays
    assert len(sim.sim.sessions) == 1  # no reconnect


def test_double_press_replays_the_last_translation_at_the_speaker(sim, rig, feeder, daemon, pins):
    d = daemon(cues={"enabled": False})
    wait_live(sim, d)
    feeder.feed(np.concatenate([silence(0.3), speech_like(1.5), silence(1.0)]))
    sim.wait_for(lambda: sim.sim.responses_completed >= 1, timeout=30)
    eventually(lambda: not d.call(d.translator.playback.is_playing)
               and d.translator.status.facts.activity.value == "idle", 15, "the translation played out, idle")
    before = rig.read_speaker().shape[0]
    sent_before = len(sim.sim.client_events)
    press(pins)
    time.sleep(0.1)
    press(pins)
    eventually(lambda: rig.read_speaker().shape[0] - before, 10, "0.8 s of the replay at the speaker (frames)",
               until=lambda frames: frames >= rig.speaker_rate * 0.8)
    assert not [e for e in sim.sim.client_events[sent_before:] if e["type"] != "input_audio_buffer.append"]


def test_long_press_cycles_modes_and_interpreter_uses_the_translation_endpoint(sim, rig, feeder, daemon, pins):
    d = daemon(languages=["en", "es"])
    wait_live(sim, d)
    press(pins, 1.8)  # conversation -> one-way: same session, new instructions
    sim.wait_for(lambda: len(session_updates(sim)) >= 2, timeout=10)
    assert "Whatever language you hear" in session_updates(sim)[-1]["session"]["instructions"]
    time.sleep(0.6)
    press(pins, 1.8)  # one-way -> interpreter: a translation session on its own endpoint
    sim.wait_for(lambda: any(s.kind == "translation" for s in sim.sim.sessions), timeout=15)
    translation = [s for s in sim.sim.sessions if s.kind == "translation"][-1]
    sim.wait_for(lambda: any(e["type"] == "session.input_audio_buffer.append" for e in translation.client_events), 15)
    for event in translation.client_events:
        validate(event, "translation-client")
    assert translation.client_events[0]["session"]["audio"]["output"]["language"] == "en"


def test_hold_to_talk_sends_audio_while_held_then_commits_and_asks_for_a_response(sim, rig, feeder, daemon, pins):
    d = daemon(controls={"button": {"hold_to_talk": True}}, vad={"threshold": 1.0})
    wait_live(sim, d)
    (update,) = session_updates(sim)
    assert update["session"]["audio"]["input"]["turn_detection"] is None
    pin = pins.pin(BUTTON)
    pin.drive_low()
    feeder.feed(speech_like(1.2))
    assert feeder.wait_idle(scaled(10))
    time.sleep(0.3)
    pin.drive_high()
    sim.wait_for(lambda: sim.sim.responses_completed >= 1, timeout=20)
    types = [e["type"] for e in sim.sim.client_events]
    commit = types.index("input_audio_buffer.commit")
    assert types[commit + 1] == "response.create"
    assert "input_audio_buffer.append" in types[:commit]
    for e in sim.sim.client_events:
        validate(e)


def test_any_press_while_a_translation_plays_stops_it_and_truncates(sim, rig, feeder, daemon, pins):
    sim.options.pace = 1.0
    d = daemon()
    wait_live(sim, d)
    played = lambda: d.call(lambda: d.translator.playback.played_total_frames)  # noqa: E731
    before = played()
    feeder.feed(np.concatenate([silence(0.3), speech_like(3.0), silence(1.0)]))
    sim.wait_for(lambda: any(e["type"] == "response.output_audio.delta"
                             for s in sim.sim.sessions for e in s.events_sent), 30)
    eventually(lambda: played() - before, 10, "0.2 s of the translation played (frames)",
               until=lambda frames: frames >= rig.speaker_rate * 0.2)
    press(pins)
    truncates = lambda: [e for e in sim.sim.client_events if e["type"] == "conversation.item.truncate"]  # noqa: E731
    sim.wait_for(lambda: bool(truncates()), timeout=10)
    assert 0 < truncates()[0]["audio_end_ms"] < 2400
    time.sleep(1.0)  # the press's own short_press must not ALSO switch language
    assert len(session_updates(sim)) == 1


def test_language_switch_while_someone_speaks_loses_none_of_it(sim, rig, feeder, daemon, pins):
    d = daemon(languages=["es", "en", "fr"], vad={"silence_duration_ms": 600})
    wait_live(sim, d)
    feeder.feed(np.concatenate([silence(0.3), speech_like(3.0), silence(1.2)]))
    sim.wait_for(lambda: any(e["type"] == "input_audio_buffer.speech_started"
                             for e in sim.sim.sessions[-1].events_sent), 10)
    time.sleep(0.8)
    press(pins)
    sim.wait_for(lambda: sim.sim.responses_completed >= 1, timeout=30)
    session = sim.sim.sessions[-1]
    assert len(sim.sim.sessions) == 1 and len(session_updates(sim)) == 2
    assert session.utterances == 1
    # The whole 3 s utterance reached the server in one turn: the simulator's transcript says so.
    heard = [e for e in session.events_sent if e["type"] == "conversation.item.input_audio_transcription.completed"]
    seconds = float(heard[0]["transcript"].split("(")[1].split(" s")[0])
    assert seconds >= 2.8


def test_volume_buttons_step_the_speaker_volume(sim, rig, feeder, daemon, pins):
    d = daemon(controls={"volume_up_pin": 5, "volume_down_pin": 6}, audio={"output": {"volume_percent": 50}})
    wait_live(sim, d)
    for pin, expected in ((6, 40), (5, 50), (5, 60)):
        pins.pin(pin).drive_low()
        time.sleep(0.08)
        pins.pin(pin).drive_high()
        eventually(lambda: d.translator.volume.percent, 5, f"volume {expected} %",
                   until=lambda v, expected=expected: v == expected)
