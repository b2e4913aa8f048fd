"""The speaker's queue of 24 kHz chunks: bounded in bytes, and it knows when its current run began.

Not thread-safe on its own: :class:`.playback.SpeakerPlayback` holds its lock around every call.
"""

from __future__ import annotations

import time
from collections import deque


class PlayQueue:
    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._chunks: deque[tuple[str, bytes]] = deque()
        self.bytes = 0
        """Bytes queued."""
        self.since = 0.0
        """time.monotonic() when the queue last went from empty to not empty (a reply starting)."""

    def __bool__(self) -> bool:
        return bool(self._chunks)

    def push(self, item_id: str, data: bytes) -> bool:
        """Queue ``data`` of ``item_id``; False (dropped) when it would pass the bound."""
        if self.bytes + len(data) > self._max_bytes:
            return False
        if not self._chunks:
            self.since = time.monotonic()
        self._chunks.append((item_id, data))
        self.bytes += len(data)
        return True

    def pop(self) -> tuple[str, bytes]:
        """The oldest chunk, or ('', b'') when empty."""
        if not self._chunks:
            return "", b""
        item_id, data = self._chunks.popleft()
        self.bytes -= len(data)
        return item_id, data

    def clear(self) -> None:
        self._chunks.clear()
        self.bytes = 0
