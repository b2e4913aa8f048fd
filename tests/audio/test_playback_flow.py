"""How a reply starts, pauses and ends on the speaker, through real libasound (the file rig).

Replies arrive as deltas over Wi-Fi, late and in bursts; USB speakers and amplifiers mute the first
50-200 ms after their stream restarts; a shutdown must not cut the last word. The rig's output
file shows every frame written, silence included, so a gap in a reply is a run of zeros there.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from polybot_device.audio.playback import SpeakerPlayback
from polybot_device.config import AudioOutputConfig
from tests.audio.signals import active_region, tone_pcm16

DELTA = 4800  # bytes: 100 ms of 24 kHz PCM16, as the API sends them


def _speaker(file_rig, **overrides) -> SpeakerPlayback:
    config = AudioOutputConfig(device=file_rig.speaker_pcm, rate=48000, channels=2, period_ms=20,
                               buffer_periods=4, **overrides)
    return SpeakerPlayback(config, asyncio.get_running_loop(), lambda ok, why: None)


def _longest_gap_ms(y: np.ndarray, rate: int = 48000) -> float:
    """Longest run of near-silence inside the sounding part of ``y`` (a tone never has one)."""
    start, end = active_region(y)
    quiet = np.abs(y[start:end].astype(np.int32)) < 1000
    longest = run = 0
    for q in quiet:
        run = run + 1 if q else 0
        longest = max(longest, run)
    return longest * 1000 / rate


async def _jittery_reply(speaker: SpeakerPlayback, deltas: int) -> None:
    """Delta k of 100 ms is due at k x 100 ms; every third one comes 100 ms late (Wi-Fi jitter)."""
    pcm = tone_pcm16(1000, 24000, deltas * 0.1)
    t0 = time.monotonic()
    for k in range(deltas):
        arrival = t0 + k * 0.1 + (0.1 if k % 3 == 1 else 0.0)
        await asyncio.sleep(max(0.0, arrival - time.monotonic()))
        speaker.play(pcm[k * DELTA : (k + 1) * DELTA], "reply")


@pytest.mark.parametrize("start_buffer_ms, gap_expected", [(120, False), (0, True)])
def test_a_reply_in_jittery_deltas_plays_without_a_gap(file_rig, start_buffer_ms, gap_expected):
    # The control case (no start buffer) shows the rig sees the gap a listener would hear.
    async def main():
        speaker = _speaker(file_rig, start_buffer_ms=start_buffer_ms, keep_alive_s=1.0)
        speaker.start()
        await _jittery_reply(speaker, 15)
        assert await asyncio.to_thread(speaker.wait_idle, 5)
        speaker.stop()

    asyncio.run(main())
    gap_ms = _longest_gap_ms(file_rig.read_speaker()[:, 0])
    if gap_expected:
        assert gap_ms > 20, "without a start buffer the late delta leaves a hole"
    else:
        assert gap_ms < 1, f"a {gap_ms:.1f} ms gap in the reply"


def test_the_speaker_keeps_running_on_silence_after_a_reply_and_then_stops(file_rig):
    async def main():
        speaker = _speaker(file_rig, keep_alive_s=1.0)
        speaker.start()
        speaker.play(tone_pcm16(1000, 24000, 0.3), "reply")
        assert await asyncio.to_thread(speaker.wait_idle, 5)
        await asyncio.sleep(0.6)
        quiet_during_keep_alive = speaker.quiet_for_s()
        playing = speaker.is_playing()
        await asyncio.sleep(1.4)  # keep-alive over: nothing more is written
        size = file_rig.speaker_raw.stat().st_size
        await asyncio.sleep(0.5)
        grew = file_rig.speaker_raw.stat().st_size - size
        speaker.stop()
        return quiet_during_keep_alive, playing, grew

    quiet, playing, grew = asyncio.run(main())
    assert not playing and quiet > 0.4, "silence is not playing: the echo gate opens as usual"
    y = file_rig.read_speaker()[:, 0]
    _, end = active_region(y)
    after_s = (len(y) - end) / 48000
    # 1 s of keep-alive, a buffer of padding (80 ms), the rest of the period the tail ended in.
    assert 0.95 <= after_s <= 1.25, after_s
    assert grew == 0


@pytest.mark.parametrize("drain_s, heard_s", [(2.0, 1.0), (0.0, None)])
def test_stop_plays_the_queued_tail_instead_of_cutting_it(file_rig, drain_s, heard_s):
    async def main():
        speaker = _speaker(file_rig)
        speaker.start()
        pcm = tone_pcm16(1000, 24000, 1.0)
        for i in range(0, len(pcm), DELTA):
            speaker.play(pcm[i : i + DELTA], "last_words")
        await asyncio.sleep(0.2)
        await asyncio.to_thread(speaker.stop, drain_s)

    asyncio.run(main())
    y = file_rig.read_speaker()[:, 0]
    start, end = active_region(y) if np.abs(y).max(initial=0) > 2000 else (0, 0)
    played_s = (end - start) / 48000
    if heard_s is None:
        assert played_s < 0.5, "drain_s=0 cuts (the control case)"
    else:
        assert played_s == pytest.approx(heard_s, abs=0.02)
