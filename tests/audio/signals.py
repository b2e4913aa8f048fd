"""Test-signal helpers: tones in, frequency and level out."""

from __future__ import annotations

import numpy as np


def tone(freq_hz: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return amplitude * np.sin(2 * np.pi * freq_hz * t)


def tone_pcm16(freq_hz: float, rate: int, seconds: float, amplitude: float = 0.5) -> bytes:
    return np.round(tone(freq_hz, rate, seconds, amplitude) * 32767).astype(np.int16).tobytes()


def peak(x: np.ndarray, rate: int) -> tuple[float, float]:
    """(frequency of the spectral peak, with parabolic interpolation; its level in dBFS)."""
    x = np.asarray(x, dtype=np.float64) / 32768.0
    w = np.hanning(len(x))
    mag = np.abs(np.fft.rfft(x * w)) / (w.sum() / 2)
    k = int(np.argmax(mag[1:-1])) + 1
    a, b, c = np.log(mag[k - 1 : k + 2] + 1e-20)
    offset = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
    return (k + offset) * rate / len(x), 20 * np.log10(mag[k] + 1e-20)


def active_region(x: np.ndarray, threshold: int = 2000) -> tuple[int, int]:
    """First and last index where |x| exceeds ``threshold``."""
    idx = np.flatnonzero(np.abs(np.asarray(x, dtype=np.int32)) > threshold)
    assert len(idx), "no signal found"
    return int(idx[0]), int(idx[-1])
