"""The rig's mic feeder keeps books of what it could not deliver, so a fault test can tell audio
the daemon lost from audio a starved test machine never handed it."""

import os

import numpy as np

from polybot_device.audio.filerig import MicFeeder
from tests.rig.timing import eventually, scaled


def test_the_feeder_knows_which_fed_audio_never_reached_a_mic_nobody_reads(tmp_path):
    fifo = tmp_path / "mic.fifo"
    os.mkfifo(fifo)
    with MicFeeder(fifo, rate=48000, channels=2) as feeder:  # nobody reads
        period = feeder.period_frames
        eventually(lambda: feeder.periods_lost, 5, "the device ring full of silence")
        assert feeder.lost_frames(0, 10**9) == 0  # lost silence is nobody's speech
        feeder.feed(np.full(10 * period, 0.1, dtype=np.float32))
        assert feeder.queued_frames == 10 * period
        assert feeder.wait_idle(scaled(5))
        assert feeder.lost_frames(0, 10 * period) == 10 * period  # every period of it
        assert feeder.lost_frames(2 * period + period // 2, 4 * period) == period + period // 2
        assert feeder.lost_frames(10 * period, 20 * period) == 0  # nothing fed there
