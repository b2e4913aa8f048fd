"""The simulator's "translated speech": recognisable tones, PCM16 24 kHz mono, no I/O.

Conversation responses are beeps of ``BEEP_HZ`` (660 Hz): utterance *n* is answered with
*n* beeps (at most ``MAX_BEEPS``) spread over ``response_ms(voiced_ms)``, so a test or a
person listening to the speaker output can tell the answers apart and count them.
Interpreter (translation) sessions get a continuous ``STREAM_HZ`` (550 Hz) tone for every
200 ms frame in which the input had speech. Both sit at ``LEVEL`` (-12 dBFS peak), loud enough
for energy checks and far below clipping; 5 ms ramps keep the beeps free of clicks.
"""

from __future__ import annotations

import numpy as np

from ..audio.wire import WIRE_RATE_HZ

BEEP_HZ = 660.0
STREAM_HZ = 550.0
LEVEL = 0.25
MAX_BEEPS = 10
MIN_RESPONSE_MS = 400
MAX_RESPONSE_MS = 4_000
RAMP_SAMPLES = WIRE_RATE_HZ * 5 // 1000


def response_ms(voiced_ms: int) -> int:
    """Length of the answer to an utterance: 0.8 x its voiced length, within 0.4..4 s."""
    return int(min(max(0.8 * voiced_ms, MIN_RESPONSE_MS), MAX_RESPONSE_MS))


def _tone(freq_hz: float, samples: int, start_sample: int = 0) -> np.ndarray:
    t = (np.arange(samples) + start_sample) / WIRE_RATE_HZ
    return LEVEL * np.sin(2 * np.pi * freq_hz * t)


def beeps(utterance: int, duration_ms: int) -> bytes:
    """``min(utterance, MAX_BEEPS)`` beeps of BEEP_HZ filling ``duration_ms`` (70 % on, 30 % off)."""
    total = WIRE_RATE_HZ * duration_ms // 1000
    count = min(max(utterance, 1), MAX_BEEPS)
    out = np.zeros(total)
    slot = total // count
    on = int(slot * 0.7)
    ramp = min(RAMP_SAMPLES, on // 2)
    envelope = np.ones(on)
    if ramp:
        envelope[:ramp] = np.linspace(0.0, 1.0, ramp)
        envelope[-ramp:] = np.linspace(1.0, 0.0, ramp)
    for i in range(count):
        start = i * slot
        out[start : start + on] = _tone(BEEP_HZ, on) * envelope
    return to_pcm16(out)


def stream_tone(duration_ms: int, start_sample: int) -> bytes:
    """A slice of the continuous interpreter tone; ``start_sample`` keeps the phase across slices."""
    return to_pcm16(_tone(STREAM_HZ, WIRE_RATE_HZ * duration_ms // 1000, start_sample))


def to_pcm16(signal: np.ndarray) -> bytes:
    pcm: np.ndarray = (np.clip(signal, -1.0, 1.0) * 32767).astype("<i2")
    return pcm.tobytes()


def split_chunks(pcm: bytes, chunk_ms: int) -> list[bytes]:
    """Cut PCM16 24 kHz audio into chunks of ``chunk_ms`` (the last one may be shorter)."""
    size = max(2, WIRE_RATE_HZ * chunk_ms // 1000 * 2)
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def response_transcript(language: str, utterance: int) -> str:
    """The text of the answer, e.g. ``[en] translation 3``."""
    return f"[{language}] translation {utterance}"


def input_transcript(utterance: int, voiced_ms: int) -> str:
    """What the person "said", e.g. ``utterance 2 (1.4 s)``."""
    return f"utterance {utterance} ({voiced_ms / 1000:.1f} s)"


def split_words(text: str) -> list[str]:
    """Append-only fragments of ``text`` (each word carries its leading space)."""
    words = text.split(" ")
    return [words[0]] + [" " + w for w in words[1:]]
