"""Energy voice-activity detector for the simulator: PCM in, speech start/stop out, no I/O.

Deliberately simple and predictable, so tests can reason about it:

- audio is cut into 20 ms frames (480 samples of PCM16 24 kHz mono); a partial frame is kept
  until the next ``feed``;
- a frame is *loud* when its RMS level, in dBFS (0 dBFS = full-scale square wave), is at or
  above the threshold;
- the Realtime ``threshold`` (0..1) maps linearly onto -60..-20 dBFS:
  ``threshold_dbfs = -60 + 40 * threshold`` (0.5, the API default, is -40 dBFS; a quiet room
  through a USB mic sits around -60..-50, speech at arm's length around -30..-15);
- speech starts after ``start_ms`` (60 ms) of consecutive loud frames; ``audio_start_ms`` is
  the first loud frame minus ``prefix_padding_ms`` (never below the first sample);
- speech stops after ``silence_duration_ms`` of consecutive quiet frames; ``audio_end_ms`` is
  the moment that silence was complete (it includes the silence, like the real service).

All positions are milliseconds of audio since the detector was created (the session's audio
clock), never wall-clock time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..audio.wire import WIRE_RATE_HZ

FRAME_MS = 20
FRAME_SAMPLES = WIRE_RATE_HZ * FRAME_MS // 1000
FRAME_BYTES = FRAME_SAMPLES * 2
FLOOR_DBFS = -100.0


def threshold_to_dbfs(threshold: float) -> float:
    """Map the API's 0..1 VAD threshold onto the detector's level in dBFS (-60..-20)."""
    return -60.0 + 40.0 * min(max(threshold, 0.0), 1.0)


def frame_levels_dbfs(pcm: bytes | bytearray | memoryview) -> np.ndarray:
    """RMS level in dBFS of each whole 20 ms frame of PCM16 mono audio (a partial tail is ignored)."""
    samples = np.frombuffer(pcm, dtype="<i2")
    whole = len(samples) // FRAME_SAMPLES
    if whole == 0:
        return np.empty(0)
    frames = samples[: whole * FRAME_SAMPLES].reshape(whole, FRAME_SAMPLES).astype(np.float64)
    rms = np.sqrt(np.mean(frames * frames, axis=1)) / 32768.0
    with np.errstate(divide="ignore"):
        levels: np.ndarray = np.maximum(20.0 * np.log10(rms), FLOOR_DBFS)
    return levels


def level_dbfs(pcm: bytes | bytearray | memoryview) -> float:
    """RMS level in dBFS of a whole PCM16 buffer (FLOOR_DBFS for silence or no audio)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    if samples.size == 0:
        return FLOOR_DBFS
    rms = math.sqrt(float(np.mean(samples * samples))) / 32768.0
    return max(20.0 * math.log10(rms), FLOOR_DBFS) if rms > 0 else FLOOR_DBFS


@dataclass(frozen=True)
class SpeechStarted:
    audio_start_ms: int
    """Start of the utterance on the audio clock, prefix padding included."""


@dataclass(frozen=True)
class SpeechStopped:
    audio_end_ms: int
    """End of the utterance on the audio clock, trailing silence included."""
    voiced_ms: int
    """From the first loud frame to the end of the last loud frame."""


VadEvent = SpeechStarted | SpeechStopped


class EnergyVad:
    """Streaming energy VAD; ``feed`` returns the speech boundaries the new audio completed."""

    def __init__(
        self,
        threshold: float = 0.5,
        prefix_padding_ms: int = 300,
        silence_duration_ms: int = 500,
        start_ms: int = 60,
    ) -> None:
        self.configure(threshold, prefix_padding_ms, silence_duration_ms, start_ms)
        self._pending = bytearray()
        self._frames = 0  # whole frames analysed so far: the audio clock
        self.reset_speech()

    def configure(
        self,
        threshold: float = 0.5,
        prefix_padding_ms: int = 300,
        silence_duration_ms: int = 500,
        start_ms: int = 60,
    ) -> None:
        """Change the settings; takes effect from the next frame, keeps the audio clock."""
        self.threshold_dbfs = threshold_to_dbfs(threshold)
        self.prefix_padding_ms = max(0, int(prefix_padding_ms))
        self.start_frames = max(1, math.ceil(start_ms / FRAME_MS))
        self.silence_frames = max(1, math.ceil(silence_duration_ms / FRAME_MS))

    def reset_speech(self) -> None:
        """Forget any utterance in progress (buffer cleared or committed by the client)."""
        self.in_speech = False
        self._loud_run = 0
        self._quiet_run = 0
        self._onset_frame = 0
        self._last_loud_end = 0

    @property
    def position_ms(self) -> int:
        """Milliseconds of audio analysed so far (whole frames only)."""
        return self._frames * FRAME_MS

    def feed(self, pcm: bytes | bytearray | memoryview) -> list[VadEvent]:
        self._pending += pcm
        usable = len(self._pending) - len(self._pending) % FRAME_BYTES
        if usable == 0:
            return []
        levels = frame_levels_dbfs(memoryview(self._pending)[:usable])
        del self._pending[:usable]
        events: list[VadEvent] = []
        for level in levels.tolist():
            loud = level >= self.threshold_dbfs
            self._frames += 1
            if not self.in_speech:
                self._loud_run = self._loud_run + 1 if loud else 0
                if self._loud_run >= self.start_frames:
                    self.in_speech = True
                    self._onset_frame = self._frames - self._loud_run
                    self._last_loud_end = self._frames
                    self._quiet_run = 0
                    start = max(0, self._onset_frame * FRAME_MS - self.prefix_padding_ms)
                    events.append(SpeechStarted(audio_start_ms=start))
            elif loud:
                self._quiet_run = 0
                self._last_loud_end = self._frames
            else:
                self._quiet_run += 1
                if self._quiet_run >= self.silence_frames:
                    voiced = (self._last_loud_end - self._onset_frame) * FRAME_MS
                    events.append(SpeechStopped(audio_end_ms=self.position_ms, voiced_ms=voiced))
                    self.reset_speech()
        return events
