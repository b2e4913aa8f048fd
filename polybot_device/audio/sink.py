"""One open playback PCM, written a period at a time without blocking (the playback thread's device).

It knows the device's shape (rate, frame size, period and buffer), how full the device is, and
whether it still takes audio: writes refused (EAGAIN) for ``STALL_S`` in a row raise, because a USB
speaker after an isochronous glitch stays open and "ready" but takes nothing, and only a reopen
brings it back. Not thread-safe: :class:`.playback.SpeakerPlayback` holds its lock around
``write``, ``fill`` and ``drop``.
"""

from __future__ import annotations

import threading

import alsaaudio

from .pcm import OpenPcm

POLL_MS = 100
STALL_S = 1.0
"""Writes refused this long in a row: the device is stalled."""


class Sink:
    def __init__(self, opened: OpenPcm) -> None:
        self._pcm = opened.pcm
        self._poller = opened.poller()
        self.rate = opened.rate
        self.frame_bytes = opened.frame_bytes
        self.period_frames = opened.period_frames
        self.buffer_frames = opened.buffer_frames
        self.period_s = opened.period_frames / opened.rate
        self.silence = bytes(opened.buffer_frames * opened.frame_bytes)
        """One buffer of silence (zero bytes are silence in every signed format)."""
        self._refused_since = 0.0

    def write(self, view: memoryview) -> int:
        """At most one period of ``view``: frames written, 0 (no room), <0 (underrun, re-prepared)."""
        return int(self._pcm.write(view[: self.period_frames * self.frame_bytes]))

    def wait_for_room(self, now: float, abort: threading.Event) -> None:
        """After a refused write: wait for room (outside the lock). Raises once refusals have gone on
        for STALL_S; a poll that says "ready" for nothing gets a nap."""
        if not self._refused_since:
            self._refused_since = now
        elif now - self._refused_since > STALL_S:
            self._refused_since = 0.0
            raise alsaaudio.ALSAAudioError(f"took no audio for {STALL_S:g} s (stalled)")
        if self._poller.poll(POLL_MS):
            abort.wait(self.period_s / 4)

    def took(self) -> None:
        """A write made progress: the refusal streak is over."""
        self._refused_since = 0.0

    def fill(self) -> int:
        """Frames in the device (buffer - avail); 0 when it cannot say (the rig's null slave)."""
        try:
            avail = self._pcm.avail()
        except alsaaudio.ALSAAudioError:
            return 0
        return self.buffer_frames - avail if 0 <= avail <= self.buffer_frames else 0

    def drop(self) -> None:
        """Discard what the device holds; the next write re-prepares (pyalsaaudio checks the state)."""
        try:
            self._pcm.drop()
        except alsaaudio.ALSAAudioError:
            pass

    def close(self, drain: bool) -> None:
        """``drain``: let the rig's file plugin write what it held back (a real DAC's audio must
        already have been waited for: on a non-blocking PCM the drain returns at once)."""
        try:
            if not drain:
                self._pcm.drop()
            self._pcm.close()
        except alsaaudio.ALSAAudioError:
            pass
