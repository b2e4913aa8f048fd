"""Stalled devices, through real libasound: open and "ready", but moving no audio.

A USB mic or speaker behind a hub on a Pi Zero 2 W can stay open after an isochronous glitch and
deliver or take nothing; the file is not closed, no error comes. The shape shim makes
``snd_pcm_readi``/``snd_pcm_writei`` return -EAGAIN while a flag file exists. The daemon must
notice within about 2 s, reopen, say so in the status, and the watchdog heartbeat must stop
moving while no audio moves (only a reopen refreshes it).
"""

from __future__ import annotations

import json
import textwrap

from tests.rig.shape import run_shaped

COMMON = textwrap.dedent("""
    import asyncio, json, sys, time
    from pathlib import Path
    from polybot_device.audio.filerig import FileRig
    from tests.rig.timing import scaled

    rig_dir, stall = Path(sys.argv[1]), Path(sys.argv[2])
    rig = FileRig(rig_dir)
    rig.apply()

    async def watch_heartbeat(part):
        # Until the part has stalled twice (reopened once in between): the longest time its
        # last_alive stood still, sampled every 20 ms.
        longest, t_end = 0.0, time.monotonic() + scaled(8)
        while part.stalls < 2 and time.monotonic() < t_end:
            longest = max(longest, time.monotonic() - part.last_alive)
            await asyncio.sleep(0.02)
        return longest
""")

MIC_CHILD = COMMON + textwrap.dedent("""
    from polybot_device.audio.capture import MicCapture
    from polybot_device.config import AudioInputConfig

    async def main():
        statuses = asyncio.Queue()
        feeder = rig.feeder()
        mic = MicCapture(AudioInputConfig(device=rig.mic_pcm, rate=48000, channels=2),
                         asyncio.get_running_loop(), lambda ok, why: statuses.put_nowait((ok, why, time.monotonic())))
        mic.start()
        first = await asyncio.wait_for(statuses.get(), scaled(5))
        await asyncio.wait_for(mic.read(), scaled(3))
        stall.touch()
        t0 = time.monotonic()
        heartbeat = asyncio.create_task(watch_heartbeat(mic))
        gone = await asyncio.wait_for(statuses.get(), scaled(5))
        still = await heartbeat
        stall.unlink()
        t1 = time.monotonic()
        back = await asyncio.wait_for(statuses.get(), scaled(5))
        mic.drain_nowait()
        chunk = await asyncio.wait_for(mic.read(), scaled(3))
        mic.stop()
        feeder.stop()
        return dict(first=first[:2], gone=gone[:2], noticed_s=gone[2] - t0, back=back[:2],
                    back_s=back[2] - t1, heartbeat_still_s=still, stalls=mic.stalls, chunk=len(chunk))

    print(json.dumps(asyncio.run(main())))
""")


def test_a_mic_that_delivers_nothing_is_noticed_reopened_and_shown(shape_shim, tmp_path):
    result = run_shaped(MIC_CHILD, shape_shim, args=[str(tmp_path / "rig"), str(tmp_path / "stall")],
                        stall_flag=tmp_path / "stall", stream="capture")
    assert result.returncode == 0, result.stderr[-3000:]
    r = json.loads(result.stdout.strip().splitlines()[-1])
    assert r["first"][0] is True
    ok, why = r["gone"]
    assert ok is False and "stalled" in why and "polybot_mic" in why, why
    assert r["noticed_s"] < 2.0, r  # STALL_S (1 s) plus a poll
    assert r["stalls"] >= 2, r  # reopened, stalled again while the flag stayed
    assert r["heartbeat_still_s"] > 0.8, r  # idle polling does not feed the watchdog
    assert r["back"][0] is True and r["chunk"] > 0
    assert r["back_s"] < 3.0, r  # the next reopen (retry 1 s) finds audio flowing


SPEAKER_CHILD = COMMON + textwrap.dedent("""
    import numpy as np
    from polybot_device.audio.playback import SpeakerPlayback
    from polybot_device.config import AudioOutputConfig

    async def main():
        statuses = asyncio.Queue()
        speaker = SpeakerPlayback(AudioOutputConfig(device=rig.speaker_pcm, rate=48000, channels=2),
                                  asyncio.get_running_loop(),
                                  lambda ok, why: statuses.put_nowait((ok, why, time.monotonic())))
        speaker.start()
        first = await asyncio.wait_for(statuses.get(), scaled(5))
        tone = (np.sin(np.arange(24000 * 8) * 2 * np.pi * 1000 / 24000) * 8000).astype(np.int16).tobytes()
        for i in range(0, len(tone), 4800):
            speaker.play(tone[i : i + 4800], "item_1")
        while speaker.played_total_frames < 48000 * 0.3:
            await asyncio.sleep(0.02)
        stall.touch()
        t0 = time.monotonic()
        heartbeat = asyncio.create_task(watch_heartbeat(speaker))
        gone = await asyncio.wait_for(statuses.get(), scaled(5))
        still = await heartbeat
        frames_stalled = speaker.played_total_frames
        stall.unlink()
        t1 = time.monotonic()
        back = await asyncio.wait_for(statuses.get(), scaled(5))
        while speaker.played_total_frames < frames_stalled + 48000 * 0.3:
            await asyncio.sleep(0.02)
        speaker.stop(drain_s=0)
        return dict(first=first[:2], gone=gone[:2], noticed_s=gone[2] - t0, back=back[:2], back_s=back[2] - t1,
                    heartbeat_still_s=still, stalls=speaker.stalls)

    print(json.dumps(asyncio.run(main())))
""")


def test_a_speaker_that_takes_nothing_is_noticed_reopened_and_plays_on(shape_shim, tmp_path):
    result = run_shaped(SPEAKER_CHILD, shape_shim, args=[str(tmp_path / "rig"), str(tmp_path / "stall")],
                        stall_flag=tmp_path / "stall", stream="playback")
    assert result.returncode == 0, result.stderr[-3000:]
    r = json.loads(result.stdout.strip().splitlines()[-1])
    assert r["first"][0] is True
    ok, why = r["gone"]
    assert ok is False and "stalled" in why and "polybot_speaker" in why, why
    assert r["noticed_s"] < 2.0, r
    assert r["stalls"] >= 2, r  # reopened, stalled again while the flag stayed: still one report
    assert r["heartbeat_still_s"] > 0.8, r
    assert r["back"][0] is True and r["back_s"] < 1.5, r  # a reopened device proves itself at once
