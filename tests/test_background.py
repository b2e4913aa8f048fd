"""SIGTERM must stop the daemon within 2 s even while slow blocking work is in flight."""

import asyncio
import threading
import time

from polybot_device.background import call_in_daemon_thread
from tests.rig.timing import scaled


def test_a_slow_background_call_does_not_hold_up_the_loops_shutdown():
    release = threading.Event()

    async def main():
        loop = asyncio.get_running_loop()
        running = asyncio.Event()

        def slow():
            loop.call_soon_threadsafe(running.set)
            release.wait(30)

        task = asyncio.create_task(call_in_daemon_thread(slow, "slow"))
        await asyncio.wait_for(running.wait(), scaled(5))  # the blocking call is under way
        task.cancel()

    start = time.monotonic()
    asyncio.run(main())  # joins the default executor: a to_thread call would block here for 30 s
    assert time.monotonic() - start < 2.0
    release.set()
