"""`polybot-device devices`: never hangs, names what is there."""

from __future__ import annotations

import os
import subprocess
import sys

CHILD = """
import time
from polybot_device.audio.devices import list_devices, format_devices, available_capture_names
t0 = time.monotonic()
devices = list_devices()
print(format_devices(devices))
print("NAMES", available_capture_names())
print("ELAPSED", time.monotonic() - t0)
"""


def test_devices_lists_the_rig_pcms_without_opening_them(file_rig):
    # No feeder: opening polybot_mic would block on its FIFO for ever, so this also proves
    # that named PCMs are listed, not probed.
    env = dict(os.environ, **file_rig.env())
    result = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=15)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "polybot_mic" in out and "polybot_speaker" in out
    assert "Microphones (capture)" in out and "Speakers (playback)" in out
    assert "'polybot_mic'" in out.split("NAMES", 1)[1]
    assert float(out.rsplit("ELAPSED", 1)[1]) < 5


def test_device_table_suggests_the_config_keys_for_a_usb_mic():
    from polybot_device.audio.devices import DeviceInfo, format_devices

    mic = DeviceInfo(name="hw:CARD=Device,DEV=0", direction="capture", kind="hw", card_id="Device",
                     card_name="USB PnP Sound Device", device=0, plug_name="plughw:CARD=Device,DEV=0",
                     rates=(44100, 48000), channels=(1,))
    busy = DeviceInfo(name="hw:CARD=Headphones,DEV=0", direction="playback", kind="hw",
                      card_id="Headphones", status="busy")
    text = format_devices([mic, busy])
    assert "audio.input.device: 'hw:CARD=Device,DEV=0'" in text
    assert "audio.input.rate: 48000" in text and "audio.input.channels: 1" in text
    assert "busy" in text and "audio.output.device" not in text


def test_device_table_shows_the_sample_formats_a_device_takes():
    from polybot_device.audio.devices import DeviceInfo, format_devices

    i2s = DeviceInfo(name="hw:CARD=sndrpii2scard,DEV=0", direction="capture", kind="hw", card_id="sndrpii2scard",
                     card_name="snd_rpi_i2s_card", device=0, rates=(16000, 48000), channels=(2,),
                     formats=("S32_LE",))
    text = format_devices([i2s])
    assert "formats S32_LE" in text and "S32_LE are converted" in text
