"""The speaker: one daemon thread owns the playback PCM; the loop only queues, stops and asks.

Threading: ``play``, ``stop_now``, ``remaining_s``, ``is_playing`` and ``quiet_for_s`` are called on
the loop thread and never block: they take one lock that the playback thread holds only around
non-blocking ALSA calls (the PCM is opened PCM_NONBLOCK and the thread waits with ``poll``), so
``stop_now`` can ``drop()`` the device buffer at any moment. A blocking PCM would leave the thread
inside ``writei`` holding the device, and a busy ``hw:`` device would block ``snd_pcm_open`` with
the GIL held (pyalsaaudio does not release it there), freezing the daemon.

Pacing: the thread keeps at most one ALSA buffer ahead of a real-time clock model
(:mod:`.playout`: when the last queued sample leaves the speaker). On a real DAC the device itself
paces the writes and the model just follows it; on the test rig's ``null`` slave, which swallows
audio instantly, the model makes playback real-time too, so the echo gate and ``stop_now`` behave
there as they will on the gadget.

Queue bound: ``max_queue_s`` seconds of 24 kHz audio (300 s by default, 14 MB). A chunk that
would exceed it is dropped (the reply's tail is cut, the start already queued keeps playing).
While the speaker is missing, queued audio is discarded rather than played minutes late when it
comes back.

When the queue runs dry and the device has about one period left, the resampler's tail and one
buffer of silence are written: a real DAC then never replays stale ring-buffer contents on the
underrun that follows, and the rig's ``file`` plugin (which holds back about one buffer until more
is written) puts the reply's last samples into its output file.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import alsaaudio

from ..config import AudioOutputConfig
from ..trace import probe
from .devices import available_names
from .pcm import open_pcm
from .playout import Playout
from .resample import SpeakerConverter
from .status import DeviceStatus, OnStatus
from .wire import BYTES_PER_S

log = logging.getLogger(__name__)

POLL_MS = 100
IDLE_WAIT_S = 1.0
"""Nothing to play: the thread still wakes this often to refresh its watchdog heartbeat."""


class SpeakerPlayback:
    def __init__(
        self,
        config: AudioOutputConfig,
        loop: asyncio.AbstractEventLoop,
        on_status: OnStatus,
        *,
        retry_s: float = 1.0,
        max_queue_s: float = 300.0,
    ) -> None:
        self.config = config
        self._status = DeviceStatus(loop, on_status, log)
        self._retry_s = retry_s
        self._max_queue_bytes = int(max_queue_s * BYTES_PER_S)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._quiet = threading.Event()
        self._quiet.set()
        self._thread: threading.Thread | None = None
        self._queue: deque[tuple[str, bytes]] = deque()
        self._queued_bytes = 0
        self._gen = 0
        self._conv_gen = 0
        self._pcm: alsaaudio.PCM | None = None
        self._frame_bytes = 2 * config.channels
        self._period_frames = config.rate * config.period_ms // 1000
        self._buffer_frames = self._period_frames * config.buffer_periods
        self._converter = SpeakerConverter(config.rate, config.channels)
        self._silence = b""
        self._playout = Playout(config.rate)
        self._tail_pending = False
        self._padded = False
        self._starved = True
        self.played_total_frames = 0
        """Frames of audio (at the opened rate) handed to ALSA since start, silence padding excluded."""
        self.underruns = 0
        """Device ran dry while audio was waiting in the queue (a glitch the listener heard)."""
        self.on_handed: Callable[[str, int, float], None] | None = probe.handed if probe is not None else None
        """Latency hook, called in the playback thread: (item_id, frames, monotonic time handed to ALSA)."""
        self.last_alive = time.monotonic()

    # -- loop-thread API (never blocks) -------------------------------------------------------

    def play(self, pcm24k: bytes, item_id: str) -> None:
        """Queue PCM16 mono 24 kHz audio of ``item_id`` behind what is already queued. While the
        speaker is known to be missing it is dropped at once (counted): queued, it would keep
        is_playing() true and the echo gate would shut the mic for a speaker that makes no sound."""
        with self._lock:
            if self._status.ok is False or self._queued_bytes + len(pcm24k) > self._max_queue_bytes:
                return
            self._queue.append((item_id, pcm24k))
            self._queued_bytes += len(pcm24k)
            self._quiet.clear()
        self._wake.set()

    def stop_now(self) -> int:
        """Stop at once: drop the queue and the device buffer. Returns the milliseconds of the
        current item that actually left the speaker (written minus still in the device)."""
        with self._lock:
            now = time.monotonic()
            self._gen += 1
            self._queue.clear()
            self._queued_bytes = 0
            played_ms = self._playout.stopped(now, self._in_device_locked(now))
            if self._pcm is not None:
                try:
                    self._pcm.drop()  # the next write() re-prepares (pyalsaaudio checks the state)
                except alsaaudio.ALSAAudioError:
                    pass
            self._tail_pending = False
            self._starved = True
            self._quiet.set()
        self._wake.set()
        return played_ms

    def played_ms(self, item_id: str) -> int:
        """Milliseconds of ``item_id`` that have left the speaker (0 if unknown)."""
        with self._lock:
            return self._playout.played_ms(item_id, self._in_device_locked(time.monotonic()))

    def remaining_s(self) -> float:
        """Seconds until everything queued now has left the speaker (0 when quiet)."""
        return self._queued_bytes / BYTES_PER_S + max(0.0, self._playout.until - time.monotonic())

    def is_playing(self) -> bool:
        """Audio is queued or still on its way out of the speaker."""
        return bool(self._queue) or time.monotonic() < self._playout.until

    def quiet_for_s(self) -> float:
        """Seconds since the last sample left the speaker; 0 while playing, inf if never played."""
        if self._queue:
            return 0.0
        return max(0.0, time.monotonic() - self._playout.until)

    def wait_idle(self, timeout: float) -> bool:
        """Block (a thread, not the loop) until everything queued has been played out, or
        stopped; False on timeout. For the demo and tests."""
        return self._quiet.wait(timeout)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("SpeakerPlayback already started")
        self._thread = threading.Thread(target=self._run, name="speaker-playback", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 1.0) -> None:
        """Finish the thread; it drains and closes the PCM (the rig's file plugin then writes
        what it held back)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    # -- the thread ---------------------------------------------------------------------------

    def _in_device_locked(self, now: float) -> int:
        """Frames written but not yet heard: the device's fill level (buffer - avail), or the
        real-time model where that says more (the rig's null slave reports an empty buffer)."""
        model = self._playout.ahead_frames(now)
        device = 0
        if self._pcm is not None and not self._padded:
            try:
                avail = self._pcm.avail()
            except alsaaudio.ALSAAudioError:
                avail = -1
            if 0 <= avail <= self._buffer_frames:
                device = self._buffer_frames - avail
        return max(model, device)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.last_alive = time.monotonic()
                if self._pcm is None and not self._open():
                    self._discard_queue()
                    self._stop.wait(self._retry_s)
                    continue
                try:
                    self._serve()
                except alsaaudio.ALSAAudioError as exc:
                    self._close(drain=False)
                    names = ", ".join(available_names("playback")) or "none"
                    self._status.report(False, f"speaker {self.config.device!r} stopped working: {exc}; "
                                        f"playback devices available: {names}")
        finally:
            self._close(drain=True)
            self._quiet.set()

    def _open(self) -> bool:
        c = self.config
        try:
            opened = open_pcm("playback", c.device, c.rate, c.channels, c.period_ms, c.buffer_periods)
        except alsaaudio.ALSAAudioError as exc:
            names = ", ".join(available_names("playback")) or "none"
            self._status.report(False, f"speaker {c.device!r} cannot be opened: {exc}; "
                                       f"playback devices available: {names}")
            return False
        rate, channels = opened.rate, opened.channels
        with self._lock:
            self._pcm = opened.pcm
            self._playout.rate, self._frame_bytes = rate, 2 * channels
            self._period_frames, self._buffer_frames = opened.period_frames, opened.buffer_frames
            if (rate, channels) != (self._converter.out_rate, self._converter.out_channels):
                self._converter = SpeakerConverter(rate, channels)
            self._converter.reset()  # nothing from before the fault may leak out
            self._tail_pending = False
            self._silence = bytes(self._buffer_frames * self._frame_bytes)
            self._poller = opened.poller()
        note = opened.differs(c.rate, c.channels)
        self._status.report(True, f"speaker {c.device!r} open: {rate} Hz x{channels}{note}")
        return True

    def _close(self, drain: bool) -> None:
        with self._lock:
            pcm, self._pcm = self._pcm, None
        if pcm is not None:
            try:
                if drain:
                    pcm.close()  # pyalsaaudio drains a playback PCM on close
                else:
                    pcm.drop()
                    pcm.close()
            except alsaaudio.ALSAAudioError:
                pass

    def _discard_queue(self) -> None:
        with self._lock:
            self._queue.clear()
            self._queued_bytes = 0
            self._quiet.set()

    def _serve(self) -> None:
        while not self._stop.is_set():
            self.last_alive = time.monotonic()
            self._wake.clear()
            with self._lock:
                if self._queue:
                    item_id, data = self._queue.popleft()
                    self._queued_bytes -= len(data)
                    gen = self._gen
                else:
                    item_id, data, gen = "", b"", self._gen
            if gen != self._conv_gen:
                self._converter.reset()
                self._conv_gen = gen
            if data:
                if probe is not None:
                    probe.mark("pop", item_id)
                self._write(self._converter.convert(data), item_id, gen, audio=True)
            else:
                self._wake.wait(self._idle())

    def _idle(self) -> float:
        """Queue empty: once the device is about to run dry, write the resampler's tail and a
        buffer of silence; once the model says the last sample has left, signal quiet.
        Returns how long to wait for new audio."""
        left = self._playout.until - time.monotonic()
        if not self._tail_pending:
            if left > 0:
                return left
            with self._lock:
                if not self._queue:
                    self._quiet.set()
            return IDLE_WAIT_S
        period_s = self._period_frames / self._playout.rate
        if left > period_s:
            return left - period_s
        self._tail_pending = False
        gen, current = self._gen, self._playout.current
        tail = self._converter.flush()
        if tail and current is not None:
            self._write(tail, current, gen, audio=True)
            self._tail_pending = False
        self._write(self._silence, "", gen, audio=False)
        self._padded = True
        self._starved = True
        return max(0.0, self._playout.until - time.monotonic())

    def _write(self, frames: bytes, item_id: str, gen: int, audio: bool) -> None:
        # The per-period path: no logging, no allocation (memoryview slices of one buffer).
        view = memoryview(frames)
        fb = self._frame_bytes
        step = self._period_frames * fb
        playout = self._playout
        rate = playout.rate
        buffer_s = self._buffer_frames / rate
        full_s = buffer_s - self._period_frames / rate
        while view and not self._stop.is_set():
            self.last_alive = now = time.monotonic()
            if audio:
                # Fill the device, then let it drain to half a buffer before topping it up: one
                # wake-up per half buffer instead of one per period, and never less than half a
                # buffer queued (each wake-up costs more CPU than the write it does).
                ahead = playout.until - now
                if ahead > full_s:
                    self._stop.wait(ahead - buffer_s / 2)
            with self._lock:
                if gen != self._gen or self._pcm is None:
                    return
                n = self._pcm.write(view[:step])
                if n > 0:
                    view = view[n * fb:]
                    if audio:
                        now = time.monotonic()
                        playout.wrote(item_id, n, now)
                        self.played_total_frames += n
                        self._tail_pending = True
                        self._padded = False
                        self._starved = False
            if n < 0:  # -EPIPE: underrun, already re-prepared; expected after the queue ran dry
                if not self._starved:
                    self.underruns += 1
                self._starved = True
            elif n == 0:  # EAGAIN: wait for room; a poll that says "ready" for nothing gets a nap
                if self._poller.poll(POLL_MS):
                    self._stop.wait(self._period_frames / rate / 4)
            elif audio and self.on_handed is not None:
                self.on_handed(item_id, n, now)
