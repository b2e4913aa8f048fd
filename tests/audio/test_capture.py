"""The mic path through real libasound: the rig's raw file PCM hands MicCapture exactly the bytes
a USB mic would, at its native rate and channel count; what comes out must be 24 kHz mono."""

from __future__ import annotations

import asyncio
import json
import textwrap

import numpy as np
import pytest
import soxr

from polybot_device.audio.capture import MicCapture
from polybot_device.audio.filerig import FileRig
from polybot_device.config import AudioInputConfig
from tests.audio.signals import active_region, peak, tone
from tests.rig.timing import eventually, scaled
from tests.rig.unplug import run_python_with_shim


async def _capture(config: AudioInputConfig, feeder, signal: np.ndarray, seconds: float):
    """Start MicCapture, feed ``signal`` once it delivers, collect ``seconds`` of output."""
    loop = asyncio.get_running_loop()
    statuses: list[tuple[bool, str]] = []
    mic = MicCapture(config, loop, lambda ok, reason: statuses.append((ok, reason)))
    mic.start()
    try:
        await asyncio.wait_for(mic.read(), scaled(3))  # open and flowing
        feeder.feed(signal)
        chunks, have = [], 0
        while have < seconds * 24000 * 2:
            chunk = await asyncio.wait_for(mic.read(), scaled(2))
            chunks.append(chunk)
            have += len(chunk)
    finally:
        mic.stop()
    return np.frombuffer(b"".join(chunks), dtype=np.int16), mic, statuses


def test_48k_stereo_mic_arrives_as_24k_mono_at_the_right_pitch(file_rig, mic_feeder):
    config = AudioInputConfig(device=file_rig.mic_pcm, rate=48000, channels=2, period_ms=20)
    out, mic, statuses = asyncio.run(_capture(config, mic_feeder, tone(1000, 48000, 0.8), 1.1))
    start, end = active_region(out)
    assert 0.7 * 24000 < end - start < 0.9 * 24000, "0.8 s in should be 0.8 s at 24 kHz out"
    freq, _ = peak(out[start + 1200 : end - 1200], 24000)
    assert freq == pytest.approx(1000, rel=0.01)
    assert statuses and statuses[0][0] is True and "48000 Hz x2" in statuses[0][1]
    assert mic.xruns == 0 and mic.dropped == 0


def test_15khz_does_not_alias_into_the_24k_stream(file_rig, mic_feeder):
    # 1 kHz then 15 kHz at the same level: 15 kHz is above the 12 kHz Nyquist of 24 kHz and
    # would fold to 9 kHz if decimated without a proper filter.
    signal = np.concatenate([tone(1000, 48000, 0.5), tone(15000, 48000, 0.5)])
    signal[-960:] *= np.linspace(1, 0, 960)  # no click at the end (a click is broadband)
    config = AudioInputConfig(device=file_rig.mic_pcm, rate=48000, channels=2)
    out, _, _ = asyncio.run(_capture(config, mic_feeder, signal, 1.3))
    start, _ = active_region(out)
    _, level_1k = peak(out[start + 1200 : start + 10800], 24000)
    _, level_15k = peak(out[start + 13200 : start + 22800], 24000)
    assert level_1k > -10
    assert level_1k - level_15k >= 60, f"15 kHz only {level_1k - level_15k:.1f} dB down"


def test_441k_mono_mic_works(tmp_path, monkeypatch):
    rig = FileRig(tmp_path / "rig441", mic_rate=44100, mic_channels=1)
    for key, value in rig.env().items():
        monkeypatch.setenv(key, value)
    with rig.feeder(period_ms=20) as feeder:
        config = AudioInputConfig(device=rig.mic_pcm, rate=44100, channels=1, period_ms=20)
        out, mic, statuses = asyncio.run(_capture(config, feeder, tone(1000, 44100, 0.6), 0.9))
    start, end = active_region(out)
    assert end - start == pytest.approx(0.6 * 24000, rel=0.05)
    freq, _ = peak(out[start + 1200 : end - 1200], 24000)
    assert freq == pytest.approx(1000, rel=0.01)
    assert "44100 Hz x1" in statuses[0][1]


def test_stop_returns_quickly_even_when_the_mic_goes_silent(file_rig):
    # No feeder writing: after the first chunks a read blocks on the FIFO; stop() must not.
    feeder = file_rig.feeder()

    async def main():
        mic = MicCapture(AudioInputConfig(device=file_rig.mic_pcm, rate=48000, channels=2),
                         asyncio.get_running_loop(), lambda ok, reason: None)
        mic.start()
        await asyncio.wait_for(mic.read(), scaled(3))
        feeder.stop()  # the writer is gone: the next read blocks for ever
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        mic.stop()
        return loop.time() - t0

    assert asyncio.run(main()) < 0.5


# -- unplugged and plugged back, as libasound reports it (the LD_PRELOAD shim) ----------------

MIC_CHILD = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    from polybot_device.audio.capture import MicCapture
    from polybot_device.audio.filerig import FileRig
    from polybot_device.config import AudioInputConfig
    from tests.rig.timing import eventually, scaled

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
        MIC_CHILD, unplug_shim, tmp_path / "unplugged", xrun_flag=tmp_path / "xrun", timeout=30,
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


def test_with_the_voice_gate_a_quiet_room_reaches_the_loop_as_nothing_and_speech_with_its_pre_roll(
        file_rig, mic_feeder):
    """Through real libasound: the gate runs in the capture thread. While the room is quiet the
    loop is handed nothing at all; when someone speaks, the chunks held back arrive first, so the
    loop gets the utterance whole with more than 250 ms before its first sound."""
    from polybot_device.config import Config
    from polybot_device.voicegate import make_voice_gate
    from tests.rig import speech

    voice, wpm, text = speech.UTTERANCES[0]
    u = speech.at_active_level(speech.espeak(voice, wpm, text), -30.0)
    quiet = speech.noise_bed("fan", 4.0, -50.0)
    tail = speech.noise_bed("fan", 2.5, -50.0, seed=14)
    signal = soxr.resample(np.concatenate([quiet, u, tail]), speech.RATE, 48000)
    gate = make_voice_gate(Config())
    assert gate is not None

    async def run() -> tuple[bytes, int, int]:
        mic = MicCapture(AudioInputConfig(device=file_rig.mic_pcm, rate=48000, channels=2), asyncio.get_running_loop(),
                         lambda ok, reason: None, gate=gate)
        mic.start()
        try:
            await asyncio.to_thread(eventually, lambda: mic.chunks > 10, 5, "the mic to deliver")
            start = mic_feeder.queued_frames
            written = mic_feeder.periods_written
            mic_feeder.feed(signal)
            # The FIFO holds ~4 periods: once the feeder has written the quiet part, it was read.
            quiet_written = written + len(quiet) // 480 - 5
            await asyncio.to_thread(eventually, lambda: mic_feeder.periods_written >= quiet_written, 10,
                                    "the quiet part to be read")
            idle_handed = len(mic.drain_nowait())
            got = bytearray(await asyncio.wait_for(mic.read(), scaled(5)))
            while True:  # until the gate closes after the speech
                try:
                    got += await asyncio.wait_for(mic.read(), scaled(1.5))
                except TimeoutError:
                    break
            return bytes(got), idle_handed, mic_feeder.lost_frames(start, start + len(signal))
        finally:
            mic.stop()

    got, idle_handed, lost = asyncio.run(run())
    assert lost == 0, "the rig lost fed audio: the capture thread did not keep up"
    assert idle_handed == 0, f"{idle_handed} chunks of a quiet room were handed to the loop"
    out = np.frombuffer(got, dtype=np.int16) / 32768.0
    n = 1 << (len(out) + len(u)).bit_length()
    onset = int(np.argmax(np.fft.irfft(np.fft.rfft(out, n) * np.conj(np.fft.rfft(u, n)), n)[: len(out)]))
    assert onset >= 0.25 * 24000, f"only {onset / 24:.0f} ms before the speech"
    assert len(out) - onset >= len(u) + 0.5 * 24000, "the end of the utterance, or the silence after it, is missing"
