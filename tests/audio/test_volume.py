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


def test_a_card_that_is_not_plugged_in_is_known_absent_without_opening_it():
    from polybot_device.audio.devices import card_absent

    assert card_absent("hw:CARD=NoSuchMic,DEV=0") and card_absent("plughw:CARD=NoSuchMic")
    assert card_absent("hw:7,0")  # this machine has no sound cards at all
    assert not card_absent("default") and not card_absent("polybot_mic")  # not a card name: just try it
