"""Sample formats: our int16 goes to the top of a wider sample and comes back unchanged."""

import numpy as np
import pytest

from polybot_device.audio.samples import S16_LE, S24_3LE, S24_LE, S32_LE, SUPPORTED, FromInt16, ToInt16, by_alsa

EDGES = np.array([0, 1, -1, 1234, -1234, 32767, -32768], dtype=np.int16)


@pytest.mark.parametrize("fmt", SUPPORTED, ids=lambda f: f.name)
def test_int16_survives_a_round_trip_through_every_format(fmt):
    wide = FromInt16(fmt).convert(EDGES)
    assert len(wide) == len(EDGES) * fmt.width
    assert ToInt16(fmt).convert(wide).tolist() == EDGES.tolist()
    assert by_alsa(fmt.alsa) is fmt


def test_full_scale_stays_full_scale_in_wider_samples():
    assert np.frombuffer(FromInt16(S32_LE).convert(EDGES), "<i4").tolist()[-2:] == [32767 << 16, -32768 << 16]
    assert np.frombuffer(FromInt16(S24_LE).convert(EDGES), "<i4").tolist()[-2:] == [32767 << 8, -32768 << 8]
    s24 = np.frombuffer(FromInt16(S24_3LE).convert(EDGES), np.uint8).reshape(-1, 3)
    assert s24[-1].tolist() == [0, 0x00, 0x80]  # -2^23: the most negative 24-bit value


def test_a_24_bit_mic_sample_keeps_its_top_16_bits():
    # An INMP441 sample of 0x123456 in a 32-bit slot (left-justified): 0x12345600.
    raw = np.array([0x12345600, -0x12345600], dtype="<i4").tobytes()
    assert ToInt16(S32_LE).convert(raw).tolist() == [0x1234, -0x1235]  # floor, as a shift does
    assert by_alsa(S16_LE.alsa) is S16_LE and by_alsa(-5) is None
    assert ToInt16(S24_3LE).convert(bytes([0x56, 0x34, 0x12])).tolist() == [0x1234]
