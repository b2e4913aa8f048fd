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


def test_the_mixer_card_is_the_card_index_not_the_position_in_the_list():
    # Cards 0 and 2 (card 1 was unplugged, or an index= module option): the USB speaker is card 2,
    # the second in the list. Its mixer must be looked up on card 2.
    from polybot_device.audio.devices import Card, card_index

    cards = {"Headphones": Card(0, "bcm2835 Headphones", ""), "Speaker": Card(2, "USB Speaker", "... at usb-1.2")}
    assert card_index("hw:CARD=Speaker,DEV=0", cards) == 2
    assert card_index("plughw:CARD=Speaker", cards) == 2
    assert card_index("hw:2,0", cards) == 2 and card_index("hw:1,0", cards) is None
    assert card_index("hw:CARD=Headphones,DEV=0", cards) == 0
