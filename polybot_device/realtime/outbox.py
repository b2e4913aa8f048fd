"""Mic audio on its way to the server: kept through outages, re-sent when a session dies.

Two bounded stores, both of 24 kHz PCM16 mono chunks:

* ``pending``: captured, not yet sent. While offline this is the outage buffer: past
  ``capacity_ms`` the oldest audio goes (counted, reported once per outage).
* ``unsettled``: sent in the current session but not yet answered. If the connection drops
  mid-utterance, or after the utterance was committed but before its response finished, the
  server's copy dies with the session; this audio goes back to the front of ``pending`` so the
  next session hears the whole utterance. Audio that belongs to no pending utterance is trimmed
  to ``lead_ms`` (the VAD's prefix padding needs a little silence before speech).

Positions are milliseconds of this session's input timeline, the same clock as the server's
``audio_start_ms``, so settling needs no guessing.
"""

from __future__ import annotations

from collections import deque

from .events import BYTES_PER_MS


class Outbox:
    def __init__(self, capacity_ms: int, lead_ms: int = 1000) -> None:
        self.capacity_ms = capacity_ms
        self.lead_ms = lead_ms
        self._pending: deque[bytes] = deque()
        self._pending_bytes = 0
        self._unsettled: deque[tuple[float, bytes]] = deque()  # (session start ms, chunk)
        self._sent_ms = 0.0  # session timeline position of the next byte we send
        self._open_utterances: deque[int] = deque()  # audio_start_ms of utterances awaiting answers
        self.dropped_ms = 0.0
        """Audio lost to the bound since the last call to take_dropped_ms()."""
        self.dropped_total_ms = 0.0

    # -- producer side (the mic) -----------------------------------------------------------------

    def append(self, chunk: bytes) -> None:
        self._pending.append(chunk)
        self._pending_bytes += len(chunk)
        limit = self.capacity_ms * BYTES_PER_MS
        while self._pending_bytes > limit and self._pending:
            old = self._pending.popleft()
            self._pending_bytes -= len(old)
            self.dropped_ms += len(old) / BYTES_PER_MS
            self.dropped_total_ms += len(old) / BYTES_PER_MS

    @property
    def pending_ms(self) -> float:
        return self._pending_bytes / BYTES_PER_MS

    def take_dropped_ms(self) -> float:
        dropped, self.dropped_ms = self.dropped_ms, 0.0
        return dropped

    # -- consumer side (the sender, while a session is live) -------------------------------------

    def take(self) -> list[bytes]:
        """Everything pending, now counted as sent in this session."""
        chunks = list(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        for chunk in chunks:
            self._unsettled.append((self._sent_ms, chunk))
            self._sent_ms += len(chunk) / BYTES_PER_MS
        self._trim()
        return chunks

    def utterance_started(self, audio_start_ms: int) -> None:
        self._open_utterances.append(audio_start_ms)

    def utterance_answered(self) -> None:
        """A response finished: the oldest open utterance is settled."""
        if self._open_utterances:
            self._open_utterances.popleft()
        self._trim()

    def session_lost(self) -> None:
        """The session died: unsettled audio goes back in front of what is pending."""
        for _, chunk in reversed(self._unsettled):
            self._pending.appendleft(chunk)
            self._pending_bytes += len(chunk)
        self._unsettled.clear()
        self._open_utterances.clear()
        self._sent_ms = 0.0
        self.append(b"")  # enforce the bound on the combined audio

    def _trim(self) -> None:
        if self._open_utterances:
            keep_from = self._open_utterances[0] - self.lead_ms
        else:
            keep_from = self._sent_ms - self.lead_ms
        limit = self.capacity_ms
        keep_from = max(keep_from, self._sent_ms - limit)
        while self._unsettled:
            start, chunk = self._unsettled[0]
            if start + len(chunk) / BYTES_PER_MS > keep_from:
                break
            self._unsettled.popleft()
