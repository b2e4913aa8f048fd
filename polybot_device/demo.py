"""`polybot-device demo`: the whole pipeline on a laptop with no sound card and no API key.

The daemon runs exactly as on the gadget (real libasound, real WebSocket, real protocol); only the
ends are stand-ins: ALSA's `file` plugin plays the mic from a WAV through a FIFO at real-time pace
and writes the speaker to a file, and the local simulator plays the Realtime API.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
import wave
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .apikey import KeySource
from .audio.filerig import FileRig, MicFeeder, read_speaker
from .config import ApiConfig, AudioConfig, AudioInputConfig, AudioOutputConfig, Config
from .redact import SecretRedactor
from .simulator import RealtimeSimulator
from .state import StatusModel
from .stats import Observable

log = logging.getLogger(__name__)

SETTLE_S = 2.0
"""After the last utterance: how long nothing must happen before the demo calls it done."""


@dataclass(frozen=True)
class DemoResult:
    translated: int
    """Utterances the simulator translated."""
    seconds: float
    audio_s: float
    """Length of the translated audio written."""


def sample_wav() -> Path:
    return Path(str(resources.files("polybot_device") / "assets" / "sample_es.wav"))


def run_demo(args: argparse.Namespace) -> int:
    from .service import setup_logging

    redactor = SecretRedactor()
    setup_logging("info", redactor)
    for noisy in ("websockets", "polybot_device.simulator", "polybot_device.simulator.server.websockets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    source = args.input or sample_wav()
    workdir = Path(tempfile.mkdtemp(prefix="polybot-demo-"))
    rig = FileRig(workdir, args.mic_rate, args.mic_channels, args.speaker_rate, 1)
    rig.apply()
    output = args.output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(_demo(rig, source, output))
    print()
    print(f"Fed {source} to the virtual mic ({args.mic_rate} Hz, {args.mic_channels} ch).")
    print(f"{result.translated} utterance(s) translated by the simulator in {result.seconds:.1f} s.")
    print(f"Translated audio written to: {output}  ({args.speaker_rate} Hz mono, {result.audio_s:.1f} s)")
    return 0 if result.translated else 1


async def _demo(rig: FileRig, source: Path, output: Path) -> DemoResult:
    from .app import Translator

    started = time.monotonic()
    async with RealtimeSimulator() as simulator:
        config = Config(
            api=ApiConfig(url=simulator.url, backoff_initial_s=0.2, backoff_max_s=2.0),
            audio=AudioConfig(
                input=AudioInputConfig(device=rig.mic_pcm, rate=rig.mic_rate, channels=rig.mic_channels),
                output=AudioOutputConfig(device=rig.speaker_pcm, rate=rig.speaker_rate, channels=1),
            ),
        )
        keys = KeySource(None, environ={"OPENAI_API_KEY": "demo-key-for-the-local-simulator"})
        translator = Translator(config, keys, StatusModel())
        feeder = MicFeeder(rig.fifo, rig.mic_rate, rig.mic_channels)
        run = asyncio.create_task(translator.run())
        try:
            feeder.feed_wav(source)
            await asyncio.to_thread(feeder.wait_idle, 120)
            await _settle(translator)
        finally:
            run.cancel()
            try:
                await run
            except asyncio.CancelledError:
                pass
            feeder.stop()
    audio = read_speaker(rig.speaker_raw, rig.speaker_rate, 1)[:, 0]
    with wave.open(str(output), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rig.speaker_rate)
        wav.writeframes(audio.tobytes())
    return DemoResult(translator.stats().utterances_translated, time.monotonic() - started,
                      len(audio) / rig.speaker_rate)


async def _settle(translator: Observable) -> None:
    """Done when no response is open, nothing is playing, and that has held for SETTLE_S."""
    deadline = time.monotonic() + 60
    quiet_since = None
    while time.monotonic() < deadline:
        now = time.monotonic()
        if not translator.stats().quiet:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= SETTLE_S:
            return
        await asyncio.sleep(0.1)
