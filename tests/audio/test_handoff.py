"""The thread -> loop queue: bounded, drops the oldest, wakes the loop only when it waits."""

from __future__ import annotations

import asyncio
import threading

from polybot_device.audio.handoff import ThreadToLoop
from tests.rig.timing import scaled


def test_full_queue_drops_the_oldest_and_counts_it():
    async def main():
        q: ThreadToLoop[int] = ThreadToLoop(asyncio.get_running_loop(), maxsize=3)
        for i in range(5):
            q.put_threadsafe(i)
        return q.dropped, q.drain_nowait()

    assert asyncio.run(main()) == (2, [2, 3, 4])


def test_get_wakes_when_a_thread_puts():
    async def main():
        q: ThreadToLoop[bytes] = ThreadToLoop(asyncio.get_running_loop(), maxsize=10)
        getter = asyncio.ensure_future(q.get())
        await asyncio.sleep(0)  # let get() park on its future
        threading.Thread(target=q.put_threadsafe, args=(b"chunk",)).start()
        return await asyncio.wait_for(getter, scaled(2))

    assert asyncio.run(main()) == b"chunk"


def test_many_items_from_a_thread_arrive_in_order():
    async def main():
        q: ThreadToLoop[int] = ThreadToLoop(asyncio.get_running_loop(), maxsize=100_000)

        def produce():
            for i in range(20_000):
                q.put_threadsafe(i)

        threading.Thread(target=produce).start()
        return [await asyncio.wait_for(q.get(), scaled(2)) for _ in range(20_000)], q.dropped

    got, dropped = asyncio.run(main())
    assert got == list(range(20_000)) and dropped == 0


def test_cancelled_get_loses_nothing():
    async def main():
        q: ThreadToLoop[int] = ThreadToLoop(asyncio.get_running_loop(), maxsize=10)
        getter = asyncio.ensure_future(q.get())
        await asyncio.sleep(0)
        getter.cancel()
        q.put_threadsafe(7)
        return await asyncio.wait_for(q.get(), scaled(2))

    assert asyncio.run(main()) == 7
