"""Blocking work off the event loop without holding up shutdown.

``asyncio.to_thread`` runs in the default executor, which ``asyncio.run`` joins at exit: one slow
call (a key backend, espeak-ng under load, a write to a hung file system) and SIGTERM no longer
stops the daemon within 2 s. These calls run in daemon threads instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def call_in_daemon_thread(fn: Callable[[], T], name: str = "background") -> T:
    """``await fn()`` run in a daemon thread of its own. Not ``asyncio.to_thread``: the default
    executor is joined when the loop shuts down, so a slow key backend would hold up SIGTERM;
    a daemon thread is simply abandoned at exit (and systemd kills the child with the unit).
    Used for everything that may block for long: key commands, espeak-ng, file writes."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        try:
            result, error = fn(), None
        except BaseException as exc:  # handed to the awaiting coroutine, raised there
            result, error = None, exc
        try:
            loop.call_soon_threadsafe(settle, result, error)
        except RuntimeError:  # the loop is gone: we are shutting down
            pass

    threading.Thread(target=work, name=name, daemon=True).start()
    return await future
