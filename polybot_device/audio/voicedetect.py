"""Is there a voice in this 20 ms of mic audio? A score 0..1 per frame, for the voice gate.

The detector is earshot (a ~20 k-parameter recurrent net, Rust, MIT OR Apache-2.0): it wants
16 kHz PCM16 in frames of exactly 256 samples (16 ms) and returns a sigmoid. We hold 24 kHz in
frames of 480 samples (20 ms), so each frame goes through our own polyphase FIR (x2/3, 64 taps,
Kaiser-windowed sinc: flat to 6 kHz, >= 48 dB down at 9 kHz, 0.7 ms delay; exactly 320 samples out
per frame) into a 256-sample FIFO. Not soxr: its streaming output comes in irregular blocks, and
with soxr 'LQ' in front, earshot scored a loud fan as voice two thirds of the time (measured while
choosing the detector; docs/performance.md). A frame's score is the highest of the predictions
completed during it (one or two), else the previous score.

An energy pre-check saves the net in a quiet room: the level of each frame is compared with a
tracked floor (follows a falling level at once, a rising one at 2 dB/s); while no frame of the
last ``HOLD_FRAMES`` rose ``MARGIN_DB`` above it (or above ``QUIET_DBFS``), the FIR and the net are
skipped and the score is 0. The hold matters: without it soft speech over noise starved the
gate's confirmation window.

Not thread-safe, and earshot's detector may not be used from two threads at once: one capture
thread creates it and feeds it. No allocation per frame beyond what earshot's binding makes.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

FRAME = 480
"""Samples per detector frame: 20 ms at 24 kHz (the wire rate)."""
NET_FRAME = 256
"""earshot's frame: 16 ms at 16 kHz."""
MARGIN_DB = 3.0
HOLD_FRAMES = 30
QUIET_DBFS = -60.0
FLOOR_RISE_DB = 2.0 * FRAME / 24_000
"""The floor climbs 2 dB a second (per frame)."""
TAPS_PER_PHASE = 32


class FrameScorer(Protocol):
    def score(self, frame: np.ndarray) -> float:
        """``frame``: FRAME int16 samples at 24 kHz. Returns 0..1 (1: surely a voice)."""

    def reset(self) -> None:
        """A new stream (the device was (re)opened): forget the past."""


def earshot_available() -> bool:
    """earshot has wheels for x86_64 and aarch64 only (not 32-bit ARM)."""
    try:
        import earshot  # noqa: F401
    except ImportError:
        return False
    return True


class To16k:
    """24 kHz -> 16 kHz for whole 20 ms frames, streaming: 480 samples in, 320 out."""

    def __init__(self) -> None:
        k = TAPS_PER_PHASE
        n = 2 * k
        cutoff = 0.5 / 3 * 0.92  # of the x2 upsampled rate: 7.4 kHz
        t = np.arange(n) - (n - 1) / 2
        h = 2 * cutoff * np.sinc(2 * cutoff * t) * np.kaiser(n, 8.0)
        h *= 2 / h.sum()
        self._buf = np.zeros(k - 1 + FRAME)
        windows = sliding_window_view(self._buf, k)
        # y[2j] = sum_l h[2l] x[3j - l], y[2j+1] = sum_l h[2l+1] x[3j+1 - l]: a strided view of
        # the history+frame buffer and one dot product per phase.
        self._even = (windows[0::3][: FRAME // 3], np.ascontiguousarray(h[0::2][::-1]), np.empty(FRAME // 3))
        self._odd = (windows[1::3][: FRAME // 3], np.ascontiguousarray(h[1::2][::-1]), np.empty(FRAME // 3))
        self._acc = np.empty(2 * FRAME // 3)
        self.out = np.empty(2 * FRAME // 3, dtype=np.int16)

    def reset(self) -> None:
        self._buf[:] = 0

    def process(self, frame: np.ndarray) -> np.ndarray:
        """A view into a reused array: valid until the next call."""
        k = TAPS_PER_PHASE
        self._buf[: k - 1] = self._buf[FRAME:]
        self._buf[k - 1:] = frame
        for view, taps, tmp in (self._even, self._odd):
            np.dot(view, taps, out=tmp)
        self._acc[0::2] = self._even[2]
        self._acc[1::2] = self._odd[2]
        np.clip(self._acc, -32768, 32767, out=self._acc)
        np.copyto(self.out, self._acc, casting="unsafe")
        return self.out


class EarshotScorer:
    """earshot behind our FIR and the energy pre-check (see the module docstring)."""

    def __init__(self) -> None:
        import earshot

        self._net = earshot.Detector()
        self._to16k = To16k()
        self._fifo = np.zeros(NET_FRAME + 2 * FRAME // 3, dtype=np.int16)
        self._filled = 0
        self._level = np.empty(FRAME)
        self._floor_db = 0.0
        self._hold = 0
        self._last = 0.0
        self.net_frames = 0
        """Frames the net actually scored (the rest were skipped as quiet)."""

    def reset(self) -> None:
        self._net.reset()
        self._to16k.reset()
        self._filled = 0
        self._floor_db = 0.0
        self._hold = 0
        self._last = 0.0

    def score(self, frame: np.ndarray) -> float:
        if not self._loud_enough(frame):
            self._last = 0.0
            return 0.0
        self.net_frames += 1
        fresh = self._to16k.process(frame)
        fifo, n = self._fifo, self._filled
        fifo[n : n + len(fresh)] = fresh
        n += len(fresh)
        best = -1.0
        start = 0
        while n - start >= NET_FRAME:
            best = max(best, self._net.predict_i16(fifo[start : start + NET_FRAME]))
            start += NET_FRAME
        if start:
            fifo[: n - start] = fifo[start:n]
        self._filled = n - start
        if best >= 0:
            self._last = best
        return self._last

    def _loud_enough(self, frame: np.ndarray) -> bool:
        level = self._level
        np.copyto(level, frame)
        power = float(np.dot(level, level)) / (FRAME * 32768.0 * 32768.0)
        db = 10 * math.log10(power) if power > 0 else -120.0
        self._floor_db = db if db < self._floor_db else self._floor_db + FLOOR_RISE_DB
        if db >= self._floor_db + MARGIN_DB and db >= QUIET_DBFS:
            self._hold = HOLD_FRAMES
        elif self._hold:
            self._hold -= 1
        return self._hold > 0
