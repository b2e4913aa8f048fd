"""Converters on their own: pitch, level, layout, and streaming across chunk edges."""

from __future__ import annotations

import numpy as np
import pytest

from polybot_device.audio.resample import MicConverter, SpeakerConverter
from tests.audio.signals import peak, tone


def _int16(x: np.ndarray) -> np.ndarray:
    return np.round(x * 32767).astype(np.int16)


def _stream(conv, raw: bytes, chunk: int) -> np.ndarray:
    return np.frombuffer(b"".join(conv.convert(raw[i : i + chunk]) for i in range(0, len(raw), chunk)), np.int16)


def test_stereo_downmix_averages_the_channels():
    left = _int16(tone(1000, 24000, 0.1, 0.4))
    right = _int16(tone(1000, 24000, 0.1, 0.2))
    raw = np.stack([left, right], axis=1).tobytes()
    out = np.frombuffer(MicConverter(24000, 2).convert(raw), np.int16)
    expected = ((left.astype(np.int32) + right) >> 1).astype(np.int16)
    assert np.array_equal(out, expected)


def test_24k_mono_passes_through_untouched():
    raw = _int16(tone(440, 24000, 0.05)).tobytes()
    assert MicConverter(24000, 1).convert(raw) == raw
    assert SpeakerConverter(24000, 1).convert(raw) == raw


@pytest.mark.parametrize("rate,channels", [(48000, 2), (44100, 1), (16000, 1), (48000, 4)])
def test_mic_formats_come_out_at_24k_with_the_same_pitch_and_length(rate, channels):
    x = _int16(tone(1000, rate, 1.0))
    raw = np.repeat(x[:, None], channels, axis=1).tobytes()
    out = _stream(MicConverter(rate, channels), raw, rate // 50 * channels * 2)
    assert len(out) == pytest.approx(24000, abs=200)
    assert peak(out[2400:-2400], 24000)[0] == pytest.approx(1000, rel=0.005)
    rms = np.sqrt(np.mean((out[2400:-2400] / 32768.0) ** 2))
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.02), "level kept"


def test_speaker_upmix_copies_mono_to_every_channel_at_the_speaker_rate():
    pcm = _int16(tone(1000, 24000, 0.5)).tobytes()
    conv = SpeakerConverter(48000, 2)
    out = _stream(conv, pcm, 4801)  # odd sizes: a delta split mid-sample still works
    out = np.concatenate([out, np.frombuffer(conv.flush(), np.int16)]).reshape(-1, 2)
    assert np.array_equal(out[:, 0], out[:, 1])
    assert len(out) == pytest.approx(24000, abs=10)
    assert peak(out[2400:-2400, 0], 48000)[0] == pytest.approx(1000, rel=0.005)


def test_rejects_partial_frames():
    with pytest.raises(ValueError):
        MicConverter(48000, 2).convert(b"\x00" * 6)
