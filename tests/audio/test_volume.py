"""Volume: without a hardware mixer (the rig has none) the samples are scaled, evenly per step."""

import numpy as np

from polybot_device.audio.volume import Volume
from polybot_device.config import AudioOutputConfig


def test_volume_without_a_mixer_scales_samples_and_steps_stay_in_range():
    volume = Volume(AudioOutputConfig(device="polybot_speaker", volume_percent=50))
    assert not volume.uses_mixer
    pcm = (np.ones(480) * 10000).astype("<i2").tobytes()
    quieter = np.frombuffer(volume.scale(pcm), dtype="<i2")
    assert 2000 <= quieter[0] <= 3000  # 50 % -> gain 0.25
    for _ in range(10):
        volume.step(up=True)
    assert volume.percent == 100 and volume.scale(pcm) == pcm
    for _ in range(12):
        volume.step(up=False)
    assert volume.percent == 0 and not np.frombuffer(volume.scale(pcm), dtype="<i2").any()
