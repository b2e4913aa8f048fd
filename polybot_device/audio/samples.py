"""Sample formats the audio devices may insist on, and the conversion to and from our int16.

Everything inside the daemon is signed 16-bit (the wire format is PCM16). Devices are not: the
I2S MEMS mics of many Pi voice builds (INMP441, SPH0645) deliver 24 significant bits in 32-bit
samples, some USB DACs take only S24_3LE or S32_LE. pyalsaaudio ignores a failed ``set_format``
(``alsapcm_setup`` in its C source does not check the call) and ALSA then settles on a format the
device has; so :mod:`.pcm` reads back what it got, and these helpers convert.

The conversion keeps the top 16 bits (the 8 dropped bits of a 24-bit mic are below the noise of
any capsule), and playback puts our 16 bits at the top of the wider sample, zeros below: full
scale stays full scale, so an S32-only DAC never plays S16 data as loud noise.

The 20 ms path: :class:`Scratch` arrays are reused across chunks; the only per-chunk object is
the ``bytes`` handed on.
"""

from __future__ import annotations

from dataclasses import dataclass

import alsaaudio
import numpy as np


@dataclass(frozen=True)
class SampleFormat:
    name: str
    """ALSA's name, as ``aplay --dump-hw-params`` and pyalsaaudio's ``info()`` show it."""
    alsa: int
    """pyalsaaudio's PCM_FORMAT_* constant."""
    width: int
    """Bytes per sample in the stream."""
    top: int
    """Byte offset of the sample's most significant 16 bits inside its ``width`` bytes."""


S16_LE = SampleFormat("S16_LE", alsaaudio.PCM_FORMAT_S16_LE, 2, 0)
S32_LE = SampleFormat("S32_LE", alsaaudio.PCM_FORMAT_S32_LE, 4, 2)
S24_3LE = SampleFormat("S24_3LE", alsaaudio.PCM_FORMAT_S24_3LE, 3, 1)
S24_LE = SampleFormat("S24_LE", alsaaudio.PCM_FORMAT_S24_LE, 4, 1)
"""24 bits in the low three bytes of a 32-bit container (sign-extended)."""

SUPPORTED: tuple[SampleFormat, ...] = (S16_LE, S32_LE, S24_3LE, S24_LE)
"""In the order they are asked for: S16_LE first (no conversion), then the wider ones."""

_BY_ALSA = {f.alsa: f for f in SUPPORTED}


def by_alsa(value: int) -> SampleFormat | None:
    """The format for pyalsaaudio's constant, None for one we cannot convert."""
    return _BY_ALSA.get(value)


class Scratch:
    """Grow-only scratch arrays: reused across chunks, reallocated only for a larger chunk."""

    def __init__(self, dtype: type, columns: int = 0) -> None:
        self._dtype = dtype
        self._columns = columns
        self._buf: np.ndarray = np.empty((0, columns) if columns else 0, dtype=dtype)

    def get(self, frames: int) -> np.ndarray:
        if len(self._buf) < frames:
            size = max(frames, 2 * len(self._buf))
            self._buf = np.empty((size, self._columns) if self._columns else size, dtype=self._dtype)
        return self._buf[:frames]


class ToInt16:
    """Interleaved samples of ``fmt`` -> int16 samples (same order), keeping the top 16 bits."""

    def __init__(self, fmt: SampleFormat) -> None:
        self.fmt = fmt
        self._pairs = Scratch(np.uint8, columns=2)

    def convert(self, raw: bytes | bytearray | memoryview) -> np.ndarray:
        fmt = self.fmt
        if fmt.width == 2:
            return np.frombuffer(raw, dtype="<i2")
        wide = np.frombuffer(raw, dtype=np.uint8).reshape(-1, fmt.width)
        pairs = self._pairs.get(len(wide))
        np.copyto(pairs, wide[:, fmt.top : fmt.top + 2])
        return pairs.reshape(-1).view("<i2")


class FromInt16:
    """int16 samples -> interleaved ``fmt`` bytes, our 16 bits at the top, zeros below."""

    def __init__(self, fmt: SampleFormat) -> None:
        self.fmt = fmt
        self._wide32 = Scratch(np.dtype("<i4").type)
        self._wide24 = Scratch(np.uint8, columns=3)

    def convert(self, samples: np.ndarray) -> bytes:
        fmt = self.fmt
        flat = samples.reshape(-1)
        if fmt.width == 2:
            return flat.astype("<i2", copy=False).tobytes()
        if fmt.width == 4:
            out = self._wide32.get(len(flat))
            np.copyto(out, flat, casting="unsafe")
            np.left_shift(out, 8 * fmt.top, out=out)  # S24_LE: << 8 keeps the sign in the top byte
            return out.astype("<i4", copy=False).tobytes()
        out3 = self._wide24.get(len(flat))
        out3[:, 0] = 0
        out3[:, 1:3] = flat.astype("<i2", copy=False).view(np.uint8).reshape(-1, 2)
        return out3.tobytes()
