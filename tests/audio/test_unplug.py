"""A USB mic pulled out and plugged back, as libasound reports it (the LD_PRELOAD shim)."""

from __future__ import annotations

import json
import textwrap

from tests.rig.unplug import run_python_with_shim

CHILD = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    from polybot_device.audio.capture import MicCapture
    from polybot_device.audio.filerig import FileRig
    from polybot_device.config import AudioInputConfig
    from tests.rig.timing import scaled

    rig_dir, unplug, xrun = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    rig = FileRig(rig_dir, mic_rate=48000, mic_channels=2)
    rig.apply()
    feeder = rig.feeder()

    async def main():
        loop = asyncio.get_running_loop()
        statuses = asyncio.Queue()
        log = []
        def on_status(ok, reason):
            statuses.put_nowait((ok, reason))
            log.append((ok, reason))
        mic = MicCapture(AudioInputConfig(device=rig.mic_pcm, rate=48000, channels=2),
                         loop, on_status, retry_s=0.2)
        mic.start()
        first = await asyncio.wait_for(statuses.get(), scaled(5))
        await asyncio.wait_for(mic.read(), scaled(3))

        xrun.touch()                       # one overrun
        for _ in range(5):
            await asyncio.wait_for(mic.read(), scaled(3))
        xrun_consumed = not xrun.exists()

        unplug.touch()                     # pulled out mid-stream
        gone = await asyncio.wait_for(statuses.get(), scaled(5))
        mic.drain_nowait()
        try:                               # retried every 0.2 s, but reported only once
            await asyncio.wait_for(statuses.get(), 1.0)
            repeated = True
        except asyncio.TimeoutError:
            repeated = False
        failures = mic.open_failures
        unplug.unlink()                    # plugged back in
        back = await asyncio.wait_for(statuses.get(), scaled(5))
        chunk = await asyncio.wait_for(mic.read(), scaled(3))
        mic.stop()
        return dict(first=first, gone=gone, back=back, repeated=repeated, failures=failures,
                    xruns=mic.xruns, xrun_consumed=xrun_consumed, chunk_len=len(chunk), log=log)

    print(json.dumps(asyncio.run(main())))
    feeder.stop()
    """
)


def test_unplugged_mic_is_reported_once_and_comes_back(tmp_path, unplug_shim):
    result = run_python_with_shim(
        CHILD, unplug_shim, tmp_path / "unplugged", xrun_flag=tmp_path / "xrun", timeout=30,
        args=[str(tmp_path / "rig"), str(tmp_path / "unplugged"), str(tmp_path / "xrun")],
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["first"][0] is True
    assert report["xrun_consumed"] and report["xruns"] == 1
    ok, reason = report["gone"]
    assert ok is False
    assert "No such device" in reason and "polybot_mic" in reason, reason
    assert not report["repeated"], report["log"]
    assert report["failures"] >= 3
    assert report["back"][0] is True
    assert report["chunk_len"] > 0


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
