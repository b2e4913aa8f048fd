"""Mic audio on its way to the server: kept through outages, re-sent when a session dies.

Two bounded stores, both of 24 kHz PCM16 mono chunks:

* ``pending``: captured, not yet sent. While offline this is the outage buffer: past
  ``capacity_ms`` the oldest audio goes (counted, reported once per outage).
* ``unsettled``: sent in the current session but not known to be done with. If the session
  dies, this audio goes back to the front of ``pending`` so the next session hears it. Kept:
  every utterance not yet answered, and everything the server has not provably read (a half-open
  link swallows audio for seconds before the pings notice: a pong, or a VAD position in a server
  event, is the proof, see :meth:`server_heard`), each with ``lead_ms`` before it (the VAD's
  prefix padding needs a little silence before speech). Never kept: an answered utterance, up to
  where the server said it ended; re-sending its tail would be translated again as a fragment.

Positions are milliseconds of this session's input timeline, the same clock as the server's
``audio_start_ms`` / ``audio_end_ms``, so settling needs no guessing.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ..audio.wire import BYTES_PER_MS


class Outbox:
    def __init__(self, capacity_ms: int, lead_ms: int = 1000) -> None:
        self.capacity_ms = capacity_ms
        self.lead_ms = lead_ms
        self._pending: deque[bytes] = deque()
        self._pending_bytes = 0
        self._unsettled: deque[tuple[float, bytes]] = deque()  # (session start ms, chunk)
        self._sent_ms = 0.0  # session timeline position of the next byte we send
        self._open_utterances: deque[_Utterance] = deque()  # unanswered, oldest first
        self._heard_ms = 0.0  # the server has provably read the audio up to here
        self._settled_ms = 0.0  # audio before here is answered: never sent again
        self.dropped_ms = 0.0
        """Audio lost to the bound since the last call to take_dropped_ms()."""
        self.dropped_total_ms = 0.0
        self.sent_total_ms = 0.0
        """Audio handed to the sender since start, re-sends included (interpreter minutes are billed so)."""

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
            self.sent_total_ms += len(chunk) / BYTES_PER_MS
        self._trim()
        return chunks

    def server_heard(self, position_ms: float) -> None:
        """The server has read the audio up to ``position_ms`` (a pong to a ping sent after it,
        or a position in a VAD event): it need not be kept for a re-send unless its utterance is
        still unanswered."""
        if position_ms > self._heard_ms:
            self._heard_ms = position_ms
            self._trim()

    def utterance_started(self, audio_start_ms: int) -> None:
        self._open_utterances.append(_Utterance(audio_start_ms))
        self.server_heard(audio_start_ms)

    def utterance_ended(self, audio_end_ms: int) -> None:
        """The server's VAD ended the oldest open utterance that had no end yet, here."""
        for utterance in self._open_utterances:
            if utterance.end_ms is None:
                utterance.end_ms = audio_end_ms
                break
        self.server_heard(audio_end_ms)

    def utterance_answered(self) -> None:
        """A response finished: the oldest open utterance is settled, up to its end."""
        if self._open_utterances:
            end = self._open_utterances.popleft().end_ms
            self._settled_ms = max(self._settled_ms, end if end is not None else self._heard_ms)
        self._trim()

    def session_lost(self) -> None:
        """The session died: unsettled audio goes back in front of what is pending."""
        for _, chunk in reversed(self._unsettled):
            self._pending.appendleft(chunk)
            self._pending_bytes += len(chunk)
        self._unsettled.clear()
        self._open_utterances.clear()
        self._sent_ms = self._heard_ms = self._settled_ms = 0.0
        self.append(b"")  # enforce the bound on the combined audio

    def _trim(self) -> None:
        keep_from = self._heard_ms
        if self._open_utterances:
            keep_from = min(keep_from, self._open_utterances[0].start_ms)
        keep_from = max(keep_from - self.lead_ms, self._settled_ms, self._sent_ms - self.capacity_ms)
        while self._unsettled:
            start, chunk = self._unsettled[0]
            if start + len(chunk) / BYTES_PER_MS > keep_from:
                break
            self._unsettled.popleft()


@dataclass
class _Utterance:
    """Where the server's VAD put one utterance in this session's timeline (end: not yet)."""

    start_ms: float
    end_ms: float | None = None
