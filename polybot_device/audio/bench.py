"""CPU cost of the audio path: ``python -m polybot_device.audio.bench`` (run it on the Pi).

Two measurements, both as "% of one core per second of audio":

* the converters alone, fed 20 ms chunks in a tight loop (process CPU time);
* the real threads on the file rig: MicCapture and SpeakerPlayback run for a few seconds of real
  time and the CPU time of each thread is read from its own clock (``pthread_getcpuclockid``),
  so the feeder and the event loop are not counted. This includes libasound, the FIFO reads,
  the hand-off to the loop and the real-time pacing wake-ups.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time

import numpy as np

from ..config import AudioInputConfig, AudioOutputConfig
from .filerig import FileRig
from .resample import MicConverter, SpeakerConverter
from .samples import S24_3LE, S32_LE
from .wire import WIRE_RATE_HZ


def _chunks(rate: int, channels: int, seconds: float, period_ms: int = 20) -> list[bytes]:
    rng = np.random.default_rng(1)
    frames = rate * period_ms // 1000
    data = (rng.standard_normal((int(rate * seconds), channels)) * 3000).astype(np.int16)
    return [data[i : i + frames].tobytes() for i in range(0, len(data) - frames + 1, frames)]


def converter_cpu_percent(conv: MicConverter | SpeakerConverter, chunks: list[bytes], audio_s: float) -> float:
    for c in chunks[:50]:  # warm up (scratch buffers, soxr tables)
        conv.convert(c)
    t0 = time.process_time()
    for c in chunks:
        conv.convert(c)
    return (time.process_time() - t0) / audio_s * 100


def _thread_cpu(thread: threading.Thread) -> float:
    assert thread.ident is not None
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def _thread_named(name: str) -> threading.Thread:
    """The running thread a part started under ``name`` (each audio part names its thread)."""
    return next(t for t in threading.enumerate() if t.name == name)


async def _rig_threads(seconds: float) -> tuple[float, float]:
    from .capture import MicCapture
    from .playback import SpeakerPlayback

    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory() as tmp:
        rig = FileRig(tmp, 48000, 2, 48000, 2)
        old = rig.apply()
        feeder = rig.feeder()
        try:
            mic = MicCapture(AudioInputConfig(device=rig.mic_pcm, rate=48000, channels=2), loop, lambda ok, r: None)
            speaker = SpeakerPlayback(AudioOutputConfig(device=rig.speaker_pcm, rate=48000, channels=2),
                                      loop, lambda ok, r: None)
            mic.start()
            speaker.start()
            await asyncio.wait_for(mic.read(), 3)
            noise = np.random.default_rng(2).standard_normal(int(WIRE_RATE_HZ * (seconds + 1))) * 3000
            pcm = noise.astype(np.int16).tobytes()
            for i in range(0, len(pcm), 4800):
                speaker.play(pcm[i : i + 4800], "bench")
            mic_thread, spk_thread = _thread_named("mic-capture"), _thread_named("speaker-playback")
            mic_t0, spk_t0, t0 = _thread_cpu(mic_thread), _thread_cpu(spk_thread), time.monotonic()
            end = t0 + seconds
            while time.monotonic() < end:
                await mic.read()
            elapsed = time.monotonic() - t0
            mic_cpu = (_thread_cpu(mic_thread) - mic_t0) / elapsed * 100
            spk_cpu = (_thread_cpu(spk_thread) - spk_t0) / elapsed * 100
            speaker.stop_now()
            mic.stop()
            speaker.stop()
        finally:
            feeder.stop()
            if old is not None:
                import os

                os.environ["ALSA_CONFIG_PATH"] = old
    return mic_cpu, spk_cpu


def main() -> None:
    seconds = 20.0
    print("converters alone (% of one core per second of audio):")
    cases: list[tuple[str, MicConverter | SpeakerConverter, int, int]] = [
        ("mic 48 kHz stereo -> 24 kHz mono", MicConverter(48000, 2), 48000, 2),
        ("mic 44.1 kHz mono -> 24 kHz mono", MicConverter(44100, 1), 44100, 1),
        ("mic 16 kHz mono -> 24 kHz mono", MicConverter(16000, 1), 16000, 1),
        ("speaker 24 kHz -> 48 kHz stereo", SpeakerConverter(48000, 2), WIRE_RATE_HZ, 1),
        ("speaker 24 kHz -> 48 kHz mono", SpeakerConverter(48000, 1), WIRE_RATE_HZ, 1),
        # 32-bit samples (an I2S mic or DAC): the chunks of a twice-as-wide int16 stream have the same bytes.
        ("mic 48 kHz stereo S32_LE -> 24 kHz mono", MicConverter(48000, 2, sample_format=S32_LE), 48000, 4),
        ("mic 48 kHz x4 S32_LE, channel 1", MicConverter(48000, 4, sample_format=S32_LE, channel=1), 48000, 8),
        ("speaker 24 kHz -> 48 kHz stereo S32_LE", SpeakerConverter(48000, 2, sample_format=S32_LE), WIRE_RATE_HZ, 1),
        ("speaker 24 kHz -> 48 kHz stereo S24_3LE", SpeakerConverter(48000, 2, sample_format=S24_3LE),
         WIRE_RATE_HZ, 1),
    ]
    for label, conv, rate, ch in cases:
        print(f"  {label:<42} {converter_cpu_percent(conv, _chunks(rate, ch, seconds), seconds):6.3f} %")
    mic_cpu, spk_cpu = asyncio.run(_rig_threads(3.0))
    print("threads on the file rig, real time (% of one core):")
    print(f"  MicCapture thread (48 kHz stereo)      {mic_cpu:6.3f} %")
    print(f"  SpeakerPlayback thread (48 kHz stereo) {spk_cpu:6.3f} %")


if __name__ == "__main__":
    main()
