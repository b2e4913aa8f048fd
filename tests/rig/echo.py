"""A speaker the mic hears: the rig's speaker file fed back into its mic FIFO after a known delay.

A real gadget's mic hears its own speaker a little later (the sound's path, both devices' buffers).
:class:`EchoPath` makes the rig do the same through real libasound on both sides: it tails what the
speaker PCM wrote into ``speaker.raw`` and, ``delay_s`` after the bytes appeared, mixes them into
the mic stream over a quiet noise floor (a real mic never delivers digital zeros). It feeds the
MicFeeder one period per period, on absolute deadlines, keeping four periods queued so that a late
wake-up of this thread (up to 80 ms) does not put a gap into the mic stream.

Where the delay the daemon sees differs from ``delay_s``: the speaker's bytes appear in the file
when libasound passes them on (the ``file`` plugin holds back up to one buffer, and SpeakerPlayback
writes up to one buffer ahead of its clock model), plus the four periods queued here and one capture
period: about 150 ms here. Tests allow for that, not for anything like a second.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path

import numpy as np

from polybot_device.audio.filerig import MicFeeder

CUSHION_PERIODS = 4


class EchoPath:
    def __init__(self, speaker_raw: Path, feeder: MicFeeder, delay_s: float, *, gain: float = 1.0,
                 noise_dbfs: float = -60.0, speaker_channels: int = 1) -> None:
        self.delay_s, self.gain = delay_s, gain
        self._speaker_raw, self._feeder, self._channels = Path(speaker_raw), feeder, speaker_channels
        self._noise = 10 ** (noise_dbfs / 20) * np.sqrt(2)
        self._random = np.random.default_rng(12)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="echo-path", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)

    def __enter__(self) -> EchoPath:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _noise_period(self) -> np.ndarray:
        frames = self._feeder.period_frames
        return (self._noise * self._random.uniform(-1, 1, frames)).astype(np.float32)

    def _new_speaker_audio(self, offset: int) -> tuple[np.ndarray, int]:
        """Whole frames the speaker wrote since ``offset`` (mono float) and the new offset."""
        try:
            with self._speaker_raw.open("rb") as f:
                f.seek(offset)
                raw = f.read()
        except FileNotFoundError:
            return np.zeros(0, np.float32), offset
        frame = 2 * self._channels
        raw = raw[: len(raw) - len(raw) % frame]
        samples = np.frombuffer(raw, "<i2").reshape(-1, self._channels)[:, 0].astype(np.float32) / 32768
        return samples, offset + len(raw)

    def _run(self) -> None:
        period_s = self._feeder.period_ms / 1000
        frames = self._feeder.period_frames
        due: deque[tuple[float, np.ndarray]] = deque()
        echo = np.zeros(0, np.float32)
        offset = 0
        for _ in range(CUSHION_PERIODS):
            self._feeder.feed(self._noise_period())
        deadline = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            fresh, offset = self._new_speaker_audio(offset)
            if len(fresh):
                due.append((now + self.delay_s, fresh))
            while due and due[0][0] <= now:
                echo = np.concatenate((echo, due.popleft()[1]))
            block = self._noise_period()
            take = echo[:frames]
            block[: len(take)] += self.gain * take
            echo = echo[len(take):]
            self._feeder.feed(np.clip(block, -1.0, 1.0))
            deadline += period_s
            if time.monotonic() - deadline > 0.5:  # stalled (a busy machine): resync, as the feeder does
                deadline = time.monotonic()
            self._stop.wait(max(0.0, deadline - time.monotonic()))
