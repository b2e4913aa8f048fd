"""Audio levels for the metrics: RMS in dBFS of the mic and of what the speaker is given.

Cheap by construction: the audio path only keeps a reference to its latest chunk (one attribute
store per chunk, no arithmetic); this meter looks at that chunk a few times a second from the
reporter's tick and averages the mean squares over the metrics interval. So a 20 ms snapshot
every 200 ms, i.e. 10 % of the audio, one numpy dot product each: enough to tell a dead or
unplugged mic (digital silence, -120) from a quiet room (-60..-50) from speech (-30..-15).
"""

from __future__ import annotations

import math

import numpy as np

FULL_SCALE_SQUARED = 32768.0 ** 2
FLOOR_DBFS = -120.0
"""What digital silence (all zeros) reads as: below any real 16-bit signal (-96 dBFS for 1 LSB)."""


def mean_square(chunk: bytes) -> float:
    """Mean square of PCM16 samples, relative to full scale (1.0 = a full-scale square wave)."""
    if len(chunk) < 2:
        return 0.0
    x = np.frombuffer(chunk, dtype=np.int16, count=len(chunk) // 2).astype(np.float32)
    return float(np.dot(x, x)) / (len(x) * FULL_SCALE_SQUARED)


def to_dbfs(ms: float) -> float:
    return FLOOR_DBFS if ms <= 0 else max(FLOOR_DBFS, 10.0 * math.log10(ms))


class LevelMeter:
    """Averages snapshots of one stream. ``offer`` takes the stream's latest chunk with a counter
    that moves when new audio arrived (chunks read, frames played); an unchanged counter means
    nothing new, so a stalled stream adds no samples."""

    def __init__(self) -> None:
        self._seq: object = None
        self._sum = 0.0
        self._n = 0

    def offer(self, chunk: bytes | None, seq: object) -> None:
        if chunk is None or seq == self._seq:
            return
        self._seq = seq
        self._sum += mean_square(chunk)
        self._n += 1

    def take_dbfs(self) -> float:
        """RMS level over the snapshots since the last call, in dBFS; NaN if there were none."""
        if not self._n:
            return math.nan
        level = to_dbfs(self._sum / self._n)
        self._sum, self._n = 0.0, 0
        return level
