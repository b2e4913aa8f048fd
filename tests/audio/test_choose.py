"""``device: auto``: the gadget's own mic and speaker are chosen, never HDMI, and found again."""

from __future__ import annotations

import asyncio
import logging

from polybot_device.audio.capture import MicCapture
from polybot_device.audio.choose import Candidate, choose, resolve
from polybot_device.config import AudioInputConfig
from tests.rig.timing import scaled

# What a Pi 4 with a USB mic and an I2S amplifier lists (card ids and names as the kernel gives them).
HDMI = Candidate("hw:CARD=vc4hdmi0,DEV=0", "vc4hdmi0", "vc4-hdmi-0", "vc4-hdmi-0")
JACK = Candidate("hw:CARD=Headphones,DEV=0", "Headphones", "bcm2835 Headphones", "bcm2835 Headphones")
USB = Candidate("hw:CARD=Device,DEV=0", "Device", "USB PnP Sound Device",
                "C-Media Electronics Inc. USB PnP Sound Device at usb-0000:01:00.0-1.3, full speed")
I2S = Candidate("hw:CARD=sndrpihifiberry,DEV=0", "sndrpihifiberry", "snd_rpi_hifiberry_dac", "snd_rpi_hifiberry_dac")


def test_auto_prefers_usb_then_i2s_then_the_jack_and_never_hdmi():
    assert choose("capture", [HDMI, JACK, I2S, USB], None).name == USB.name
    assert "USB" in choose("capture", [HDMI, USB], None).why
    assert choose("playback", [HDMI, JACK, I2S], None).name == I2S.name
    assert choose("playback", [HDMI, JACK], None).name == JACK.name
    assert choose("capture", [HDMI, JACK], None).name == "default", "the jack has no mic; HDMI neither"
    only_hdmi = choose("playback", [HDMI], None)
    assert only_hdmi.name == "default" and "no USB or I2S" in only_hdmi.why and HDMI.name in only_hdmi.why


def test_a_pattern_picks_among_several_devices_whatever_their_order():
    other_usb = Candidate("hw:CARD=Array,DEV=0", "Array", "ReSpeaker 4 Mic Array (UAC1.0)",
                          "SEEED ReSpeaker 4 Mic Array (UAC1.0) at usb-0000:01:00.0-1.4, full speed")
    for order in ([USB, other_usb], [other_usb, USB]):
        choice = choose("capture", order, "respeaker")
        assert choice.name == other_usb.name and "device_match 'respeaker'" in choice.why
    assert choose("capture", [USB, other_usb], None).name == USB.name, "no pattern: the first USB card"


def test_a_usb_mic_on_another_port_keeps_its_name():
    # Another port is another card number, but the hints name it by card id: same choice.
    moved = Candidate("hw:CARD=Device,DEV=0", "Device", "USB PnP Sound Device",
                      "C-Media Electronics Inc. USB PnP Sound Device at usb-0000:01:00.0-1.1, full speed")
    assert choose("capture", [HDMI, moved], None).name == choose("capture", [USB, HDMI], None).name


def test_auto_with_a_pattern_opens_the_rig_mic_through_libasound_and_says_why(file_rig, mic_feeder, caplog):
    # This machine has no sound cards: only the rig's named PCMs. A pattern may pick a named PCM.
    assert resolve("capture", "auto", None).name == "default"
    assert resolve("capture", "hw:CARD=X,DEV=0", None).why == "configured"

    async def main():
        statuses = []
        config = AudioInputConfig(device="auto", device_match="polybot_mic", rate=48000, channels=2)
        mic = MicCapture(config, asyncio.get_running_loop(), lambda ok, why: statuses.append((ok, why)))
        mic.start()
        try:
            chunk = await asyncio.wait_for(mic.read(), scaled(3))
        finally:
            mic.stop()
        return statuses, chunk

    with caplog.at_level(logging.INFO, logger="polybot_device.audio.capture"):
        statuses, chunk = asyncio.run(main())
    assert chunk and statuses[0][0] is True
    assert "'polybot_mic' open" in statuses[0][1] and "device_match 'polybot_mic'" in statuses[0][1]
    assert any("microphone: auto: 'polybot_mic'" in r.getMessage() for r in caplog.records)
