"""The voice gate over a corpus of speech and of noise alone: what reaches the server, what is
lost, how often noise opens it, and what it costs per chunk.

The gate under test is the daemon's own (``polybot_device.voicegate.VoiceGate`` with its earshot
detector), fed 20 ms chunks of PCM16 24 kHz exactly as the capture thread feeds it, but faster
than real time, in this process: 100 minutes of audio take about a minute. The end-to-end path
(libasound, the capture thread, the socket) is the same code and is covered by the idle scenario
in run.py and by tests/e2e/test_listening.py.

Speech: each of the six sentences of tests/rig/speech.py (English, Spanish, German, French,
Mandarin, Japanese) in a male and a female espeak-ng voice at 130, 175 and 210 words a minute
(36 utterances), at an active level of -20, -30 and -40 dBFS, over fan, street and babble noise
at SNR 20, 10 and 5 dB, and over the -50 dBFS floor alone: 30 streams, 1080 utterances. Each
stream is 5 s of noise, then the utterances in a fixed random order with 3-4.5 s of noise
between them. An utterance is *lost* unless every sample from 250 ms before its first sound to
its last was handed on.

Noise alone: fan, street and babble at -45, -35 and -25 dBFS, the floor, knocks, and the idle
room (fan -45 dBFS + knocks + floor), 2 minutes each (30 s with --quick). A *false open* is the
gate opening; the share is the part of the stream handed on, pre-rolls included. The first 5 s
are included (a gadget switched on in a noisy room is noisy from the start).
"""

from __future__ import annotations

import sys
import time
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from polybot_device.config import Config  # noqa: E402
from polybot_device.voicegate import Verdict, VoiceGate, make_voice_gate  # noqa: E402
from tests.rig import speech  # noqa: E402

CHUNK = 480
LEAD = int(0.25 * speech.RATE)
VOICES = {"en-us": ("m3", "f2"), "es": ("m1", "f2"), "de": ("m1", "f4"), "fr-fr": ("m7", "f4"),
          "cmn": ("m7", "f1"), "ja": ("m3", "f1")}
SPEEDS = (130, 175, 210)
LEVELS = (-20.0, -30.0, -40.0)
SNRS = (20.0, 10.0, 5.0)
IDLE = [(kind, level) for kind in ("fan", "street", "babble") for level in (-45.0, -35.0, -25.0)]
IDLE += [("floor", 0.0), ("knocks", 0.0), ("room", 0.0)]


def utterances(quick: bool) -> list[np.ndarray]:
    out = []
    for voice, wpm, text in speech.UTTERANCES:
        lang = voice.split("+")[0]
        variants = VOICES[lang] if not quick else (voice.split("+")[1],)
        for variant in variants:
            for speed in (SPEEDS if not quick else (wpm,)):
                out.append(speech.espeak(f"{lang}+{variant}", speed, text))
    return out


def _gate() -> VoiceGate:
    gate = make_voice_gate(Config())
    if gate is None:
        raise SystemExit("earshot is not installed: the voice gate cannot be measured here")
    gate.reset()
    return gate


def run_gate(x: np.ndarray) -> tuple[np.ndarray, list[int], float]:
    """(per-chunk mask of what was handed on, the chunks where the gate opened, CPU seconds)."""
    pcm = speech.pcm16(x)
    n = len(pcm) // (2 * CHUNK)
    chunks = [pcm[i * 2 * CHUNK: (i + 1) * 2 * CHUNK] for i in range(n)]
    sent = np.zeros(n, dtype=bool)
    opened: list[int] = []
    gate = _gate()
    held: list[int] = []
    cpu0 = time.process_time()
    for i, chunk in enumerate(chunks):
        verdict = gate.feed(chunk)
        if verdict is Verdict.CLOSED:
            held.append(i)
            continue
        if verdict is Verdict.OPENED:
            opened.append(i)
            back = len(gate.take_preroll())
            sent[held[len(held) - back:]] = True
        held.clear()
        sent[i] = True
    return sent, opened, time.process_time() - cpu0


def speech_stream(noise: str, level: float, snr: float, words: list[np.ndarray]) -> tuple[np.ndarray, list]:
    rng = np.random.default_rng(zlib.crc32(f"{noise} {level} {snr}".encode()))
    order = rng.permutation(len(words))
    spans, at = [], 5 * speech.RATE
    placed = []
    for k in order:
        u = speech.at_active_level(words[k], level)
        placed.append((at, u))
        spans.append((at, at + len(u)))
        at += len(u) + int(rng.uniform(3.0, 4.5) * speech.RATE)
    seconds = at / speech.RATE
    if noise == "floor":
        x = speech.floor(rng, at)
    else:
        x = speech.noise_bed(noise, seconds, level - snr, seed=int(rng.integers(1 << 30)))[:at]
    for start, u in placed:
        x[start: start + len(u)] += u
    return x, spans


def idle_stream(kind: str, level: float, seconds: float) -> np.ndarray:
    rng = np.random.default_rng(7)
    n = int(seconds * speech.RATE)
    if kind == "floor":
        return speech.floor(rng, n)
    if kind == "knocks":
        return speech.knocks(rng, n) + speech.floor(rng, n)
    if kind == "room":
        return speech.idle_room(seconds, seed=7)
    return speech.noise_bed(kind, seconds, level, seed=7)


def measure(quick: bool = False) -> dict:
    words = utterances(quick)
    conditions = [(noise, level, snr) for noise in ("fan", "street", "babble") for level in LEVELS for snr in SNRS]
    conditions += [("floor", level, 0.0) for level in LEVELS]
    lost, total, delays, leads, tails, cpu, chunks = [], 0, [], [], [], 0.0, 0
    for noise, level, snr in conditions:
        x, spans = speech_stream(noise, level, snr, words)
        sent, opened, seconds = run_gate(x)
        cpu += seconds
        chunks += len(sent)
        for onset, end in spans:
            total += 1
            a, b = (onset - LEAD) // CHUNK, -(-end // CHUNK)
            if not sent[a:b].all():
                lost.append(f"{noise} {level:.0f} dBFS SNR {snr:.0f}")
                continue
            first = a
            while first > 0 and sent[first - 1]:
                first -= 1
            leads.append((onset - first * CHUNK) / speech.RATE * 1000)
            last = b
            while last < len(sent) and sent[last]:
                last += 1
            tails.append((last * CHUNK - end) / speech.RATE * 1000)
            opening = [i for i in opened if onset // CHUNK - 50 <= i <= b]
            if opening:
                delays.append(max(0, opening[0] * CHUNK - onset) / speech.RATE * 1000)
    idle = {}
    for kind, level in IDLE:
        seconds = 30.0 if quick else 120.0
        sent, opened, spent = run_gate(idle_stream(kind, level, seconds))
        cpu += spent
        chunks += len(sent)
        name = kind if kind in ("floor", "knocks", "room") else f"{kind} {level:.0f} dBFS"
        idle[name] = {"opens_per_min": len(opened) / (seconds / 60), "share_sent": float(sent.mean())}
    return {"utterances": total, "lost": len(lost), "lost_where": lost,
            "open_delay_ms": _pcts(delays), "lead_ms": _pcts(leads), "tail_ms": _pcts(tails),
            "idle": idle, "us_per_chunk": cpu / chunks * 1e6, "chunks": chunks}


def _pcts(values: list[float]) -> dict:
    if not values:
        return {}
    return {"min": float(np.min(values)), "p5": float(np.percentile(values, 5)), "p50": float(np.median(values)),
            "p95": float(np.percentile(values, 95)), "max": float(np.max(values))}


def print_figures(f: dict) -> None:
    print(f"\nvoice gate over the corpus: {f['utterances']} utterances, lost {f['lost']} "
          f"(whole from 250 ms before the onset); {f['chunks']} chunks at {f['us_per_chunk']:.1f} us CPU each")
    for key, label in (("open_delay_ms", "onset -> gate open"), ("lead_ms", "audio sent before the onset"),
                       ("tail_ms", "audio sent after the end")):
        p = f[key]
        if p:
            print(f"  {label:<30} min {p['min']:.0f}  p5 {p['p5']:.0f}  p50 {p['p50']:.0f}  "
                  f"p95 {p['p95']:.0f}  max {p['max']:.0f} ms")
    for where in f["lost_where"]:
        print(f"  lost: {where}")
    print(f"  {'noise alone':<18} {'opens/min':>10} {'sent':>7}")
    for name, v in f["idle"].items():
        print(f"  {name:<18} {v['opens_per_min']:>10.1f} {v['share_sent'] * 100:>6.1f}%")
