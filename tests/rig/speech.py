"""Speech and room noise for the voice gate's tests and benchmark, synthesised and deterministic.

Speech is espeak-ng (formant synthesis, installed by scripts/setup.sh), rendered once per process
and trimmed to its first and last sound, so an utterance's onset and end are exact to the sample.
Levels are *active* levels (the power of the 10 ms frames within 30 dB of the loudest, roughly
ITU-T P.56), so a "-40 dBFS talker" is one whose speech, not whose pauses, sits at -40. Noises:

* fan: 50 Hz mains hum with harmonics, a 140 Hz blade tone, low-passed broadband noise, slow AM;
* street: brown rumble and hiss, cars swelling by 6-10 dB, short bumps;
* babble: six espeak talkers reversed and cut into shuffled 330 ms pieces (speech-like on purpose);
* knocks: damped 150-900 Hz resonances with a click, every 1-5 s, peaks -26..-6 dBFS;
* floor: -50 dBFS white noise (a mic's self-noise), added under everything.

All arrays are float64 at 24 kHz in [-1, 1]; :func:`pcm16` turns one into wire bytes.
"""

from __future__ import annotations

import functools
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import soxr

RATE = 24_000
FLOOR_DBFS = -50.0
UTTERANCES = (  # (espeak voice, words per minute, text): several voices and languages
    ("en-us+m3", 175, "Where is the nearest train station?"),
    ("es+f2", 175, "Muchas gracias."),
    ("de+m1", 210, "Vielen Dank."),
    ("fr-fr+f4", 130, "Je voudrais une table pour deux, s'il vous plaît."),
    ("cmn+m7", 175, "火车站在哪里？"),
    ("ja+f1", 175, "ありがとうございます。"),
)
BABBLE_TEXT = (("it", "Buongiorno a tutti, oggi parliamo del tempo e delle vacanze al mare."),
               ("pt", "A reunião começa às nove horas na sala grande do segundo andar."),
               ("nl", "Het weer is vandaag mooi en we gaan later naar het park."),
               ("pl", "Dzień dobry, chciałbym zamówić kawę i kawałek ciasta."),
               ("ru", "Сегодня мы поедем в город и купим новые книги."),
               ("sv", "Vi ses i morgon vid stationen klockan tio."))


def db(x: float) -> float:
    return float(10 ** (x / 20))


@functools.lru_cache(maxsize=64)
def espeak(voice: str, wpm: int, text: str) -> np.ndarray:
    """One utterance, trimmed to its first and last sound (> -50 dB re its peak)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "u.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(path), text],
                       check=True, capture_output=True)
        with wave.open(str(path)) as w:
            rate = w.getframerate()
            x = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16) / 32768.0
    x = soxr.resample(x, rate, RATE, quality="HQ")
    above = np.flatnonzero(np.abs(x) > np.abs(x).max() * db(-50))
    out: np.ndarray = x[above[0]: above[-1] + 1]
    out.setflags(write=False)
    return out


def active_level_db(x: np.ndarray) -> float:
    n = len(x) // 240
    p = np.mean(x[: n * 240].reshape(n, 240) ** 2, axis=1)
    return float(10 * np.log10(np.mean(p[p > p.max() * 1e-3])))


def at_active_level(x: np.ndarray, dbfs: float) -> np.ndarray:
    return x * db(dbfs - active_level_db(x))


def at_rms(x: np.ndarray, dbfs: float) -> np.ndarray:
    return x * db(dbfs) / np.sqrt(np.mean(x ** 2))


def _lowpass(x: np.ndarray, hz: float) -> np.ndarray:
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1 / RATE)
    spec *= 1 / np.sqrt(1 + (f / hz) ** 4)
    return np.fft.irfft(spec, len(x))


def _coloured(rng: np.random.Generator, n: int, slope_db_oct: float) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    f[0] = f[1]
    spec *= (f / 1000.0) ** (slope_db_oct / 6.02)
    return np.fft.irfft(spec, n)


def fan(rng: np.random.Generator, n: int) -> np.ndarray:
    t = np.arange(n) / RATE
    hum = sum(a * np.sin(2 * np.pi * 50 * k * t + rng.uniform(0, 6.3))
              for k, a in ((1, 1.0), (2, 0.6), (3, 0.35), (4, 0.15), (6, 0.08)))
    blade = sum(a * np.sin(2 * np.pi * 140.0 * k * t + rng.uniform(0, 6.3)) for k, a in ((1, 0.5), (2, 0.25), (3, 0.1)))
    broad = _lowpass(_coloured(rng, n, -3.0), 2000.0)
    broad *= 1.5 * np.sqrt(np.mean((hum + blade) ** 2)) / np.sqrt(np.mean(broad ** 2))
    return (hum + blade + broad) * (1 + 0.05 * np.sin(2 * np.pi * 0.7 * t))


def street(rng: np.random.Generator, n: int) -> np.ndarray:
    t = np.arange(n) / RATE
    rumble = _lowpass(_coloured(rng, n, -6.0), 800.0)
    hiss = _lowpass(_coloured(rng, n, -2.0), 5000.0)
    out = rumble / np.std(rumble) + 0.3 * hiss / np.std(hiss)
    swell = np.ones(n)
    for centre in np.cumsum(rng.uniform(4.0, 12.0, size=int(n / RATE / 4) + 1)):
        width = rng.uniform(1.5, 3.0)
        lo, hi = max(0, int((centre - 4 * width) * RATE)), min(n, int((centre + 4 * width) * RATE))
        if lo >= hi:
            break
        swell[lo:hi] += (db(rng.uniform(6, 10)) - 1) * np.exp(-0.5 * ((t[lo:hi] - centre) / width) ** 2)
    out = out * swell
    for start in np.cumsum(rng.uniform(2.0, 8.0, size=int(n / RATE / 2) + 1)):
        i = int(start * RATE)
        if i >= n:
            break
        m = min(n - i, int(rng.uniform(0.05, 0.15) * RATE))
        out[i:i + m] += _lowpass(rng.standard_normal(m), 1500.0) * np.exp(-np.arange(m) / (0.03 * RATE)) * 4
    return out


@functools.lru_cache(maxsize=1)
def _babble_talkers() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(1302)
    out = []
    for k, (lang, text) in enumerate(BABBLE_TEXT):
        x = espeak(f"{lang}+{('m1', 'f2', 'm3', 'f4', 'm7', 'f1')[k]}", 175, text)[::-1]
        pieces = np.array_split(x, max(2, len(x) // (RATE // 3)))
        out.append(np.concatenate([pieces[i] for i in rng.permutation(len(pieces))]))
    return tuple(out)


def babble(rng: np.random.Generator, n: int) -> np.ndarray:
    mix = np.zeros(n)
    for talker in _babble_talkers():
        track = np.tile(talker, n // len(talker) + 2)
        start = int(rng.integers(0, len(talker)))
        mix += at_rms(track[start:start + n], -20.0)
    return mix


def knocks(rng: np.random.Generator, n: int) -> np.ndarray:
    """Peaks are absolute (dBFS): a knock on a table does not scale with the room's other noise."""
    out = np.zeros(n)
    for start in np.cumsum(rng.uniform(1.0, 5.0, size=int(n / RATE) + 1)):
        i = int(start * RATE)
        if i >= n:
            break
        m = min(n - i, int(0.2 * RATE))
        tt = np.arange(m) / RATE
        f0 = rng.uniform(150, 900)
        ring = np.sin(2 * np.pi * f0 * tt) + 0.5 * np.sin(2 * np.pi * 2.7 * f0 * tt)
        k = np.exp(-tt / rng.uniform(0.02, 0.06)) * ring
        k[:24] += rng.standard_normal(24) * np.linspace(1, 0, 24)
        out[i:i + m] += k / np.max(np.abs(k)) * db(rng.uniform(-26, -6))
    return out


NOISES = {"fan": fan, "street": street, "babble": babble}


def floor(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal(n) * db(FLOOR_DBFS)


def idle_room(seconds: float, seed: int = 13) -> np.ndarray:
    """The issue's idle room: a fan hum at -45 dBFS, knocks, the -50 dBFS floor."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    return at_rms(fan(rng, n), -45.0) + knocks(rng, n) + floor(rng, n)


def noise_bed(kind: str, seconds: float, dbfs: float, seed: int = 13) -> np.ndarray:
    """``kind`` (fan, street, babble) at ``dbfs`` RMS, over the floor."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    return at_rms(NOISES[kind](rng, n), dbfs) + floor(rng, n)


def pcm16(x: np.ndarray) -> bytes:
    return bytes(np.clip(np.round(x * 32767), -32768, 32767).astype("<i2").tobytes())
