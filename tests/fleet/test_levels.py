"""Audio levels for the metrics, with plain values: a dead mic, a quiet room and speech apart."""

from __future__ import annotations

import math

import numpy as np

from polybot_device.fleet.levels import FLOOR_DBFS, LevelMeter, mean_square, to_dbfs


def test_levels_tell_a_dead_mic_from_a_quiet_room_from_speech():
    def chunk(amplitude):
        t = np.arange(480) / 24000
        return (amplitude * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16).tobytes()

    assert to_dbfs(mean_square(bytes(960))) == FLOOR_DBFS
    assert -61 < to_dbfs(mean_square(chunk(0.0014))) < -59  # sine RMS is 3 dB under its peak
    assert -16 < to_dbfs(mean_square(chunk(0.25))) < -14
    meter = LevelMeter()
    meter.offer(chunk(0.25), 1)
    meter.offer(chunk(0.001), 1)  # same counter: nothing new arrived, ignored
    assert -16 < meter.take_dbfs() < -14
    assert math.isnan(meter.take_dbfs())  # nothing since
