"""Sounds for the two people at the gadget, who have no screen: earcons and spoken notices.

Earcons are synthesised here (a few ms of numpy at start-up). Spoken notices (a language's name,
"offline", "key refused") are rendered offline with ``espeak-ng`` when it is installed, once, and
kept in RAM; without it each notice falls back to a distinct tone pattern. Nothing is fetched.
All cues play through the speaker path, so the echo gate keeps them out of the microphone.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np

from .audio.resample import to_wire
from .audio.wire import WIRE_RATE_HZ
from .realtime.instructions import LANGUAGE_NAMES

log = logging.getLogger(__name__)

OFFLINE_WORDS = {
    "en": "No connection. Translation will resume by itself.",
    "es": "Sin conexión. La traducción volverá sola.",
    "fr": "Pas de connexion. La traduction reprendra d'elle-même.",
    "de": "Keine Verbindung. Die Übersetzung startet von selbst wieder.",
    "it": "Nessuna connessione. La traduzione riprenderà da sola.",
    "pt": "Sem ligação. A tradução volta sozinha.",
}
KEY_WORDS = {
    "en": "The translation service refused this device's key.",
    "es": "El servicio de traducción rechazó la clave de este aparato.",
    "fr": "Le service de traduction a refusé la clé de cet appareil.",
    "de": "Der Übersetzungsdienst hat den Schlüssel dieses Geräts abgelehnt.",
}

BUDGET_WORDS = {
    "en": "Today's translation budget is used up. Translation resumes at midnight.",
    "es": "El presupuesto de traducción de hoy se ha agotado. La traducción vuelve a medianoche.",
    "fr": "Le budget de traduction du jour est épuisé. La traduction reprend à minuit.",
    "de": "Das Übersetzungsbudget für heute ist aufgebraucht. Die Übersetzung geht um Mitternacht weiter.",
}


def _tone(freqs_ms: list[tuple[float, int]], level: float) -> bytes:
    """A sequence of (Hz, ms) notes with 5 ms fades so nothing clicks; 0 Hz is a rest."""
    parts = []
    for freq, ms in freqs_ms:
        n = WIRE_RATE_HZ * ms // 1000
        t = np.arange(n) / WIRE_RATE_HZ
        note = np.sin(2 * np.pi * freq * t) if freq else np.zeros(n)
        fade = min(n // 2, WIRE_RATE_HZ * 5 // 1000)
        if fade:
            ramp = np.linspace(0.0, 1.0, fade)
            note[:fade] *= ramp
            note[-fade:] *= ramp[::-1]
        parts.append(note)
    pcm: np.ndarray = (np.concatenate(parts) * level * 32767).astype("<i2")
    return pcm.tobytes()


@dataclass(frozen=True)
class Earcons:
    ready: bytes
    trouble: bytes
    language: bytes
    mode: bytes
    offline: bytes
    key_refused: bytes
    budget: bytes

    @classmethod
    def make(cls, level: float) -> Earcons:
        return cls(
            ready=_tone([(660, 70), (0, 30), (880, 90)], level * 0.6),
            trouble=_tone([(440, 140), (0, 40), (330, 200)], level),
            language=_tone([(988, 60)], level * 0.7),
            mode=_tone([(523, 60), (0, 30), (659, 60), (0, 30), (784, 60)], level * 0.7),
            offline=_tone([(392, 120), (0, 80)] * 3, level),
            key_refused=_tone([(311, 300), (0, 100), (311, 300)], level),
            budget=_tone([(523, 400), (0, 100), (392, 150)], level),
        )


class Voice:
    """espeak-ng, if installed, speaking short notices into 24 kHz PCM; results are cached."""

    def __init__(self, level: float) -> None:
        self._binary = shutil.which("espeak-ng")
        self._level = level
        self._cache: dict[tuple[str, str], bytes | None] = {}

    @property
    def available(self) -> bool:
        return self._binary is not None

    def render(self, text: str, language: str) -> bytes | None:
        """Blocking (run it in a thread): a few hundred ms the first time, free after."""
        key = (text, language)
        if key not in self._cache:
            self._cache[key] = self._speak(text, language)
        return self._cache[key]

    def _speak(self, text: str, language: str) -> bytes | None:
        if not self._binary:
            return None
        try:
            result = subprocess.run([self._binary, "-v", language.split("-")[0], "--stdout", text],
                                    capture_output=True, timeout=10, check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            log.info("espeak-ng could not speak %s: %s; using tones", language, exc)
            return None
        return _wav_to_wire(result.stdout, self._level)


def _wav_to_wire(wav: bytes, level: float) -> bytes | None:
    """espeak-ng's WAV -> wire-format PCM at the cue level (espeak speaks quietly: twice it)."""
    import io
    import wave

    try:
        with wave.open(io.BytesIO(wav)) as w:
            rate, channels = w.getframerate(), w.getnchannels()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError):
        # espeak-ng --stdout writes a streaming header with zero lengths: parse it by hand
        if len(wav) < 44 or wav[:4] != b"RIFF":
            return None
        rate = int.from_bytes(wav[24:28], "little")
        channels = int.from_bytes(wav[22:24], "little") or 1
        frames = wav[44:]
    if not 8000 <= rate <= 384_000 or channels > 8:
        return None
    samples = np.frombuffer(to_wire(frames, rate, channels), dtype="<i2")
    louder: np.ndarray = np.clip(samples * (level * 2), -32768, 32767).astype("<i2")
    return louder.tobytes()


def language_word(code: str) -> str:
    """What to say for a language: its English name, spoken in that language's voice."""
    return LANGUAGE_NAMES.get(code) or LANGUAGE_NAMES.get(code.split("-")[0]) or code


def offline_words(home: str) -> str:
    return OFFLINE_WORDS.get(home.split("-")[0], OFFLINE_WORDS["en"])


def key_words(home: str) -> str:
    return KEY_WORDS.get(home.split("-")[0], KEY_WORDS["en"])


def budget_words(home: str) -> str:
    return BUDGET_WORDS.get(home.split("-")[0], BUDGET_WORDS["en"])
