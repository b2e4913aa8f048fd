"""A person speaks, the gadget speaks the translation: end to end through real libasound, the
daemon as systemd runs it, and the simulator on loopback."""

from __future__ import annotations

import signal

import numpy as np
import pytest

from polybot_device.demo import sample_wav
from tests.rig.loopback import SPEAKER_RATE, silence, speech_like, tone
from tests.rig.timing import eventually, scaled
from tests.validation import validate


def dominant_frequency(x: np.ndarray, rate: int) -> float:
    x = x.astype(np.float64) * np.hanning(len(x))
    spectrum = np.abs(np.fft.rfft(x))
    k = int(np.argmax(spectrum[1:])) + 1
    a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-12)
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + offset) * rate / len(x)


def rms_db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-9)


def test_spoken_sample_is_translated_and_heard_at_the_speaker_rate(sim, rig, feeder, start_daemon):
    daemon = start_daemon()
    daemon.wait_ready()
    feeder.feed(silence(0.5))
    feeder.feed_wav(sample_wav())
    sim.wait_for(lambda: sim.sim.responses_completed >= 3, timeout=60)
    code, _ = daemon.terminate()
    assert code == 0
    played = rig.read_speaker()[:, 0]
    # The simulator's "voice" is a tone pattern at 24 kHz; the file is at 44.1 kHz. Its dominant
    # frequency survives resampling only if the daemon resampled to the device rate.
    voiced = played[np.abs(played) > 1000]
    assert len(voiced) > SPEAKER_RATE * 0.5, "less than half a second of translation was heard"
    freq = dominant_frequency(played[: SPEAKER_RATE * 20].astype(np.float64), SPEAKER_RATE)
    assert 200 < freq < 2000
    log = daemon.log()
    assert "translated: [en] translation 1" in log


def test_every_client_event_the_daemon_sends_is_valid_ga_protocol(sim, rig, feeder, start_daemon):
    daemon = start_daemon(audio={"echo_gate": False})
    daemon.wait_ready()
    feeder.feed(np.concatenate([silence(0.3), speech_like(1.0), silence(1.0)]))
    sim.wait_for(lambda: sim.sim.responses_completed >= 1, timeout=30)
    daemon.terminate()
    events = sim.sim.client_events
    types = {e["type"] for e in events}
    assert {"session.update", "input_audio_buffer.append"} <= types
    for event in events:
        validate(event, "client")


def test_tone_from_a_48k_stereo_mic_reaches_the_api_as_24k_mono_without_aliasing(sim, rig, feeder, start_daemon):
    # VAD threshold at its top so the tones do not start responses (and the echo gate); the local
    # voice gate off: this is about the resampler, and pure tones are not speech.
    daemon = start_daemon(vad={"threshold": 1.0}, audio={"voice_gate": {"enabled": False}})
    daemon.wait_ready()
    sim.wait_for(lambda: bool(sim.sim.sessions) and sim.sim.sessions[-1].client_events, timeout=20)
    feeder.feed(np.concatenate([tone(1000, 1.5, dbfs=-30), silence(0.5), tone(15000, 1.5, dbfs=-30), silence(1.0)]))
    assert feeder.wait_idle(scaled(30))
    session = sim.sim.sessions[-1]
    sim.wait_for(lambda: len(session.input_audio) >= 2 * 24000 * 4.0, timeout=20)
    daemon.terminate()
    audio = np.frombuffer(bytes(session.input_audio), dtype=np.int16).astype(np.float64)
    envelope = np.convolve(np.abs(audio), np.ones(240) / 240, mode="same")
    loud = np.flatnonzero(envelope > 300)
    assert len(loud), "the 1 kHz tone never arrived"
    start = loud[0] + 2400  # skip the onset
    segment = audio[start : start + 24000]
    assert abs(dominant_frequency(segment, 24000) - 1000) < 10  # within 1 %
    level_1k = rms_db(segment)
    # Where the 15 kHz tone was fed: 2.0 s after the 1 kHz onset, for 1.5 s (allow 0.2 s edges).
    alias_zone = audio[loud[0] + int(24000 * 2.2) : loud[0] + int(24000 * 3.3)]
    assert len(alias_zone) > 20000
    assert rms_db(alias_zone) <= level_1k - 60, f"15 kHz leaked: {rms_db(alias_zone) - level_1k:.1f} dB"


def test_speaking_over_a_translation_stops_it_and_truncates_what_was_heard(sim, rig, feeder, start_daemon):
    sim.options.pace = 1.0  # stream the reply in real time so there is time to talk over it
    daemon = start_daemon(audio={"echo_gate": False})
    daemon.wait_ready()
    feeder.feed(np.concatenate([silence(0.3), speech_like(3.0), silence(0.8)]))
    def session_ready() -> bool:
        return any(e["type"] == "response.output_audio.delta" for s in sim.sim.sessions for e in s.events_sent)
    sim.wait_for(session_ready, timeout=30)
    feeder.feed(np.concatenate([speech_like(1.0), silence(1.0)]))
    truncates = lambda: [e for e in sim.sim.client_events if e["type"] == "conversation.item.truncate"]  # noqa: E731
    sim.wait_for(lambda: bool(truncates()), timeout=20)
    daemon.terminate()
    (truncate,) = truncates()[:1]
    validate(truncate)
    # The reply is ~2.4 s long (0.8 x 3 s); barge-in came some hundreds of ms into it.
    assert 0 < truncate["audio_end_ms"] < 2400
    assert "barge-in" in daemon.log()


def test_server_drop_mid_stream_is_followed_by_a_reconnect_and_later_speech_is_translated(
        sim, rig, feeder, start_daemon):
    sim.options.drop_after_deltas = 2
    daemon = start_daemon()
    daemon.wait_ready()
    feeder.feed(np.concatenate([silence(0.3), speech_like(1.5), silence(1.0)]))
    sim.wait_for(lambda: len(sim.sim.sessions) >= 2, timeout=20)
    feeder.feed(np.concatenate([silence(1.0), speech_like(1.5), silence(1.0)]))
    sim.wait_for(lambda: sim.sim.responses_completed >= 1, timeout=30)
    daemon.terminate()
    assert "connection lost" in daemon.log()


def test_sigterm_stops_cleanly_with_status_0_within_2_seconds(sim, rig, feeder, start_daemon):
    daemon = start_daemon()
    daemon.wait_ready()
    feeder.feed(speech_like(0.5))
    sim.wait_for(lambda: bool(sim.sim.sessions), timeout=20)
    code, seconds = daemon.terminate()
    assert code == 0
    assert seconds < 2.0
    assert "STOPPING=1" in daemon.notify.lines()


@pytest.mark.parametrize("how", ["handshake", "event"])
def test_refused_key_is_the_auth_error_state_with_slow_retries_never_a_crash(sim, rig, feeder, start_daemon, how):
    sim.options.expected_key = "sk-the-right-key-000000000000"
    sim.options.auth_failure = how
    daemon = start_daemon(key="sk-wrong-key-1111111111111111")
    daemon.wait_ready()
    daemon.notify.wait_for(lambda lines: any("API key refused" in line for line in lines), timeout=20)
    attempts = lambda: len(sim.sim.handshakes)  # noqa: E731
    first = attempts()
    sim.wait_for(lambda: attempts() >= first + 1, timeout=10)  # retries, at auth_retry_s = 2 s
    assert daemon.proc.poll() is None
    code, seconds = daemon.terminate()  # while the spoken "key refused" notice may still play
    assert code == 0
    assert seconds < 2.0
    assert attempts() <= first + 4  # slow: not a fast loop
    log = daemon.log()
    assert "sk-wrong-key" not in log and "1111111111111111" not in log


def test_api_key_never_reaches_the_logs_even_at_debug(sim, rig, feeder, start_daemon):
    secret = "sk-proj-VERYSECRET0123456789abcdefXYZ"
    daemon = start_daemon(key=secret)
    daemon.wait_ready()
    feeder.feed(np.concatenate([silence(0.3), speech_like(1.0), silence(1.0)]))
    sim.wait_for(lambda: sim.sim.responses_completed >= 1, timeout=30)
    daemon.terminate()
    text = daemon.log() + "\n".join(daemon.notify.lines())
    assert "VERYSECRET" not in text
    assert any(s.key == secret for s in sim.sim.sessions)  # it was really used


def test_ready_without_network_and_status_says_so(tmp_path, rig, feeder, start_daemon, sim):
    sim.close()  # nothing listens any more: connection refused
    daemon = start_daemon()
    daemon.wait_ready(timeout=15)
    daemon.notify.wait_for(lambda lines: any(line.startswith(("STATUS=Connecting", "STATUS=Offline"))
                                             for line in lines), timeout=10)
    code, seconds = daemon.terminate()
    assert code == 0 and seconds < 2.0


def test_status_follows_the_conversation(sim, rig, feeder, start_daemon):
    daemon = start_daemon()
    daemon.wait_ready()
    feeder.feed(np.concatenate([silence(0.3), speech_like(1.0), silence(1.0)]))
    sim.wait_for(lambda: sim.sim.responses_completed >= 1, timeout=30)
    speaking = "STATUS=Speaking the translation"
    daemon.notify.wait_for(
        lambda lines: speaking in lines and "STATUS=Ready: listening" in lines[lines.index(speaking):], timeout=15)
    daemon.terminate()
    statuses = [line for line in daemon.notify.lines() if line.startswith("STATUS=")]
    order = [s for s in ("STATUS=Ready: listening", "STATUS=Hearing speech", speaking) if s in statuses]
    assert order == ["STATUS=Ready: listening", "STATUS=Hearing speech", "STATUS=Speaking the translation"]


def test_interpreter_mode_translates_continuous_speech_end_to_end(sim, rig, feeder, start_daemon):
    daemon = start_daemon(mode="interpreter", languages=["en", "es"], audio={"echo_gate": False})
    daemon.wait_ready()
    sim.wait_for(lambda: any(s.kind == "translation" for s in sim.sim.sessions), timeout=20)
    before = rig.read_speaker().shape[0]
    feeder.feed(np.concatenate([silence(0.3), speech_like(3.0), silence(1.0)]))
    session = [s for s in sim.sim.sessions if s.kind == "translation"][-1]
    sim.wait_for(lambda: sum(e["type"] == "session.output_audio.delta" for e in session.events_sent) >= 5, timeout=20)
    assert feeder.wait_idle(scaled(20))
    code, _ = daemon.terminate()
    assert code == 0
    appends = [e for e in session.client_events if e["type"] == "session.input_audio_buffer.append"]
    assert appends and all(len(e["audio"]) == 12800 for e in appends)  # exactly 200 ms frames
    for event in session.client_events:
        validate(event, "translation-client")
    for event in session.events_sent:
        validate(event, "translation-server")
    played = rig.read_speaker()[before:, 0]
    assert np.count_nonzero(np.abs(played) > 1000) > SPEAKER_RATE * 0.3
    assert session.path.startswith("/v1/realtime/translations")


def test_sighup_reloads_languages_live_and_a_bad_reload_keeps_the_old_config(sim, rig, feeder, start_daemon):
    import yaml

    daemon = start_daemon(languages=["es", "en"])
    daemon.wait_ready()
    updates = lambda: [e for e in sim.sim.client_events if e["type"] == "session.update"]  # noqa: E731
    sim.wait_for(lambda: len(updates()) == 1, timeout=20)
    config = yaml.safe_load(daemon.config_path.read_text())
    config["languages"] = ["es", "de"]
    daemon.config_path.write_text(yaml.safe_dump(config))
    daemon.proc.send_signal(signal.SIGHUP)
    sim.wait_for(lambda: len(updates()) == 2, timeout=10)
    assert "German (de)" in updates()[-1]["session"]["instructions"]
    daemon.config_path.write_text("languages: [es, de]\nvad:\n  threshold: loud\n")
    daemon.proc.send_signal(signal.SIGHUP)
    eventually(lambda: "reload refused" in daemon.log(), 10, "'reload refused' in the daemon's log")
    assert "vad.threshold" in daemon.log()
    assert daemon.proc.poll() is None and len(sim.sim.sessions) == 1
    code, _ = daemon.terminate()
    assert code == 0
