"""The local voice gate end to end: the daemon as systemd runs it, real libasound, the simulator on
loopback. A quiet room costs no upstream data yet the link stays watched; a soft voice reaches
the server whole, with its first syllable."""

from __future__ import annotations

import os
import time

import numpy as np
import soxr

from tests.rig import speech
from tests.rig.inprocess import InProcessDaemon
from tests.rig.loopback import MIC_RATE, daemon_config
from tests.rig.timing import eventually, scaled


def appends(sim) -> int:
    return sum(e["type"] == "input_audio_buffer.append" for s in sim.sim.sessions for e in list(s.client_events))


def at_mic_rate(x: np.ndarray) -> np.ndarray:
    return soxr.resample(x, speech.RATE, MIC_RATE)


def test_a_quiet_room_sends_nothing_upstream_and_the_link_is_still_watched(sim, rig, feeder, start_daemon):
    daemon = start_daemon()  # pings every 1 s, a pong due within 1 s (tests/rig/loopback.py)
    daemon.wait_ready()
    sim.wait_for(lambda: bool(sim.sim.sessions) and bool(sim.sim.sessions[-1].client_events), timeout=20)
    feeder.feed(at_mic_rate(speech.idle_room(6.0)))
    assert feeder.wait_idle(scaled(30))
    assert appends(sim) == 0, "a room with nobody speaking was streamed to the API"
    assert len(sim.sim.sessions) == 1, "the idle link was dropped although the server answered every ping"
    # With no audio flowing the pings alone must notice a server that stopped answering.
    sim.sim.hold_silent(6.0)
    sim.wait_for(lambda: len(sim.sim.sessions) >= 2, timeout=15)
    daemon.notify.wait_for(lambda lines: any(line.startswith("STATUS=Offline") for line in lines), timeout=5)


def test_a_soft_voice_over_a_fan_reaches_the_server_whole_with_its_first_syllable(sim, rig, feeder, start_daemon):
    voice, wpm, text = speech.UTTERANCES[3]  # the longest: 3 s of French at 130 wpm
    u = speech.at_active_level(speech.espeak(voice, wpm, text), -40.0)
    bed = speech.noise_bed("fan", 3.0 + len(u) / speech.RATE + 2.5, -45.0)
    onset = 3 * speech.RATE
    x = bed.copy()
    x[onset: onset + len(u)] += u
    daemon = start_daemon()
    daemon.wait_ready()
    sim.wait_for(lambda: bool(sim.sim.sessions) and bool(sim.sim.sessions[-1].client_events), timeout=20)
    feeder.feed(at_mic_rate(x))
    sim.wait_for(lambda: sim.sim.responses_completed >= 1, timeout=30)
    assert feeder.wait_idle(scaled(30))
    time.sleep(0.5)  # nothing more is coming: the gate has closed (its hang is 1 s)
    heard = np.frombuffer(bytes(sim.sim.sessions[-1].input_audio), dtype=np.int16) / 32768.0
    n = 1 << (len(heard) + len(x)).bit_length()
    # Where the server's audio sits in what was fed: the fan's own waveform is the fingerprint.
    at = int(np.argmax(np.fft.irfft(np.fft.rfft(x, n) * np.conj(np.fft.rfft(heard, n)), n)[: len(x)]))
    lead_ms = (onset - at) / speech.RATE * 1000
    assert lead_ms >= 250, f"the server got only {lead_ms:.0f} ms before the first syllable"
    assert at + len(heard) >= onset + len(u) + speech.RATE // 2, "the end of the utterance or its silence is lost"
    assert len(heard) < len(x) - speech.RATE, "the gate never closed: the whole stream was sent"


def test_the_offline_notice_waits_for_the_person_to_pause(sim, rig, feeder):
    """It used to play over them, and the echo gate shut the mic while it played: the words said
    meanwhile were lost. Offline there is no server VAD; the local gate knows someone speaks."""
    words = [speech.espeak(v, w, t) for v, w, t in (speech.UTTERANCES[i] for i in (0, 1, 4, 5, 0, 1, 4, 5))]
    gap = np.zeros(int(0.15 * speech.RATE))
    talk = np.concatenate([part for u in words for part in (speech.at_active_level(u, -30.0), gap)])
    talk_s = len(talk) / speech.RATE
    assert talk_s > 7.0, "the talking must outlast the 5 s before the notice is due"
    old = rig.apply()
    d = InProcessDaemon(daemon_config(sim, rig, controls={"enabled": False}, cues={"spoken": False}))
    try:
        eventually(lambda: d.translator.link.live, 20, "the link to go live")
        before = rig.read_speaker().shape[0]
        feeder.feed(at_mic_rate(np.concatenate([talk, speech.noise_bed("fan", 4.0, -50.0)])))
        started = time.monotonic()
        time.sleep(0.5)
        sim.close()  # the API is gone while the person keeps talking
        while time.monotonic() - started < talk_s - 0.3:
            assert rig.read_speaker().shape[0] == before, (
                f"a notice played {time.monotonic() - started:.1f} s into {talk_s:.1f} s of talking")
            time.sleep(0.05)
        eventually(lambda: rig.read_speaker().shape[0] - before, 5, "the offline notice once they paused",
                   until=lambda frames: frames > 0)
    finally:
        d.stop()
        _restore_alsa(old)


def _restore_alsa(old: str | None) -> None:
    if old is None:
        os.environ.pop("ALSA_CONFIG_PATH", None)
    else:
        os.environ["ALSA_CONFIG_PATH"] = old
