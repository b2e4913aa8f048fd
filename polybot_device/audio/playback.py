"""The speaker: one daemon thread owns the playback PCM; the loop only queues, stops and asks.

Threading: the loop-thread API never blocks: one lock, which the playback thread holds only around
non-blocking ALSA calls (PCM_NONBLOCK, waits with ``poll``), so ``stop_now`` can ``drop()`` the
device buffer at any moment. A blocking PCM would hold it inside ``writei``, and a busy ``hw:``
device would block ``snd_pcm_open`` with the GIL held (pyalsaaudio keeps it there).

Pacing: at most one ALSA buffer ahead of a real-time model (:mod:`.playout`), which a real DAC
paces and the rig's ``null`` slave does not. The queue is bounded (``max_queue_s``); while the
speaker is missing, queued audio is discarded rather than played minutes late.

Start, pause, stop (docs/reliability.md, "Playback"): a reply starts once ``start_buffer_ms`` is
queued (or after twice that wait), so a late delta finds the device still playing; after it, the
resampler's tail, ``keep_alive_s`` of silence a period or two ahead (amplifiers mute 50-200 ms after
a restart), then a buffer of silence (no stale ring-buffer replay; the rig's ``file`` plugin writes
what it held back). Silence is not audio for ``is_playing``/``quiet_for_s``/the echo gate. ``stop``
still plays what is queued (up to ``drain_s``) and closes once it was heard: ``close()`` alone cuts
it (its ``snd_pcm_drain`` returns at once on a non-blocking PCM).

Devices: the sample format is what the device settles on (:mod:`.pcm`), so an S32-only DAC never
gets S16 data (loud noise); ``auto`` is resolved at every open; a device that takes nothing for
``sink.STALL_S`` is reported and reopened. ``last_alive`` (the watchdog's heartbeat) moves with
written audio, opens and idleness, never while the thread spins on a dead device.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

import alsaaudio

from ..config import AudioOutputConfig
from ..trace import probe
from .opener import DeviceOpener
from .playout import Playout
from .playqueue import PlayQueue
from .resample import SpeakerConverter
from .sink import Sink
from .status import DeviceStatus, OnStatus
from .wire import BYTES_PER_S

log = logging.getLogger(__name__)

IDLE_WAIT_S = 1.0  # nothing to play: the thread still wakes this often (watchdog heartbeat)
DRAIN_S = 0.8  # stop(): queued audio still played; stop() blocks up to this + 0.5 s, inside the 2 s SIGTERM exit


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
        self._start_bytes = config.start_buffer_ms * BYTES_PER_S // 1000
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()  # finish: play what is queued (to _deadline), then close
        self._abort = threading.Event()  # finish now: no more writing or waiting
        self._deadline = float("inf")
        self._quiet = threading.Event()
        self._quiet.set()
        self._thread: threading.Thread | None = None
        self._queue = PlayQueue(int(max_queue_s * BYTES_PER_S))
        self._gen = 0
        self._conv_gen = 0
        self._sink: Sink | None = None
        self._opener = DeviceOpener("playback", config.device, config.device_match, log)
        self._converter = SpeakerConverter(config.rate, config.channels)
        self._playout = Playout(config.rate)
        self._tail_pending = False
        self._keep_until = float("-inf")
        self._padded = False
        self._starved = True
        self._stalled = False
        self.played_total_frames = 0
        """Frames of audio (at the opened rate) handed to ALSA since start, silence padding excluded."""
        self.underruns = 0
        """Device ran dry while audio was waiting in the queue (a glitch the listener heard)."""
        self.stalls = 0
        """Times the device took nothing for STALL_S and was reopened."""
        self.on_handed: Callable[[str, int, float], None] | None = probe.handed if probe is not None else None
        """Latency hook, called in the playback thread: (item_id, frames, monotonic time handed to ALSA)."""
        self.last_alive = time.monotonic()

    def play(self, pcm24k: bytes, item_id: str) -> None:
        """Queue PCM16 mono 24 kHz audio of ``item_id`` behind what is already queued. While the
        speaker is known to be missing it is dropped at once (counted): queued, it would keep
        is_playing() true and the echo gate would shut the mic for a speaker that makes no sound."""
        with self._lock:
            if (self._status.ok is False and self._sink is None) or not self._queue.push(item_id, pcm24k):
                return
            self._quiet.clear()
        self._wake.set()

    def stop_now(self) -> int:
        """Stop at once: drop the queue and the device buffer. Returns the milliseconds of the
        current item that actually left the speaker (written minus still in the device)."""
        with self._lock:
            now = time.monotonic()
            self._gen += 1
            self._queue.clear()
            played_ms = self._playout.stopped(now, self._in_device_locked(now))
            if self._sink is not None:
                self._sink.drop()
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
        return self._queue.bytes / BYTES_PER_S + max(0.0, self._playout.until - time.monotonic())

    def is_playing(self) -> bool:
        """Audio is queued or still on its way out of the speaker."""
        return bool(self._queue) or time.monotonic() < self._playout.until

    def quiet_for_s(self) -> float:
        """Seconds since the last sample left the speaker; 0 while playing, inf if never played."""
        if self._queue:
            return 0.0
        return max(0.0, time.monotonic() - self._playout.until)

    def wait_idle(self, timeout: float) -> bool:
        """Block (a thread, not the loop) until all queued was played or stopped; False on timeout."""
        return self._quiet.wait(timeout)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("SpeakerPlayback already started")
        self._thread = threading.Thread(target=self._run, name="speaker-playback", daemon=True)
        self._thread.start()

    def stop(self, drain_s: float = DRAIN_S) -> None:
        """Finish: what is queued still plays (up to ``drain_s``), the PCM is closed once it was
        heard. Blocks at most ~``drain_s`` + 0.5 s."""
        self._deadline = time.monotonic() + drain_s
        self._stop.set()
        self._wake.set()
        if drain_s <= 0:
            self._abort.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(drain_s + 0.5)
        self._abort.set()

    def _in_device_locked(self, now: float) -> int:
        """Frames written, not yet heard: device fill or the model, whichever says more."""
        device = self._sink.fill() if self._sink is not None and not self._padded else 0
        return max(self._playout.ahead_frames(now), device)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.last_alive = time.monotonic()
                if self._sink is None and not self._open():
                    with self._lock:
                        self._queue.clear()
                        self._quiet.set()
                    self._stop.wait(self._retry_s)
                    continue
                try:
                    self._serve()
                except alsaaudio.ALSAAudioError as exc:
                    self._close(drain=False)
                    self._status.report(False, self._opener.failed("stopped working", exc))
        finally:
            self._close(drain=True)
            self._quiet.set()

    def _open(self) -> bool:
        c = self.config
        try:
            opened = self._opener.open(c.rate, c.channels, c.period_ms, c.buffer_periods)
        except alsaaudio.ALSAAudioError as exc:
            self._status.report(False, self._opener.failed("cannot be opened", exc))
            return False
        rate, channels, fmt = opened.rate, opened.channels, opened.sample_format
        with self._lock:
            self._sink = Sink(opened)
            self._playout.rate = rate
            self._playout.device_until = float("-inf")
            conv = self._converter
            if (rate, channels, fmt) != (conv.out_rate, conv.out_channels, conv.sample_format):
                self._converter = SpeakerConverter(rate, channels, sample_format=fmt)
            self._converter.reset()  # nothing from before the fault may leak out
            self._tail_pending = False
            self._keep_until = float("-inf")
        text = self._opener.opened(opened, opened.differs(c.rate, c.channels))
        if self._stalled:  # ready again once a write makes progress: no flapping while it stalls
            self._status.ready_when_flowing(text)
        else:
            self._status.report(True, text)
        return True

    def _close(self, drain: bool) -> None:
        with self._lock:
            sink, self._sink = self._sink, None
        if sink is not None:
            sink.close(drain)

    def _serve(self) -> None:
        while not self._abort.is_set():
            now = self.last_alive = time.monotonic()
            self._wake.clear()
            stopping = self._stop.is_set()
            if stopping and (not self._queue or now > self._deadline):
                self._finish()
                return
            if self._starved and not stopping and self._gathering(now):
                continue
            with self._lock:
                (item_id, data), gen = self._queue.pop(), self._gen
            if gen != self._conv_gen:
                self._converter.reset()
                self._conv_gen = gen
            if data:
                if probe is not None:
                    probe.mark("pop", item_id)
                self._write(self._converter.convert(data), item_id, gen, audio=True)
            else:
                self._wake.wait(self._idle())

    def _gathering(self, now: float) -> bool:
        """A reply starts: wait (device fed) for start_buffer_ms of it, at most twice that long."""
        if not self._queue or self._queue.bytes >= self._start_bytes:
            return False
        left = self._queue.since + 2 * self.config.start_buffer_ms / 1000 - now
        if left <= 0:
            return False
        self._wake.wait(min(left, self._feed_silence(now)))
        return True

    def _feed_silence(self, now: float) -> float:
        """During keep-alive keep a period or two of silence in the device. Returns how long
        until it needs more (inf when keep-alive is over)."""
        sink = self._sink
        if now >= self._keep_until or self._stop.is_set() or sink is None:
            return float("inf")
        if self._playout.device_until - now < 2 * sink.period_s:
            self._write(sink.silence[: sink.period_frames * sink.frame_bytes], "", self._gen, audio=False)
        return max(0.0, self._playout.device_until - now - sink.period_s)

    def _idle(self) -> float:
        """Queue empty: the tail when the device is about to run dry, keep-alive silence, a
        buffer of padding, and quiet once the last sample has left. Returns how long to wait."""
        now = time.monotonic()
        left = self._playout.until - now
        assert self._sink is not None  # _serve runs with the device open
        if self._tail_pending:
            if left > self._sink.period_s:
                return left - self._sink.period_s
            self._write_tail()
            left = self._playout.until - now
        if left <= 0:
            with self._lock:
                if not self._queue:
                    self._quiet.set()
        wait = self._feed_silence(now)
        if wait == float("inf") and self._keep_until > float("-inf"):  # keep-alive over: pad, let it stop
            self._keep_until = float("-inf")
            self._write(self._sink.silence, "", self._gen, audio=False)
        if left > 0:
            wait = min(wait, left)
        return wait if wait != float("inf") else IDLE_WAIT_S

    def _write_tail(self) -> None:
        self._keep_until = max(time.monotonic(), self._playout.until) + self.config.keep_alive_s
        self._tail_pending = False
        gen, current = self._gen, self._playout.current
        tail = self._converter.flush()
        if tail and current is not None:
            self._write(tail, current, gen, audio=True)
        self._tail_pending, self._starved = False, True

    def _finish(self) -> None:
        """Shutdown: the resampler's tail, then wait (to the deadline) until the audio was heard."""
        if self._tail_pending:
            self._write_tail()
        left = min(self._playout.until, self._deadline) - time.monotonic()
        if left > 0 and self._sink is not None:
            self._abort.wait(left + self._sink.period_s)

    def _write(self, frames: bytes, item_id: str, gen: int, audio: bool) -> None:
        # The per-period path: no logging, no allocation (memoryview slices of one buffer).
        sink = self._sink
        assert sink is not None  # only _serve writes, with the device open
        view = memoryview(frames)
        fb = sink.frame_bytes
        playout = self._playout
        buffer_s = sink.buffer_frames / sink.rate
        full_s = buffer_s - sink.period_s
        while view and not self._abort.is_set():
            now = time.monotonic()
            if self._stop.is_set() and now > self._deadline:
                return
            # Fill the device, then let it drain to half a buffer before topping it up: one
            # wake-up per half buffer instead of one per period, and never less than half a
            # buffer queued (each wake-up costs more CPU than the write it does).
            ahead = playout.device_until - now
            if ahead > full_s:
                self._abort.wait(ahead - buffer_s / 2)
            with self._lock:
                if gen != self._gen or self._sink is not sink:
                    return
                n = sink.write(view)
                if n > 0:
                    view = view[n * fb:]
                    now = self.last_alive = time.monotonic()
                    if audio:
                        playout.wrote(item_id, n, now)
                        self.played_total_frames += n
                        self._tail_pending, self._padded, self._starved = True, False, False
                    else:
                        playout.silence(n, now)
                        self._padded = True
            if n < 0:  # -EPIPE: underrun, already re-prepared; expected after the queue ran dry
                if not self._starved:
                    self.underruns += 1
                self._starved = True
            elif n == 0:  # EAGAIN: no room (raises once that has lasted STALL_S)
                try:
                    sink.wait_for_room(now, self._abort)
                except alsaaudio.ALSAAudioError:
                    self.stalls += 1
                    self._stalled = True
                    raise
            else:
                sink.took()
                if self._status.pending:
                    self._stalled = False
                    self._status.flowing()
                if audio and self.on_handed is not None:
                    self.on_handed(item_id, n, now)
