"""The speaker path through real libasound: 24 kHz mono in, the speaker's own format out."""

from __future__ import annotations

import asyncio
import json
import textwrap
import threading

import numpy as np
import pytest

from polybot_device.audio.playback import SpeakerPlayback
from polybot_device.config import AudioOutputConfig
from tests.audio.signals import active_region, peak, tone_pcm16
from tests.rig.unplug import run_python_with_shim


def _speaker(file_rig, loop, statuses) -> SpeakerPlayback:
    config = AudioOutputConfig(device=file_rig.speaker_pcm, rate=48000, channels=2, period_ms=20, buffer_periods=4)
    return SpeakerPlayback(config, loop, lambda ok, reason: statuses.append((ok, reason)))


def _blocks(y: np.ndarray, rate: int, block: int = 480) -> list[float]:
    """Dominant frequency of each 10 ms block that has sound (silent blocks are skipped)."""
    out = []
    for i in range(0, len(y) - block + 1, block):
        seg = y[i : i + block]
        if np.abs(seg).max() > 2000:
            out.append(peak(seg, rate)[0])
    return out


def test_24k_reply_lands_at_48k_stereo_at_the_right_pitch(file_rig):
    async def main():
        statuses: list = []
        speaker = _speaker(file_rig, asyncio.get_running_loop(), statuses)
        speaker.start()
        pcm = tone_pcm16(1000, 24000, 0.5)
        for i in range(0, len(pcm), 4800):  # 100 ms deltas, as the API sends them
            speaker.play(pcm[i : i + 4800], "item_1")
        assert speaker.is_playing() and speaker.quiet_for_s() == 0.0
        assert await asyncio.to_thread(speaker.wait_idle, 5)
        played = speaker.played_ms("item_1")
        quiet = speaker.quiet_for_s()
        speaker.stop()
        return statuses, played, quiet, speaker

    statuses, played, quiet, speaker = asyncio.run(main())
    assert statuses[0][0] is True
    assert played == pytest.approx(500, abs=5)
    assert 0 <= quiet < 0.2
    assert speaker.underruns == 0
    y = file_rig.read_speaker()
    assert np.array_equal(y[:, 0], y[:, 1]), "mono copied to both channels"
    start, end = active_region(y[:, 0])
    assert end - start == pytest.approx(24000, rel=0.02), "0.5 s at 48 kHz"
    freq, _ = peak(y[start + 2400 : end - 2400, 0], 48000)
    assert freq == pytest.approx(1000, rel=0.01)


def test_stop_now_cuts_the_reply_and_reports_what_was_heard(file_rig):
    async def main():
        speaker = _speaker(file_rig, asyncio.get_running_loop(), [])
        reached = threading.Event()
        speaker.on_handed = lambda item, frames, t: reached.set() if speaker.played_total_frames >= 24000 else None
        speaker.start()
        pcm = tone_pcm16(1000, 24000, 3.0)
        for i in range(0, len(pcm), 4800):
            speaker.play(pcm[i : i + 4800], "long_answer")
        assert await asyncio.to_thread(reached.wait, 5)  # 0.5 s handed to ALSA
        played = speaker.stop_now()
        assert not speaker.is_playing()
        assert speaker.played_ms("long_answer") == played
        speaker.play(tone_pcm16(3000, 24000, 0.3), "next_answer")
        assert await asyncio.to_thread(speaker.wait_idle, 5)
        speaker.stop()
        return played

    played = asyncio.run(main())
    assert 300 <= played <= 600
    freqs = _blocks(file_rig.read_speaker()[:, 0], 48000)
    low = [i for i, f in enumerate(freqs) if abs(f - 1000) < 50]
    high = [i for i, f in enumerate(freqs) if abs(f - 3000) < 50]
    assert high and low and max(low) < min(high), "nothing of the cut reply after the next one starts"
    # What reached the file of the cut reply: what was heard plus at most the device buffer.
    assert played - 30 <= len(low) * 10 <= played + 120
    assert len(high) * 10 == pytest.approx(300, abs=30)


def test_stop_flushes_what_the_file_plugin_held_back(file_rig):
    async def main():
        speaker = _speaker(file_rig, asyncio.get_running_loop(), [])
        speaker.start()
        speaker.play(tone_pcm16(1000, 24000, 0.2), "short")
        assert await asyncio.to_thread(speaker.wait_idle, 5)
        speaker.stop()

    asyncio.run(main())
    start, end = active_region(file_rig.read_speaker()[:, 0])
    assert end - start == pytest.approx(9600, rel=0.03)


# -- unplugged and plugged back, as libasound reports it (the LD_PRELOAD shim) ----------------

SPEAKER_CHILD = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    import numpy as np
    from polybot_device.audio.filerig import FileRig
    from polybot_device.audio.playback import SpeakerPlayback
    from polybot_device.config import AudioOutputConfig
    from tests.rig.timing import scaled

    rig_dir, unplug = Path(sys.argv[1]), Path(sys.argv[2])
    rig = FileRig(rig_dir)
    rig.apply()
    tone = (0.5 * 32767 * np.sin(2 * np.pi * 1000 * np.arange(4800) / 24000)).astype(np.int16).tobytes()

    async def main():
        statuses = asyncio.Queue()
        log = []
        def on_status(ok, reason):
            statuses.put_nowait((ok, reason))
            log.append((ok, reason))
        speaker = SpeakerPlayback(AudioOutputConfig(device=rig.speaker_pcm, rate=48000, channels=2),
                                  asyncio.get_running_loop(), on_status, retry_s=0.2)
        speaker.start()
        first = await asyncio.wait_for(statuses.get(), scaled(5))
        speaker.play(tone, "a")
        idle_a = await asyncio.to_thread(speaker.wait_idle, scaled(5))
        unplug.touch()
        speaker.play(tone, "b")            # the write fails: No such device
        gone = await asyncio.wait_for(statuses.get(), scaled(5))
        try:
            await asyncio.wait_for(statuses.get(), 1.0)
            repeated = True
        except asyncio.TimeoutError:
            repeated = False
        unplug.unlink()
        back = await asyncio.wait_for(statuses.get(), scaled(5))
        speaker.play(tone, "c")
        idle_c = await asyncio.to_thread(speaker.wait_idle, scaled(5))
        played_c = speaker.played_ms("c")
        speaker.stop()
        return dict(first=first, gone=gone, back=back, repeated=repeated, idle_a=idle_a, idle_c=idle_c,
                    played_c=played_c, log=log)

    print(json.dumps(asyncio.run(main())))
    """
)


def test_unplugged_speaker_is_reported_once_and_plays_again(tmp_path, unplug_shim):
    result = run_python_with_shim(
        SPEAKER_CHILD, unplug_shim, tmp_path / "unplugged", stream="playback", timeout=30,
        args=[str(tmp_path / "rig"), str(tmp_path / "unplugged")],
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["first"][0] is True and report["idle_a"]
    ok, reason = report["gone"]
    assert ok is False and "No such device" in reason and "polybot_speaker" in reason, reason
    assert not report["repeated"], report["log"]
    assert report["back"][0] is True
    assert report["idle_c"] and report["played_c"] == 200
