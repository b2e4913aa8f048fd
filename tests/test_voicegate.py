"""The voice gate with its real detector (earshot) on espeak-ng speech over synthetic room noise,
chunk by chunk as the capture thread feeds it. What a user would notice: a word cut off, a soft
voice ignored, a quiet room streamed to the API, a turn the server never sees end."""

from __future__ import annotations

import numpy as np
import pytest

from polybot_device.config import parse_config
from polybot_device.voicegate import Verdict, VoiceGate, make_voice_gate
from tests.rig import speech

CHUNK = 480  # 20 ms at 24 kHz, as the capture thread hands them over
LEAD_S = 0.25  # the issue: every utterance reaches the server with at least this much before it


def gate_for(**config) -> VoiceGate:
    gate = make_voice_gate(parse_config(config))
    assert gate is not None, "earshot is a dependency on this platform"
    gate.reset()
    return gate


def run(gate: VoiceGate, x: np.ndarray) -> np.ndarray:
    """Feeds ``x`` in 20 ms chunks; returns a per-sample mask of what was handed on, each chunk
    handed on at most once (a pre-roll never repeats audio already sent)."""
    pcm = speech.pcm16(x)
    sent = np.zeros(len(x), dtype=bool)
    where: dict[int, int] = {}
    chunks = [pcm[i: i + 2 * CHUNK] for i in range(0, len(pcm) - 2 * CHUNK + 1, 2 * CHUNK)]
    for i, chunk in enumerate(chunks):
        where[id(chunk)] = i
        verdict = gate.feed(chunk)
        handed = [] if verdict is Verdict.CLOSED else [chunk]
        if verdict is Verdict.OPENED:
            handed = gate.take_preroll() + handed
        for c in handed:
            k = where[id(c)]
            assert not sent[k * CHUNK], "a chunk was handed on twice"
            sent[k * CHUNK: (k + 1) * CHUNK] = True
    return sent


def speech_stream(noise: str, level_dbfs: float, snr_db: float) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """5 s of noise, then every test utterance with 4 s of noise between: (signal, [(onset, end)])."""
    parts, spans, at = [], [], int(5 * speech.RATE)
    for voice, wpm, text in speech.UTTERANCES:
        u = speech.at_active_level(speech.espeak(voice, wpm, text), level_dbfs)
        spans.append((at, at + len(u)))
        parts.append((at, u))
        at += len(u) + 4 * speech.RATE
    x = speech.noise_bed(noise, at / speech.RATE, level_dbfs - snr_db)
    for start, u in parts:
        x[start: start + len(u)] += u
    return x, spans


@pytest.mark.parametrize("noise", ["fan", "street", "babble"])
def test_a_soft_talker_over_noise_is_never_gated_out(noise):
    """-40 dBFS speech at 5 dB SNR, the hardest condition measured: every utterance arrives whole,
    from 250 ms before its first sound to its last."""
    x, spans = speech_stream(noise, -40.0, 5.0)
    sent = run(gate_for(), x)
    for (onset, end), (voice, _, text) in zip(spans, speech.UTTERANCES, strict=True):
        lead = onset - int(LEAD_S * speech.RATE)
        missing = np.flatnonzero(~sent[lead:end])
        assert not len(missing), (f"{voice} {text!r} over {noise}: "
                                  f"{len(missing) / speech.RATE * 1000:.0f} ms not sent, first at "
                                  f"{(missing[0] + lead - onset) / speech.RATE * 1000:+.0f} ms from the onset")


def test_the_first_syllable_is_never_clipped_the_pre_roll_covers_the_servers_padding():
    """The gate needs ~0.4 s of speech to be sure; what was said meanwhile, and the server's
    prefix_padding_ms before it, arrive in the pre-roll."""
    voice, wpm, text = speech.UTTERANCES[2]  # "Vielen Dank" at 210 wpm: the shortest, 0.6 s
    u = speech.at_active_level(speech.espeak(voice, wpm, text), -30.0)
    x = speech.noise_bed("fan", 8.0, -50.0)
    onset = 4 * speech.RATE
    x[onset: onset + len(u)] += u
    gate = gate_for(vad={"prefix_padding_ms": 600})
    sent = run(gate, x)
    first = int(np.flatnonzero(sent)[0])
    assert (onset - first) / speech.RATE >= 0.6, "less than prefix_padding_ms before the onset"
    assert sent[onset: onset + len(u)].all()


@pytest.mark.parametrize("room", ["idle room", "fan -30 dBFS", "street -25 dBFS"])
def test_a_room_with_nobody_speaking_sends_nothing(room):
    """The idle room is the issue's (fan hum at -45 dBFS, knocks up to -6 dBFS, a -50 dBFS floor).
    Known limit, in docs/performance.md: some loud fans (-25 dBFS) open it for seconds a minute."""
    x = {"idle room": lambda: speech.idle_room(30.0),
         "fan -30 dBFS": lambda: speech.noise_bed("fan", 30.0, -30.0),
         "street -25 dBFS": lambda: speech.noise_bed("street", 30.0, -25.0)}[room]()
    gate = gate_for()
    sent = run(gate, x)
    assert not sent.any(), f"{sent.sum() / speech.RATE:.2f} s of {room} sent"
    assert gate.open_bytes == 0 and not gate.speaking


def _one_utterance(tail_s: float) -> tuple[np.ndarray, int]:
    voice, wpm, text = speech.UTTERANCES[0]
    u = speech.at_active_level(speech.espeak(voice, wpm, text), -30.0)
    x = speech.noise_bed("fan", 2.0 + len(u) / speech.RATE + tail_s, -50.0)
    x[2 * speech.RATE: 2 * speech.RATE + len(u)] += u
    return x[: len(x) // CHUNK * CHUNK], 2 * speech.RATE + len(u)


def test_after_speech_the_gate_hangs_long_enough_for_the_server_to_end_the_turn_then_closes():
    x, end = _one_utterance(tail_s=4.0)
    gate = gate_for(vad={"silence_duration_ms": 700})
    sent = run(gate, x)
    after = np.flatnonzero(sent[end:])
    assert len(after) / speech.RATE >= 0.7 + 0.5 - 0.05, "the server would not hear the silence that ends the turn"
    assert not sent[-speech.RATE:].any(), "the gate never closed"
    assert not gate.open and not gate.speaking


def test_the_gate_stays_open_while_the_server_still_hears_the_turn():
    x, end = _one_utterance(tail_s=4.0)
    gate = gate_for()
    gate.server_hearing = True  # e.g. semantic_vad still deciding whether the sentence is over
    assert run(gate, x)[-CHUNK:].all()
    gate.server_hearing = False  # the server ended the turn: the hang counts from here
    verdicts = [gate.feed(bytes(2 * CHUNK)) for _ in range(100)]
    open_ms = verdicts.index(Verdict.CLOSED) * 20
    assert 1000 <= open_ms <= 1100 and set(verdicts[open_ms // 20:]) == {Verdict.CLOSED}


def test_reopening_soon_after_closing_sends_no_audio_twice():
    voice, wpm, text = speech.UTTERANCES[0]
    u = speech.at_active_level(speech.espeak(voice, wpm, text), -30.0)
    x = speech.noise_bed("fan", 12.0, -50.0)
    first_end = 2 * speech.RATE + len(u)
    x[2 * speech.RATE: first_end] += u
    second = first_end + int(1.6 * speech.RATE)  # just after the hang closed the gate
    x[second: second + len(u)] += u
    sent = run(gate_for(), x)  # run() fails on any chunk handed on twice
    assert sent[second - int(LEAD_S * speech.RATE): second + len(u)].all()


@pytest.mark.parametrize("config", [{"audio": {"voice_gate": {"enabled": False}}},
                                    {"controls": {"button": {"hold_to_talk": True}}},
                                    {"mode": "interpreter"}])
def test_interpreter_mode_hold_to_talk_and_a_disabled_gate_stream_everything(config):
    gate = gate_for(**config)
    gate.configure(parse_config(config), streaming=config.get("mode") == "interpreter")
    assert run(gate, speech.idle_room(3.0)).all()
