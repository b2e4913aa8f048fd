"""Sample-rate and channel conversion between the ALSA devices and the wire format (PCM16 mono 24 kHz).

Both converters are streaming: one ``soxr.ResampleStream`` is kept across chunks, so a 20 ms
period is filtered with the history of the previous ones (no clicks at chunk edges, proper
anti-aliasing).

Quality: soxr 'LQ' (measured here, float test tones, 20 ms chunks, soxr 1.1): stopband >= 120 dB
(a 12.5-23 kHz tone at 48 or 44.1 kHz in is >= 120 dB down after 24 kHz out; the target is
>= 60 dB), passband flat to ~9 kHz (-3 dB near 9.7 kHz, plenty for speech), delay 5 ms, and one
output block per 20 ms input chunk. 'HQ' only widens the passband to ~11.5 kHz, but delays 32 ms
and emits 35 ms blocks every other chunk (0, 830, 0, 830 samples), i.e. latency and jitter for
nothing a listener or the speech model would notice; CPU is about the same (~0.02 % of an x86
core per second of audio: ``python -m polybot_device.audio.bench``).

These run 50 times a second for months on a Pi Zero 2 W: scratch buffers are allocated once and
grown (never shrunk) when a larger chunk turns up; inputs are read through ``numpy.frombuffer``
views. What is unavoidable per chunk is soxr's output array and the ``bytes`` handed on (the
consumer keeps it, so it must be a fresh object).

Neither class is thread-safe: each is owned by the one thread that feeds it. :func:`to_wire` is the
same conversion for a whole clip at once (a cue rendered by espeak-ng, a delta that states its own
rate), so there is one way audio reaches the wire format.
"""

from __future__ import annotations

import numpy as np
import soxr

from .samples import S16_LE, FromInt16, SampleFormat, Scratch, ToInt16
from .wire import SAMPLE_BYTES, WIRE_RATE_HZ

SOXR_QUALITY = "LQ"

_EMPTY = np.zeros(0, dtype=np.int16)


class MicConverter:
    """Interleaved samples at the mic's native rate, channel count and sample format -> PCM16
    mono 24 kHz.

    ``channel`` 0 averages all channels (a stereo mic with the same capsule on both keeps its
    level; one that only fills the left channel loses 6 dB); 1..N takes only that channel (a mic
    array whose other channels are reference or unused inputs). At 24 kHz in, soxr is skipped.
    """

    def __init__(self, in_rate: int, in_channels: int, out_rate: int = WIRE_RATE_HZ, *,
                 sample_format: SampleFormat = S16_LE, channel: int = 0) -> None:
        if in_rate <= 0 or in_channels <= 0:
            raise ValueError(f"bad input format: {in_rate} Hz, {in_channels} channels")
        if not 0 <= channel <= in_channels:
            raise ValueError(f"channel {channel} of a {in_channels}-channel input")
        self.in_rate = in_rate
        self.in_channels = in_channels
        self.out_rate = out_rate
        self.channel = channel
        self._frame_bytes = sample_format.width * in_channels
        self._to_int16 = ToInt16(sample_format)
        self._stream = (
            soxr.ResampleStream(in_rate, out_rate, 1, dtype="int16", quality=SOXR_QUALITY)
            if in_rate != out_rate
            else None
        )
        self._acc = Scratch(np.int32)
        self._mono = Scratch(np.int16)

    def convert(self, raw: bytes | bytearray | memoryview) -> bytes:
        """One chunk of whole frames in, PCM16 mono at ``out_rate`` out (may be empty at first:
        the resampler's delay, about 1 ms)."""
        if len(raw) % self._frame_bytes:
            raise ValueError(f"{len(raw)} bytes is not a whole number of {self.in_channels}-channel frames")
        samples = self._to_int16.convert(raw)
        mono = samples if self.in_channels == 1 else self._downmix(samples)
        if self._stream is None:
            return mono.tobytes()
        out: np.ndarray = self._stream.resample_chunk(mono)
        return out.tobytes()

    def flush(self) -> bytes:
        """The resampler's buffered tail, at the end of a clip (the stream is then cleared)."""
        if self._stream is None:
            return b""
        tail: np.ndarray = self._stream.resample_chunk(_EMPTY, last=True)
        self._stream.clear()
        return tail.tobytes()

    def _downmix(self, samples: np.ndarray) -> np.ndarray:
        frames = samples.reshape(-1, self.in_channels)
        n = len(frames)
        if self.channel:
            picked = self._mono.get(n)
            np.copyto(picked, frames[:, self.channel - 1])
            return picked
        acc = self._acc.get(n)
        np.add(frames[:, 0], frames[:, 1], out=acc, dtype=np.int32)
        for ch in range(2, self.in_channels):
            np.add(acc, frames[:, ch], out=acc)
        if self.in_channels == 2:
            np.right_shift(acc, 1, out=acc)
        else:
            np.floor_divide(acc, self.in_channels, out=acc)
        mono = self._mono.get(n)
        np.copyto(mono, acc, casting="unsafe")  # the mean of int16 values always fits
        return mono

    def reset(self) -> None:
        """Forget the filter history (after a gap in the stream, e.g. a reopened device)."""
        if self._stream is not None:
            self._stream.clear()


class SpeakerConverter:
    """PCM16 mono 24 kHz -> interleaved samples in the speaker's rate, channel count and sample
    format, mono copied to each channel.

    Odd byte counts are carried over to the next chunk (a delta split mid-sample stays correct).
    """

    def __init__(self, out_rate: int, out_channels: int, in_rate: int = WIRE_RATE_HZ, *,
                 sample_format: SampleFormat = S16_LE) -> None:
        if out_rate <= 0 or out_channels <= 0:
            raise ValueError(f"bad output format: {out_rate} Hz, {out_channels} channels")
        self.out_rate = out_rate
        self.out_channels = out_channels
        self.in_rate = in_rate
        self.sample_format = sample_format
        self._from_int16 = FromInt16(sample_format) if sample_format != S16_LE else None
        self._stream = (
            soxr.ResampleStream(in_rate, out_rate, 1, dtype="int16", quality=SOXR_QUALITY)
            if in_rate != out_rate
            else None
        )
        self._wide = Scratch(np.int16, columns=out_channels) if out_channels > 1 else None
        self._odd = b""

    def convert(self, pcm24k: bytes | bytearray | memoryview) -> bytes:
        """A chunk of PCM16 mono at ``in_rate`` in, frames for the speaker out (may be empty)."""
        if self._odd:
            pcm24k = self._odd + bytes(pcm24k)
            self._odd = b""
        if len(pcm24k) % 2:
            self._odd = bytes(pcm24k[-1:])
            pcm24k = pcm24k[:-1]
        mono = np.frombuffer(pcm24k, dtype=np.int16)
        if self._stream is not None:
            mono = self._stream.resample_chunk(mono)
        return self._widen(mono, pcm24k)

    def flush(self) -> bytes:
        """The resampler's buffered tail (a few ms); the stream is then ready for new audio."""
        self._odd = b""
        if self._stream is None:
            return b""
        tail = self._stream.resample_chunk(_EMPTY, last=True)
        self._stream.clear()
        return self._widen(tail, None)

    def reset(self) -> None:
        """Drop the buffered tail and history (after stop_now: nothing old may leak out)."""
        self._odd = b""
        if self._stream is not None:
            self._stream.clear()

    def _widen(self, mono: np.ndarray, original: bytes | bytearray | memoryview | None) -> bytes:
        if self._wide is None:
            if self._from_int16 is not None:
                return self._from_int16.convert(mono)
            return bytes(original) if original is not None and self._stream is None else mono.tobytes()
        wide = self._wide.get(len(mono))
        wide[:] = mono[:, None]
        return wide.tobytes() if self._from_int16 is None else self._from_int16.convert(wide)


def to_wire(pcm: bytes | bytearray | memoryview, rate: int, channels: int) -> bytes:
    """A whole clip of interleaved S16_LE at ``rate`` x ``channels`` -> PCM16 mono 24 kHz (a
    trailing partial frame is dropped). Not for the 20 ms path: it builds a converter per call."""
    whole = len(pcm) - len(pcm) % (SAMPLE_BYTES * channels)
    if channels == 1 and rate == WIRE_RATE_HZ:
        return bytes(pcm[:whole])
    converter = MicConverter(rate, channels)
    return converter.convert(memoryview(pcm)[:whole]) + converter.flush()
