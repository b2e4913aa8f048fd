"""Speaker loudness: the card's own mixer where it has one, otherwise scaling the samples.

A hardware mixer costs no CPU and keeps the DAC's full resolution, so it is preferred; many USB
speakers and I2S amplifiers have none, and then the 24 kHz audio is scaled before playback (a
multiply per ~100 ms delta, off the 20 ms capture path).
"""

from __future__ import annotations

import logging

import alsaaudio
import numpy as np

from ..config import AudioOutputConfig
from .choose import resolve
from .devices import card_index

log = logging.getLogger(__name__)

PREFERRED_CONTROLS = ("PCM", "Speaker", "Master", "Headphone", "Digital")
STEP_PERCENT = 10


class Volume:
    def __init__(self, config: AudioOutputConfig) -> None:
        self.percent = config.volume_percent
        self._mixer = _find_mixer(resolve("playback", config.device, config.device_match).name, config.mixer)
        self._gain = 1.0
        self._apply()

    @property
    def uses_mixer(self) -> bool:
        return self._mixer is not None

    def step(self, up: bool) -> int:
        """Volume buttons: one step up or down; returns the new percentage."""
        self.percent = max(0, min(100, self.percent + (STEP_PERCENT if up else -STEP_PERCENT)))
        self._apply()
        log.info("volume: %d %%", self.percent)
        return self.percent

    def set(self, percent: int) -> None:
        self.percent = max(0, min(100, percent))
        self._apply()

    def scale(self, pcm: bytes) -> bytes:
        """The samples to play: unchanged with a mixer or at full volume."""
        if self._gain == 1.0:
            return pcm
        samples = np.frombuffer(pcm, dtype="<i2")
        return (samples * self._gain).astype("<i2").tobytes()

    def _apply(self) -> None:
        if self._mixer is not None:
            try:
                self._mixer.setvolume(self.percent)
                self._gain = 1.0
                return
            except alsaaudio.ALSAAudioError as exc:
                log.warning("mixer volume failed (%s): scaling samples instead", exc)
                self._mixer = None
        # Loudness is perceived roughly logarithmically: a squared curve makes the steps even.
        self._gain = (self.percent / 100) ** 2


def _find_mixer(device: str, wanted: str | None) -> alsaaudio.Mixer | None:
    card = card_index(device)
    if card is None:
        return None
    try:
        controls = alsaaudio.mixers(cardindex=card)
    except alsaaudio.ALSAAudioError:
        return None
    names = [wanted] if wanted else [c for c in PREFERRED_CONTROLS if c in controls]
    for name in names:
        try:
            mixer = alsaaudio.Mixer(control=name, cardindex=card)
        except alsaaudio.ALSAAudioError:
            continue
        if mixer.volumecap():
            log.info("volume through the card's mixer control %r", name)
            return mixer
    if wanted:
        log.warning("audio.output.mixer %r not found on card %d (it has: %s): scaling samples",
                    wanted, card, ", ".join(controls) or "no controls")
    return None


