"""A bounded hand-off from one producer thread to the asyncio loop.

Bound and overflow policy: at most ``maxsize`` items are held; when a ``put_threadsafe`` finds the
queue full, the OLDEST item is dropped and ``dropped`` is incremented. That is the right policy for
live audio: if the loop falls behind, what it reads next should be the most recent sound, and the
memory used never exceeds ``maxsize`` items (for 20 ms mic chunks at 24 kHz mono, 960 bytes each).

The producer never blocks (one uncontended lock) and wakes the loop with
``loop.call_soon_threadsafe`` only when a consumer is actually waiting and no wake-up is already
scheduled: while the loop keeps up by itself there is no self-pipe write per chunk.

One consumer at a time (``get()`` from a single task); cancelling ``get()`` is safe and loses
nothing.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class ThreadToLoop(Generic[T]):
    def __init__(self, loop: asyncio.AbstractEventLoop, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.dropped = 0
        """Items discarded because the queue was full (oldest first)."""
        self._loop = loop
        self._items: deque[T] = deque()
        self._lock = threading.Lock()
        self._waiter: asyncio.Future[None] | None = None
        self._wake_scheduled = False

    def __len__(self) -> int:
        return len(self._items)

    def put_threadsafe(self, item: T) -> None:
        """Called from the producer thread; never blocks. Drops the oldest item when full."""
        with self._lock:
            if len(self._items) >= self.maxsize:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            if self._waiter is None or self._wake_scheduled:
                return
            self._wake_scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._wake)
        except RuntimeError:  # the loop is closed: nobody will read this any more
            pass

    def _wake(self) -> None:
        with self._lock:
            self._wake_scheduled = False
            waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> T:
        """The oldest item, waiting for one if the queue is empty (loop thread only)."""
        while True:
            with self._lock:
                if self._items:
                    return self._items.popleft()
                waiter = self._loop.create_future()
                self._waiter = waiter
            try:
                await waiter
            finally:
                with self._lock:
                    if self._waiter is waiter:
                        self._waiter = None

    def drain_nowait(self) -> list[T]:
        """Everything queued, oldest first; the queue is left empty."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
        return items
