"""Resampler quality and cost, in this process: ours (soxr streams, polybot_device.audio.resample)
against the baseline's chunk-by-chunk ``numpy.interp``.

Quality: a 1 kHz sine at -6 dBFS, 48 kHz mono, through mic conversion (48k -> 24k) and speaker
conversion (24k -> 48k) in 20 ms chunks. SNR = the fitted 1 kHz sine against everything else
(noise, distortion, chunk-edge glitches), after the first 100 ms; a sine fit needs no delay
alignment. Cost: process CPU per second of audio for both conversions (48 kHz stereo mic ->
24 kHz mono; 24 kHz -> 48 kHz stereo speaker), median of 5 runs over 20 s of audio.
"""

from __future__ import annotations

import statistics
import time

import baseline
import numpy as np

from polybot_device.audio.resample import MicConverter, SpeakerConverter

RATE = 48000
CHUNK = RATE // 50


def _sine(seconds: float, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    x = (0.5 * 32767 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    return np.repeat(x[:, None], channels, axis=1) if channels > 1 else x


def _chunks(x: np.ndarray, frames: int) -> list[bytes]:
    return [x[i:i + frames].tobytes() for i in range(0, len(x) - frames + 1, frames)]


def _pipelines(subject: str, channels: int):  # -> (mic(bytes)->bytes, speaker(bytes)->bytes)
    if subject == "ours":
        return MicConverter(RATE, channels).convert, SpeakerConverter(RATE, channels).convert
    return (lambda b: baseline.mic_to_api(b, RATE, channels),
            lambda b: baseline.api_to_speaker(b, RATE, channels))


def snr_db(subject: str) -> float:
    mic, speaker = _pipelines(subject, 1)
    out = b"".join(speaker(mic(c)) for c in _chunks(_sine(2.0), CHUNK))
    y = np.frombuffer(out, dtype=np.int16).astype(np.float64)[RATE // 10:]
    t = (np.arange(len(y)) + RATE // 10) / RATE
    basis = np.stack([np.sin(2 * np.pi * 1000 * t), np.cos(2 * np.pi * 1000 * t), np.ones_like(t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
    fit = basis[:, :2] @ coef[:2]
    residual = y - basis @ coef
    return float(10 * np.log10(np.sum(fit ** 2) / np.sum(residual ** 2)))


def cpu_percent(subject: str, seconds: float = 20.0) -> float:
    mic, speaker = _pipelines(subject, 2)
    mic_in = _chunks(_sine(seconds, 2), CHUNK)
    spk_in = [mic(c) for c in mic_in]
    results = []
    for _ in range(5):
        t0 = time.process_time()
        for c in mic_in:
            mic(c)
        for c in spk_in:
            speaker(c)
        results.append((time.process_time() - t0) / seconds * 100)
    return statistics.median(results)


def measure(subject: str) -> dict:
    return {"snr_db": snr_db(subject), "resample_cpu_percent": cpu_percent(subject)}
