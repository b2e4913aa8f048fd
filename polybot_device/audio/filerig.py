"""A sound card made of files: real libasound, no hardware (the ``demo`` subcommand and the tests).

:class:`FileRig` writes an ALSA configuration with two PCMs:

* ``polybot_mic``: a ``file`` PCM over ``null`` whose ``infile`` is a FIFO (raw format). It hands
  the reader the FIFO's bytes as they are, at whatever rate and channel count the reader asked
  for: feed it in the mic's configured format and only a daemon that opens the device that way
  and converts by itself hears the right thing. Deliberately NO ``plug`` here: a plug would
  convert for the daemon and hide a daemon that opens a real ``hw:`` device the wrong way.
* ``polybot_speaker``: a ``plug`` with a fixed slave (the given rate, channels, S16_LE) over a
  ``file`` PCM writing raw to ``speaker.raw``, so the output file has a known layout.

Rig facts that matter (checked with libasound 1.2.8, pyalsaaudio 0.11):

* The ``file`` plugin fills each capture period with ONE ``read()`` of the FIFO and zero-pads the
  rest: the feeder's write unit must be a multiple of the reader's period (20 ms writes serve 20,
  10 or 5 ms periods exactly).
* Opening the mic PCM blocks in ``open()`` of the FIFO until a writer exists, and pyalsaaudio
  holds the GIL there: the whole process freezes. :class:`MicFeeder` therefore opens its end
  O_RDWR in its constructor (that never blocks and guarantees a writer): create the feeder
  before anything opens ``polybot_mic``.
* Playback holds back about one ALSA buffer until more is written, or the PCM is drained,
  dropped (``drop()`` writes it out too) or closed. A real DAC plays it out.
* ``ALSA_CONFIG_PATH`` is read when libasound (re)loads its configuration, and it reloads when the
  list of files or their mtimes change: :meth:`FileRig.apply` works in-process, even after
  libasound was used with another configuration.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import threading
import time
import wave
from collections import deque
from pathlib import Path

import numpy as np
import soxr

from .samples import SUPPORTED, FromInt16

SYSTEM_ALSA_CONF = "/usr/share/alsa/alsa.conf"
MIC_PCM = "polybot_mic"
SPEAKER_PCM = "polybot_speaker"
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


class FileRig:
    def __init__(self, directory: str | os.PathLike, mic_rate: int = 48000, mic_channels: int = 2,
                 speaker_rate: int = 48000, speaker_channels: int = 2, *, mic_format: str = "S16_LE",
                 speaker_plug: bool = True) -> None:
        """``mic_format``: the sample format the feeder writes (a device that offers only S32_LE,
        say: narrow it with the shape shim). ``speaker_plug`` False: the speaker is a raw ``file``
        PCM like the mic, so the output file holds exactly what the daemon wrote, in the format,
        rate and channels it opened."""
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.mic_rate, self.mic_channels, self.mic_format = mic_rate, mic_channels, mic_format
        self.speaker_rate, self.speaker_channels = speaker_rate, speaker_channels
        self.mic_pcm, self.speaker_pcm = MIC_PCM, SPEAKER_PCM
        self.fifo = self.directory / "mic.fifo"
        self.speaker_raw = self.directory / "speaker.raw"
        self.conf = self.directory / "asound.conf"
        if not self.fifo.exists():
            os.mkfifo(self.fifo)
        raw_speaker = f"""{{
      type file
      slave.pcm null
      file "{self.speaker_raw}"
      format "raw"
    }}"""
        speaker = (f"""{{
  type plug
  slave {{
    pcm {raw_speaker}
    rate {speaker_rate}
    channels {speaker_channels}
    format S16_LE
  }}
}}""" if speaker_plug else raw_speaker)
        self.conf.write_text(
            f"""pcm.{MIC_PCM} {{
  type file
  slave.pcm null
  file "/dev/null"
  infile "{self.fifo}"
  format "raw"
}}
pcm.{SPEAKER_PCM} {speaker}
"""
        )

    def env(self) -> dict[str, str]:
        """Environment for a subprocess that should see the rig's PCMs."""
        return {"ALSA_CONFIG_PATH": f"{SYSTEM_ALSA_CONF}:{self.conf}"}

    def apply(self) -> str | None:
        """Point this process's libasound at the rig; returns the previous ALSA_CONFIG_PATH."""
        old = os.environ.get("ALSA_CONFIG_PATH")
        os.environ.update(self.env())
        return old

    def feeder(self, period_ms: int = 20) -> MicFeeder:
        return MicFeeder(self.fifo, self.mic_rate, self.mic_channels, period_ms, self.mic_format)

    def read_speaker(self) -> np.ndarray:
        return read_speaker(self.speaker_raw, self.speaker_rate, self.speaker_channels)


class MicFeeder:
    """Writes the mic FIFO like a real mic: one period every ``period_ms``, on absolute deadlines,
    silence when nothing is queued. Writes never block: when nobody reads (PCM closed) and the
    pipe (sized to ~4 periods) is full, the period is lost, as a real mic's would be.
    """

    def __init__(self, fifo_path: str | os.PathLike, rate: int, channels: int, period_ms: int = 20,
                 sample_format: str = "S16_LE") -> None:
        self.rate, self.channels, self.period_ms = rate, channels, period_ms
        self._encode = FromInt16(next(f for f in SUPPORTED if f.name == sample_format))
        self._frame_bytes = channels * self._encode.fmt.width
        self.period_frames = rate * period_ms // 1000
        self._period_bytes = self.period_frames * self._frame_bytes
        self._silence = bytes(self._period_bytes)
        self._fd = os.open(fifo_path, os.O_RDWR | os.O_NONBLOCK)
        # A small pipe is a small device ring: a few periods of backlog, not 64 KB (~0.3 s).
        try:
            fcntl.fcntl(self._fd, F_SETPIPE_SZ, 4 * self._period_bytes)
        except OSError:
            pass
        self._pending = bytearray()
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._stop = threading.Event()
        self.periods_written = 0
        self.periods_lost = 0
        self._queued_frames = 0  # every frame ever fed, in order: positions in the fed stream
        self._taken_frames = 0
        self._lost_at: deque[int] = deque(maxlen=10_000)  # where in the fed stream fed audio was lost
        self._thread = threading.Thread(target=self._run, name="mic-feeder", daemon=True)
        self._thread.start()

    def feed(self, samples: np.ndarray) -> None:
        """Queue audio at the feeder's rate: float in [-1, 1] or int16; 1-D (mono, copied to each
        channel) or (frames, channels)."""
        a = np.asarray(samples)
        if a.dtype.kind == "f":
            a = np.clip(np.round(a * 32767.0), -32768, 32767).astype(np.int16)
        else:
            a = a.astype(np.int16, copy=False)
        if a.ndim == 1:
            a = np.repeat(a[:, None], self.channels, axis=1)
        if a.shape[1] != self.channels:
            raise ValueError(f"expected {self.channels} channels, got {a.shape[1]}")
        with self._lock:
            self._pending += self._encode.convert(np.ascontiguousarray(a))
            self._queued_frames += a.shape[0]
            self._idle.clear()

    @property
    def queued_frames(self) -> int:
        """Frames fed so far: the position in the fed stream where the next feed() starts."""
        with self._lock:
            return self._queued_frames

    def lost_frames(self, start: int, end: int) -> int:
        """Frames of fed audio between stream positions ``start`` and ``end`` that never reached the
        FIFO (nobody read in time): what the reader cannot have heard of that stretch."""
        with self._lock:
            lost = list(self._lost_at)
        return sum(max(0, min(end, at + self.period_frames) - max(start, at)) for at in lost)

    def feed_wav(self, path: str | os.PathLike) -> None:
        """Queue a 16-bit WAV file, converted to the feeder's rate and channel count."""
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2:
                raise ValueError(f"{path}: expected 16-bit samples")
            rate, channels = w.getframerate(), w.getnchannels()
            data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).reshape(-1, channels)
        mono = data.mean(axis=1).astype(np.float32) / 32768.0
        if rate != self.rate:
            mono = soxr.resample(mono, rate, self.rate, quality="HQ")
        self.feed(mono)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until everything fed has been written to the FIFO; False on timeout."""
        return self._idle.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        try:
            os.close(self._fd)
        except OSError:
            pass

    def __enter__(self) -> MicFeeder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_period(self) -> tuple[bytes, int | None]:
        """The next period to write, and its position in the fed stream (None: silence, not fed)."""
        with self._lock:
            if not self._pending:
                self._idle.set()
                return self._silence, None
            at = self._taken_frames
            chunk = bytes(self._pending[: self._period_bytes])
            del self._pending[: self._period_bytes]
            self._taken_frames += len(chunk) // self._frame_bytes
        if len(chunk) < self._period_bytes:
            chunk += self._silence[len(chunk):]
        return chunk, at

    def _write_period(self, chunk: bytes, at: int | None = None) -> None:
        view = memoryview(chunk)
        try:
            n = os.write(self._fd, view)
        except BlockingIOError:
            self.periods_lost += 1
            if at is not None:
                with self._lock:
                    self._lost_at.append(at)
            return
        while n < len(view):  # a partial write (period > PIPE_BUF): finish it or the reader misaligns
            view = view[n:]
            select.select([], [self._fd], [], self.period_ms / 1000)
            try:
                n = os.write(self._fd, view)
            except BlockingIOError:
                n = 0
            if self._stop.is_set():
                return
        self.periods_written += 1

    def _run(self) -> None:
        period_s = self.period_ms / 1000
        deadline = time.monotonic()
        while not self._stop.is_set():
            try:
                self._write_period(*self._next_period())
            except OSError as exc:
                if exc.errno in (errno.EBADF, errno.EPIPE):
                    return
                raise
            deadline += period_s
            now = time.monotonic()
            if now - deadline > 0.5:  # stalled (a busy test machine): resync instead of bursting
                deadline = now
            self._stop.wait(max(0.0, deadline - now))


def read_speaker(path: str | os.PathLike, rate: int, channels: int) -> np.ndarray:
    """What the rig's speaker played: int16 of shape (frames, channels). ``rate`` is the layout's
    rate (the file has no header); a missing file reads as no audio."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raw = b""
    frame = 2 * channels
    raw = raw[: len(raw) - len(raw) % frame]
    return np.frombuffer(raw, dtype=np.int16).reshape(-1, channels)
