"""Devices that offer only one sample format, rate and channel count, through real libasound.

The shape shim narrows the rig's PCMs to exactly what a real device offers (an INMP441 I2S mic:
S32_LE; a USB DAC: S24_3LE; a mic array: 4 or 6 channels). The daemon's config asks for 48 kHz,
1 channel; pyalsaaudio silently takes what the device offers instead, and the daemon must hear and
play the right thing anyway: a 1 kHz tone at its level, never noise (S16 data in an S32 stream
plays as full-scale noise).
"""

from __future__ import annotations

import json
import textwrap
from itertools import cycle, product

import pytest

from tests.rig.shape import run_shaped

FORMATS = ("S16_LE", "S24_3LE", "S32_LE")
RATES = (16000, 44100, 48000)
CHANNELS = (1, 2, 4, 6)
# Every format with every channel count, the rates in turn: each pair of the three appears.
CASES = [(fmt, rate, ch) for (fmt, ch), rate in zip(product(FORMATS, CHANNELS), cycle(RATES), strict=False)]

CAPTURE_CHILD = textwrap.dedent("""
    import asyncio, json, os, sys
    import numpy as np
    from polybot_device.audio.capture import MicCapture
    from polybot_device.audio.filerig import FileRig
    from polybot_device.config import AudioInputConfig
    from tests.audio.signals import active_region, peak, tone
    from tests.rig.timing import scaled

    async def one(base, fmt, rate, ch, pick, tone_on):
        rig = FileRig(f"{base}/{fmt}-{rate}-{ch}-{pick}", mic_rate=rate, mic_channels=ch, mic_format=fmt)
        rig.apply()
        os.environ.update(POLYBOT_SHAPE_FORMAT=fmt, POLYBOT_SHAPE_RATE=str(rate), POLYBOT_SHAPE_CHANNELS=str(ch))
        statuses = []
        with rig.feeder(period_ms=20) as feeder:
            mic = MicCapture(AudioInputConfig(device=rig.mic_pcm, rate=48000, channels=1, channel=pick),
                             asyncio.get_running_loop(), lambda ok, why: statuses.append((ok, why)))
            mic.start()
            try:
                await asyncio.wait_for(mic.read(), scaled(3))
                signal = np.zeros((int(rate * 0.6), ch))
                if tone_on >= 0:
                    signal[:, tone_on] = tone(1000, rate, 0.6)
                else:
                    signal[:] = tone(1000, rate, 0.6)[:, None]
                feeder.feed(signal)
                chunks, have = [], 0
                while have < 0.9 * 48000:
                    chunk = await asyncio.wait_for(mic.read(), scaled(2))
                    chunks.append(chunk)
                    have += len(chunk)
            finally:
                mic.stop()
        out = np.frombuffer(b"".join(chunks), dtype=np.int16)
        try:
            start, end = active_region(out, threshold=500)
        except AssertionError:
            return {"status": statuses[0][1], "seconds": 0.0, "freq": 0.0, "level": -200.0}
        freq, level = peak(out[start + 1200 : end - 1200], 24000)
        return {"status": statuses[0][1], "seconds": (end - start) / 24000, "freq": freq, "level": level}

    async def main():
        cases = json.loads(sys.argv[2])
        print(json.dumps([await one(sys.argv[1], *case) for case in cases]))

    asyncio.run(main())
""")


def _capture(shape_shim, tmp_path, cases):
    result = run_shaped(CAPTURE_CHILD, shape_shim, args=[str(tmp_path), json.dumps(cases)], stream="capture")
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_mic_that_offers_one_format_rate_and_channel_count_is_heard_right(shape_shim, tmp_path):
    results = _capture(shape_shim, tmp_path, [[fmt, rate, ch, 0, -1] for fmt, rate, ch in CASES])
    for (fmt, rate, ch), r in zip(CASES, results, strict=True):
        case = f"{fmt} {rate} Hz x{ch}: {r}"
        assert f"{rate} Hz x{ch} {fmt}" in r["status"], case
        assert r["freq"] == pytest.approx(1000, rel=0.01), case
        assert r["level"] == pytest.approx(-6.0, abs=1.0), case  # the 0.5 tone at its level: not noise
        assert r["seconds"] == pytest.approx(0.6, abs=0.05), case


def test_one_channel_of_a_mic_array_is_picked_or_all_are_mixed(shape_shim, tmp_path):
    # A 4-channel S32_LE array with the voice on channel 3 only.
    picked, mixed, other = _capture(shape_shim, tmp_path, [["S32_LE", 48000, 4, 3, 2], ["S32_LE", 48000, 4, 0, 2],
                                                           ["S32_LE", 48000, 4, 1, 2]])
    assert picked["level"] == pytest.approx(-6.0, abs=1.0) and "channel 3" in picked["status"]
    assert mixed["level"] == pytest.approx(-6.0 - 12.0, abs=1.0) and "channels mixed" in mixed["status"]
    assert other["seconds"] == 0.0, "channel 1 carries nothing"

PLAYBACK_CHILD = textwrap.dedent("""
    import asyncio, json, os, sys
    import numpy as np
    from polybot_device.audio.filerig import FileRig
    from polybot_device.audio.playback import SpeakerPlayback
    from polybot_device.audio.samples import SUPPORTED, ToInt16
    from polybot_device.config import AudioOutputConfig
    from tests.audio.signals import active_region, peak, tone_pcm16

    async def one(base, fmt, rate, ch):
        rig = FileRig(f"{base}/{fmt}-{rate}-{ch}", speaker_plug=False)
        rig.apply()
        os.environ.update(POLYBOT_SHAPE_FORMAT=fmt, POLYBOT_SHAPE_RATE=str(rate), POLYBOT_SHAPE_CHANNELS=str(ch))
        statuses = []
        speaker = SpeakerPlayback(AudioOutputConfig(device=rig.speaker_pcm, rate=48000, channels=1),
                                  asyncio.get_running_loop(), lambda ok, why: statuses.append((ok, why)))
        speaker.start()
        pcm = tone_pcm16(1000, 24000, 0.5)
        for i in range(0, len(pcm), 4800):
            speaker.play(pcm[i : i + 4800], "item_1")
        await asyncio.to_thread(speaker.wait_idle, 10)
        speaker.stop()
        await asyncio.sleep(0)  # let the status callbacks run
        raw = rig.speaker_raw.read_bytes()
        sample = next(f for f in SUPPORTED if f.name == fmt)
        raw = raw[: len(raw) - len(raw) % (sample.width * ch)]
        y = ToInt16(sample).convert(raw).reshape(-1, ch)
        same = all(np.array_equal(y[:, 0], y[:, c]) for c in range(ch))
        start, end = active_region(y[:, 0])
        freq, level = peak(y[start + rate // 20 : end - rate // 20, 0], rate)
        return {"status": statuses[0][1], "seconds": (end - start) / rate, "freq": freq, "level": level,
                "same": same, "loudest": int(np.abs(y[:, 0].astype(np.int32)).max())}

    async def main():
        cases = json.loads(sys.argv[2])
        print(json.dumps([await one(sys.argv[1], *case) for case in cases]))

    asyncio.run(main())
""")


def test_a_speaker_that_takes_one_format_rate_and_channel_count_plays_the_reply_not_noise(shape_shim, tmp_path):
    result = run_shaped(PLAYBACK_CHILD, shape_shim, args=[str(tmp_path), json.dumps(CASES)], stream="playback")
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(result.stdout.strip().splitlines()[-1])
    for (fmt, rate, ch), r in zip(CASES, results, strict=True):
        case = f"{fmt} {rate} Hz x{ch}: {r}"
        assert f"{rate} Hz x{ch} {fmt}" in r["status"], case
        assert r["same"], case  # mono on every channel
        assert r["freq"] == pytest.approx(1000, rel=0.01), case
        assert r["level"] == pytest.approx(-6.0, abs=1.0), case
        assert r["loudest"] < 0.55 * 32768, case  # a 0.5 tone, not full-scale noise
        assert r["seconds"] == pytest.approx(0.5, abs=0.03), case
