"""How much of the gadget's own voice comes back through its mic, and when: plain numbers in, no I/O.

The echo gate (gate.py) keeps the mic shut while the speaker plays and ``audio.echo_tail_ms`` after
the last sample has left it, judged when each mic chunk reaches the event loop. So the delay that
matters is not an acoustic one alone: it is from the speaker's own clock model ("this sample has
left", SpeakerPlayback) to the moment the chunk carrying its echo arrives on the loop, which adds the
capture buffering and the USB latency of both devices. The doctor measures exactly that: it keeps
each mic chunk with its arrival time, finds the played sentence in the mic stream by
cross-correlation (FFT, numpy), and reads the times off the chunks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_CORRELATION = 0.3
"""Normalised correlation above which the sentence counts as heard (a quiet room with a speaker
beside the mic gives 0.6-0.95; unrelated noise stays under 0.1)."""
ABOVE_NOISE = 2.0
"""A chunk is echo while its RMS is at least this many times the room's noise RMS (6 dB)."""
ECHO_FLOOR = 10 ** (-30 / 20)
"""...and at least this fraction of the echo's own RMS (-30 dB): a loud echo's faint tail is over."""
TAIL_MARGIN_MS = 100
"""Added to the measured tail: jitter of the chunks' arrival, a room a little livelier than today."""
TAIL_STEP_MS = 50
MAX_TAIL_MS = 5000
"""audio.echo_tail_ms's upper bound in the config."""
CLIP_DBFS = -1.0
QUIET_DBFS = -40.0
TARGET_DBFS = -20.0


@dataclass(frozen=True)
class Captured:
    """The mic stream of the test, as chunks with the time each reached the loop."""

    samples: np.ndarray
    """float32 mono at ``rate``, every chunk one after the other."""
    ends: np.ndarray
    """Sample index just past each chunk (cumulative lengths)."""
    arrivals: np.ndarray
    """time.monotonic() at which each chunk arrived, same length as ``ends``."""
    rate: int

    @classmethod
    def of(cls, chunks: list[tuple[float, np.ndarray]], rate: int) -> Captured:
        samples = np.concatenate([c for _, c in chunks]) if chunks else np.zeros(0, np.float32)
        ends = np.cumsum([len(c) for _, c in chunks]).astype(np.int64)
        return cls(samples.astype(np.float32, copy=False), ends, np.array([t for t, _ in chunks]), rate)

    def chunk_of(self, index: int) -> int:
        """Which chunk holds sample ``index``."""
        return min(int(np.searchsorted(self.ends, index, side="right")), len(self.ends) - 1)

    def time_of(self, index: int) -> float:
        """When sample ``index`` was captured: its chunk's arrival, less the samples after it."""
        chunk = self.chunk_of(index)
        return float(self.arrivals[chunk]) - (int(self.ends[chunk]) - 1 - index) / self.rate

    def chunk_rms(self, chunk: int) -> float:
        start = int(self.ends[chunk - 1]) if chunk > 0 else 0
        part = self.samples[start:int(self.ends[chunk])]
        return float(np.sqrt(np.mean(part * part))) if len(part) else 0.0


@dataclass(frozen=True)
class Echo:
    heard: bool
    correlation: float
    delay_ms: int = 0
    """From the speaker model's 'first sample left' to the echo's first sample at the loop."""
    tail_ms: int = 0
    """From the speaker model's 'last sample left' to the last chunk with echo in it."""
    peak_dbfs: float = -math.inf
    """The echo's loudest sample at the mic."""
    coupling_db: float = -math.inf
    """Echo RMS over played RMS: how loud the speaker is at the mic."""


def dbfs(x: float) -> float:
    return 20 * math.log10(x) if x > 0 else -math.inf


def _correlate(reference: np.ndarray, mic: np.ndarray) -> tuple[int, float]:
    """The lag where ``reference`` best matches ``mic`` and the normalised correlation there."""
    n, m = len(reference), len(mic)
    if n == 0 or m < n:
        return 0, 0.0
    size = 1 << (n + m - 1).bit_length()
    spectrum = np.fft.rfft(mic, size) * np.conj(np.fft.rfft(reference, size))
    raw = np.fft.irfft(spectrum, size)[: m - n + 1]
    energy = np.concatenate(([0.0], np.cumsum(mic.astype(np.float64) ** 2)))
    window = np.sqrt(np.maximum(energy[n:] - energy[:-n], 1e-12))
    score = np.abs(raw) / (window * np.sqrt(float(np.dot(reference, reference))) + 1e-12)
    lag = int(np.argmax(score))
    return lag, float(score[lag])


def measure(reference: np.ndarray, captured: Captured, played_from: float, noise_rms: float) -> Echo:
    """Find ``reference`` (played starting at ``played_from`` by the speaker's model) in the mic."""
    lag, corr = _correlate(reference, captured.samples)
    segment = captured.samples[lag:lag + len(reference)]
    echo_rms = float(np.sqrt(np.mean(segment * segment))) if len(segment) else 0.0
    if corr < MIN_CORRELATION or echo_rms < ABOVE_NOISE * noise_rms:
        return Echo(False, corr)
    rate = captured.rate
    delay_s = captured.time_of(lag) - played_from
    played_until = played_from + len(reference) / rate
    threshold = max(ABOVE_NOISE * noise_rms, ECHO_FLOOR * echo_rms)
    last = captured.chunk_of(lag + len(reference) - 1)
    while last + 1 < len(captured.ends) and captured.chunk_rms(last + 1) >= threshold:
        last += 1
    tail_s = max(delay_s, float(captured.arrivals[last]) - played_until)
    ref_rms = float(np.sqrt(np.mean(reference * reference)))
    return Echo(True, corr, round(delay_s * 1000), round(tail_s * 1000),
                dbfs(float(np.max(np.abs(segment)))), dbfs(echo_rms) - dbfs(ref_rms))


def recommend_tail_ms(echo: Echo) -> int:
    """audio.echo_tail_ms for what was measured: the tail plus a margin, in 50 ms steps. No echo
    heard: the margin alone (the mic hears nothing of the speaker)."""
    wanted = max(0, echo.tail_ms if echo.heard else 0) + TAIL_MARGIN_MS
    return min(MAX_TAIL_MS, math.ceil(wanted / TAIL_STEP_MS) * TAIL_STEP_MS)


def recommend_volume(percent: int, echo: Echo) -> tuple[int, str]:
    """audio.output.volume_percent and why. The speaker's echo at the mic is the only loudness the
    gadget can measure: a clipping echo means the speaker is too loud for the mic beside it, a faint
    one that a person across a desk will hardly hear it. Volume follows a squared curve when samples
    are scaled (audio/volume.py), so a change of x dB is a factor of 10**(x/40) in percent."""
    if not echo.heard:
        return percent, "the test sentence was not heard: keep the volume, check the speaker"
    if echo.peak_dbfs >= CLIP_DBFS:
        new = _round5(percent * 10 ** (-6 / 40))
        return new, f"the echo clips the mic ({echo.peak_dbfs:.1f} dBFS): about 6 dB quieter"
    if echo.peak_dbfs < QUIET_DBFS and percent < 100:
        new = min(100, _round5(percent * 10 ** ((TARGET_DBFS - echo.peak_dbfs) / 40)))
        return new, f"the echo is faint ({echo.peak_dbfs:.0f} dBFS at the mic): louder"
    return percent, f"the echo peaks at {echo.peak_dbfs:.0f} dBFS at the mic: the volume is fine"


def _round5(value: float) -> int:
    return max(5, min(100, int(round(value / 5)) * 5))
