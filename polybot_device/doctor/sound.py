"""The doctor's sound checks: the mic's live level, then the speaker's echo through the mic.

They use the daemon's own audio threads (MicCapture, SpeakerPlayback), so the devices are opened,
converted and timed exactly as the daemon does it, and the echo is measured against the same
speaker clock model the echo gate reads. Both threads open their PCM non-blocking: a device the
running service holds fails at once with EBUSY, which is said in so many words.
"""

from __future__ import annotations

import asyncio
import errno
import os
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from ..audio.capture import MicCapture
from ..audio.playback import SpeakerPlayback
from ..audio.resample import to_wire
from ..audio.volume import Volume
from ..audio.wire import WIRE_RATE_HZ as RATE_HZ
from ..config import Config
from . import echo as echo_math
from .meter import LevelStats, Meter, judge
from .report import Finding, Report, Verdict
from .service import busy_advice

OPEN_TIMEOUT_S = 5.0
STEP_S = 0.1
LISTEN_AFTER_S = 1.5
"""Keep listening this long after the speaker's model says the sentence has left it."""
PLAY_TIMEOUT_S = 15.0
SENTENCE = Path(__file__).resolve().parents[1] / "assets" / "sample_es.wav"
SENTENCE_S = 1.6
"""The sample's first utterance ("Hola, ¿cómo estás?"), lead-in included."""
BUSY_TEXT = os.strerror(errno.EBUSY)


def _device_trouble(check: str, device: str, reason: str) -> Finding:
    if BUSY_TEXT.lower() in reason.lower():
        return Finding(check, Verdict.FAIL, f"{device} is busy", busy_advice(device))
    return Finding(check, Verdict.FAIL, reason,
                   "see `polybot-device devices` for the names this machine has")


def sentence_pcm(path: Path = SENTENCE, seconds: float = SENTENCE_S) -> bytes:
    """The first spoken sentence of the shipped sample, as PCM16 mono 24 kHz, silence trimmed."""
    with wave.open(str(path), "rb") as w:
        raw = w.readframes(int(w.getframerate() * seconds))
        pcm = to_wire(raw, w.getframerate(), w.getnchannels())
    samples = np.frombuffer(pcm, "<i2")
    block = RATE_HZ // 100
    loud = [i for i in range(0, len(samples), block) if np.abs(samples[i:i + block]).max(initial=0) > 330]
    if not loud:
        return pcm
    return samples[loud[0]:loud[-1] + block].tobytes()


def _floats(chunk: bytes) -> np.ndarray:
    return np.frombuffer(chunk, "<i2").astype(np.float32) / 32768.0


@dataclass
class _Device:
    """The first status an audio thread reports (ok, words), as a future on the loop."""

    first: asyncio.Future[tuple[bool, str]]

    def on_status(self, ok: bool, reason: str) -> None:
        if not self.first.done():
            self.first.set_result((ok, reason))

    async def opened(self) -> tuple[bool, str]:
        try:
            return await asyncio.wait_for(asyncio.shield(self.first), OPEN_TIMEOUT_S)
        except TimeoutError:
            return False, f"did not open within {OPEN_TIMEOUT_S:g} s"


async def run_sound(config: Config, report: Report, out: TextIO, seconds: float) -> None:
    """Meter, then echo; adds the microphone, speaker and echo findings."""
    loop = asyncio.get_running_loop()
    device = config.audio.input.device
    mic_status = _Device(loop.create_future())
    mic = MicCapture(config.audio.input, loop, mic_status.on_status)
    mic.start()
    try:
        ok, reason = await mic_status.opened()
        if not ok:
            report.add(_device_trouble("microphone", device, reason))
            report.add(Finding("echo", Verdict.SKIP, "needs a working microphone"))
            await _speaker_only(config, report)
            return
        out.write(f"Microphone {device}: speak or clap to see the level ({seconds:g} s)\n")
        stats = await _meter(mic, seconds, Meter(out))
        found = report.add(judge(stats, device, seconds))
        if found.verdict is Verdict.FAIL:
            report.add(Finding("echo", Verdict.SKIP, "needs a working microphone"))
            await _speaker_only(config, report)
            return
        await _echo(config, mic, stats.quietest_rms(), report, out)
    finally:
        mic.stop()


async def _meter(mic: MicCapture, seconds: float, meter: Meter) -> LevelStats:
    stats = LevelStats()
    step_samples = int(RATE_HZ * STEP_S)
    pending: list[np.ndarray] = []
    have = 0
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            chunk = _floats(await asyncio.wait_for(mic.read(), left))
        except TimeoutError:
            break
        pending.append(chunk)
        have += len(chunk)
        if have >= step_samples:
            block = np.concatenate(pending)
            pending, have = [], 0
            meter.show(stats.add(block), len(stats.steps))
    meter.done()
    return stats


async def _open_speaker(config: Config) -> tuple[SpeakerPlayback, Finding | None]:
    status = _Device(asyncio.get_running_loop().create_future())
    speaker = SpeakerPlayback(config.audio.output, asyncio.get_running_loop(), status.on_status)
    speaker.start()
    ok, reason = await status.opened()
    if ok:
        return speaker, None
    speaker.stop(0.5)
    return speaker, _device_trouble("speaker", config.audio.output.device, reason)


async def _speaker_only(config: Config, report: Report) -> None:
    """The mic failed: at least say whether the speaker opens."""
    speaker, trouble = await _open_speaker(config)
    if trouble is not None:
        report.add(trouble)
        return
    speaker.stop(0.5)
    report.add(Finding("speaker", Verdict.PASS, f"{config.audio.output.device} opens (not heard: no mic)"))


async def _echo(config: Config, mic: MicCapture, noise_rms: float, report: Report, out: TextIO) -> None:
    speaker, trouble = await _open_speaker(config)
    if trouble is not None:
        report.add(trouble)
        report.add(Finding("echo", Verdict.SKIP, "needs a working speaker"))
        return
    volume = Volume(config.audio.output)
    sentence = volume.scale(sentence_pcm())
    out.write(f"Speaker {config.audio.output.device}: playing a test sentence at volume {volume.percent} %\n")
    mic.drain_nowait()
    chunks: list[tuple[float, np.ndarray]] = []
    try:
        speaker.play(sentence, "doctor")
        await _listen(mic, speaker, chunks)
        played_until = time.monotonic() - speaker.quiet_for_s()
    finally:
        speaker.stop(0.5)
    report.add(Finding("speaker", Verdict.PASS, f"{config.audio.output.device} played "
                                                f"{len(sentence) / 2 / RATE_HZ:.1f} s"))
    reference = _floats(sentence)
    played_from = played_until - len(reference) / RATE_HZ
    measured = echo_math.measure(reference, echo_math.Captured.of(chunks, RATE_HZ), played_from, noise_rms)
    _report_echo(config, measured, volume.percent, report)


async def _listen(mic: MicCapture, speaker: SpeakerPlayback, chunks: list[tuple[float, np.ndarray]]) -> None:
    """Collect mic chunks with their arrival times until LISTEN_AFTER_S after the sentence ended."""
    deadline = time.monotonic() + PLAY_TIMEOUT_S
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        try:
            chunk = await asyncio.wait_for(mic.read(), 0.5)
        except TimeoutError:
            continue
        now = time.monotonic()
        chunks.append((now, _floats(chunk)))
        if speaker.is_playing():
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= LISTEN_AFTER_S:
            return


def _report_echo(config: Config, measured: echo_math.Echo, percent: int, report: Report) -> None:
    tail = echo_math.recommend_tail_ms(measured)
    volume, why = echo_math.recommend_volume(percent, measured)
    report.recommendations["audio.echo_tail_ms"] = str(tail)
    report.recommendations["audio.output.volume_percent"] = str(volume)
    if not measured.heard:
        report.add(Finding("echo", Verdict.WARN, f"the test sentence was not heard by the mic "
                                                 f"(correlation {measured.correlation:.2f})",
                           "fine for a headset; otherwise check the speaker is connected and loud enough"))
        return
    summary = (f"heard after {measured.delay_ms} ms, gone {measured.tail_ms} ms after playback, "
               f"peak {measured.peak_dbfs:.0f} dBFS at the mic ({measured.coupling_db:+.0f} dB of what was "
               f"played); {why}")
    if not config.audio.echo_gate:
        report.add(Finding("echo", Verdict.WARN, summary, "audio.echo_gate is off and the mic hears the "
                           "speaker: turn it on, unless this mic cancels echo itself"))
    elif config.audio.echo_tail_ms < measured.tail_ms:
        report.add(Finding("echo", Verdict.FAIL, summary, f"audio.echo_tail_ms is {config.audio.echo_tail_ms}: "
                           f"the gadget would hear its own voice; set it to {tail}"))
    else:
        report.add(Finding("echo", Verdict.PASS, summary))
