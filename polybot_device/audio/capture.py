"""The microphone: one daemon thread owns the capture PCM and hands 24 kHz mono chunks to the loop.

Why a thread, and not a non-blocking PCM polled by the event loop: on the FIFO test rig (see
docs/testing.md) ``poll`` reports the capture PCM ready at once and ``read()`` then blocks until
the feeder writes, inside whichever thread called it, so a loop-polled design could not be shown
non-blocking by any test. Why a plain ``threading.Thread`` and not ``run_in_executor``: executor
threads are joined at interpreter exit, and a read that never returns (a rig FIFO nobody feeds, a
wedged driver) would then hang shutdown; a daemon thread is simply abandoned.

The PCM is opened at the mic's NATIVE rate and channel count (``audio.input.rate`` /
``channels``) and converted here, in the thread, by :class:`MicConverter`; we never ask ALSA's
``plug`` to convert. If the device gives other values than asked (hw params are negotiated "near"),
the converter is built for what it really delivers and the status text says so.

It is opened with PCM_NONBLOCK and waited on with ``poll`` in the thread: a busy ``hw:`` device
then fails with EBUSY instead of blocking in ``snd_pcm_open`` (pyalsaaudio holds the GIL there,
so a blocking open would freeze the whole daemon until the other program lets go), and the thread
wakes at least every ``POLL_MS`` to notice ``stop()`` and refresh its heartbeat.

The sample format is whatever the device settles on (S16_LE, S24_3LE, S24_LE or S32_LE: I2S MEMS
mics deliver 32-bit samples), converted by :class:`MicConverter` too; ``audio.input.channel``
picks one channel of a mic array or mixes them all. ``device: auto`` is resolved again at every
open (:mod:`.choose`), so a USB mic that moved to another port is found at its new card number.

Stalls: a USB mic can stay open and "ready" yet deliver nothing (an isochronous glitch behind a
hub). No frames for ``STALL_S`` while open is treated like a failure: reported, closed, reopened.
After a fault, "microphone ready" is reported only once audio flows again, so a mic that stalls
at every reopen stays reported as missing instead of flapping. ``last_alive``, the watchdog's
heartbeat, moves with audio (frames read) and with recovery (open attempts), never with idle
polling: a thread spinning on a dead device stops it.

Faults: an overrun (pyalsaaudio returns -EPIPE and re-prepares) is counted in ``xruns``; a device
that is absent or fails mid-stream ("No such device") is closed, ``on_status(False, reason)`` is
reported once (with the capture devices that are there), the open is retried every ``retry_s``,
and ``on_status(True, ...)`` is reported when it is back. The first successful open also reports
``on_status(True, ...)`` ("microphone ready"). ``on_status`` always runs on the loop thread.

The voice gate (:mod:`..voicegate`), when given, runs here in the thread: while it is closed the
loop is handed nothing and never woken, and the thread sleeps ``IDLE_BATCH_MS`` between bursts
of reads that take every period that piled up meanwhile (the capture buffer is made deep enough),
so a quiet room costs a few wake-ups a second; a burst is converted and scored as one chunk (the
per-call cost of soxr and numpy, not the samples, is what a Pi pays for 20 ms chunks).
A burst ends when a read finds nothing (a real device) or had to wait for fresh audio (the test
rig's FIFO, where reads block).
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time

import alsaaudio

from ..config import AudioInputConfig
from ..trace import probe
from ..voicegate import Verdict, VoiceGate
from .handoff import ThreadToLoop
from .opener import DeviceOpener
from .pcm import OpenPcm
from .resample import MicConverter
from .status import DeviceStatus, OnStatus

log = logging.getLogger(__name__)

POLL_MS = 100
STOP_JOIN_S = 0.2
STALL_S = 1.0
"""An open mic that delivers no frame for this long is reopened (a real one delivers every period)."""
IDLE_BATCH_MS = 60
"""Gate closed: read the mic this often, several periods at a time. 60: the test rig's FIFO holds
about four 20 ms periods (a small device ring); a real device gets a buffer of 3x this."""
MAX_PREROLL_S = 5.0
"""The hand-off queue also holds a whole pre-roll (audio.voice_gate.preroll_ms at most 5000)."""


class MicCapture:
    """Mic -> PCM16 mono 24 kHz chunks (one per ALSA period, ``period_ms`` long; with the voice
    gate closed, one per burst of periods, and the chunk that opens the gate may be such a burst).

    Queue bound: ``queue_s`` seconds of chunks; when the loop falls that far behind, the oldest
    chunk is dropped and counted in ``dropped`` (live audio: the newest sound matters).
    """

    def __init__(
        self,
        config: AudioInputConfig,
        loop: asyncio.AbstractEventLoop,
        on_status: OnStatus,
        *,
        retry_s: float = 1.0,
        queue_s: float = 2.0,
        gate: VoiceGate | None = None,
    ) -> None:
        self.config = config
        self._status = DeviceStatus(loop, on_status, log)
        self._retry_s = retry_s
        self._gate = gate
        held_s = queue_s + (MAX_PREROLL_S if gate is not None else 0.0)
        self._queue: ThreadToLoop[bytes] = ThreadToLoop(loop, max(1, math.ceil(held_s * 1000 / config.period_ms)))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._converter: MicConverter | None = None
        self._opener = DeviceOpener("capture", config.device, config.device_match, log)
        self.last_alive = time.monotonic()
        """time.monotonic() of the last audio read or open attempt (the watchdog's heartbeat)."""
        self.stalls = 0
        """Times the open mic delivered nothing for STALL_S and was reopened."""
        self.xruns = 0
        """Capture overruns (the thread was not reading fast enough; audio was lost)."""
        self.chunks = 0
        """Chunks the mic delivered (handed to the loop or held back by the voice gate)."""
        self.last_chunk: bytes | None = None
        """The latest of them, by reference (the level meter's sample; no work per chunk)."""
        self.open_failures = 0
        """Failed attempts to open the device (retried every retry_s)."""

    @property
    def dropped(self) -> int:
        """Chunks discarded because the loop did not read them in time."""
        return self._queue.dropped

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("MicCapture already started")
        self._thread = threading.Thread(target=self._run, name="mic-capture", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to finish; waits at most ~0.2 s (a read blocked on a silent rig FIFO
        is abandoned with its daemon thread)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(STOP_JOIN_S)

    async def read(self) -> bytes:
        """The next chunk of PCM16 mono 24 kHz (oldest first)."""
        return await self._queue.get()

    def drain_nowait(self) -> list[bytes]:
        """Every queued chunk at once (e.g. to discard what arrived while the echo gate was shut)."""
        return self._queue.drain_nowait()

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self.last_alive = time.monotonic()
            try:
                opened = self._open()
            except alsaaudio.ALSAAudioError as exc:
                self.open_failures += 1
                self._status.report(False, self._opener.failed("cannot be opened", exc))
                self._stop.wait(self._retry_s)
                continue
            try:
                self._pump(opened)
            except alsaaudio.ALSAAudioError as exc:
                self._status.report(False, self._opener.failed("stopped working", exc))
                self._stop.wait(self._retry_s)
            finally:
                try:
                    opened.pcm.close()
                except alsaaudio.ALSAAudioError:
                    pass

    def _open(self) -> OpenPcm:
        c = self.config
        # With the gate, deep enough to sleep IDLE_BATCH_MS between reads without an overrun.
        periods = 4 if self._gate is None else max(4, math.ceil(3 * IDLE_BATCH_MS / c.period_ms))
        opened = self._opener.open(c.rate, c.channels, c.period_ms, periods=periods)
        note = opened.differs(c.rate, c.channels)
        if note:
            note = note[:-1] + "; converting from what it gives)"
        channel = c.channel if c.channel <= opened.channels else 0
        if channel:
            note += f", channel {channel}"
        elif opened.channels > 1:
            note += ", channels mixed" + (f" (it has no channel {c.channel})" if c.channel else "")
        self._converter = MicConverter(opened.rate, opened.channels, sample_format=opened.sample_format,
                                       channel=channel)
        if self._gate is not None:
            self._gate.reset()  # here: the detector is made and used in this thread only
        text = self._opener.opened(opened, note)
        if self._status.ok is None:
            self._status.report(True, text)  # the first open: ready now
        else:
            self._status.ready_when_flowing(text)
        return opened

    def _pump(self, opened: OpenPcm) -> None:
        # The 20 ms path: no logging, no allocation beyond what read(), the converter and the
        # detector need.
        poller = opened.poller()
        stop = self._stop
        read = opened.pcm.read
        take = self._take
        monotonic = time.monotonic
        backoff_s = self.config.period_ms / 4000
        idle_s = max(IDLE_BATCH_MS, self.config.period_ms) / 1000
        waited_s = backoff_s * 2  # a read that took this long waited for fresh audio
        idle_polls = 0
        last_audio = monotonic()
        closed = False
        backlog = bytearray()  # gate closed: one burst's periods, converted and scored at once
        while not stop.is_set():
            before = monotonic()
            n, data = read()  # the first read of a prepared stream also starts it
            now = monotonic()
            if n > 0:
                self.last_alive = last_audio = now
                if self._status.pending:
                    self._status.flowing()
                idle_polls = 0
                burst_over = now - before > waited_s
                if closed and not burst_over:
                    backlog += data
                    continue
                if backlog:
                    backlog += data
                closed = take(backlog or data, now)
                backlog.clear()
                if closed and burst_over:
                    stop.wait(idle_s)  # the backlog is read: sleep while the next one piles up
            elif n < 0:
                self.xruns += 1  # -EPIPE: overrun; pyalsaaudio has already re-prepared
                self.last_alive = last_audio = now
            elif now - last_audio > STALL_S:
                self.stalls += 1
                raise alsaaudio.ALSAAudioError(f"delivered no audio for {STALL_S:g} s (stalled)")
            elif closed:
                if backlog:
                    closed = take(backlog, now)
                    backlog.clear()
                stop.wait(idle_s)  # nothing to hand on: let periods pile up, then read them at once
            elif poller.poll(POLL_MS):
                idle_polls += 1
                if idle_polls > 2:  # "ready" but nothing to read: a plugin's poll is lying
                    stop.wait(backoff_s)
            else:
                idle_polls = 0

    def _take(self, raw: bytes | bytearray, now: float) -> bool:
        """Convert what was read and hand it on; True while the voice gate is closed."""
        assert self._converter is not None  # _open made it for this PCM
        out = self._converter.convert(raw)
        if not out:
            return self._gate is not None and not self._gate.open and not self._gate.bypass
        self.chunks += 1
        self.last_chunk = out
        return self._hand_on(out, now)

    def _hand_on(self, out: bytes, now: float) -> bool:
        """Through the voice gate to the loop; True while the gate is closed."""
        put = self._queue.put_threadsafe
        verdict = self._gate.feed(out) if self._gate is not None else Verdict.OPEN
        if verdict is Verdict.CLOSED:
            return True
        if verdict is Verdict.OPENED:
            assert self._gate is not None
            for held in self._gate.take_preroll():
                put(held)
        if probe is not None:
            probe.mark("read", id(out), now)
        put(out)
        return False
