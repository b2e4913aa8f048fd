"""How an audio thread tells the daemon whether its device works: once per change, on the loop.

The capture and playback threads retry their device for as long as the daemon runs; what they
say about it must not repeat at every retry. :class:`DeviceStatus` logs a change once (info when
the device works, a warning when it does not) and hands ``on_status(ok, reason)`` to the event
loop thread, where the status model lives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

OnStatus = Callable[[bool, str], None]
"""``on_status(ok, reason)``, always called on the loop thread."""


class DeviceStatus:
    def __init__(self, loop: asyncio.AbstractEventLoop, on_status: OnStatus, logger: logging.Logger = log) -> None:
        self._loop = loop
        self._on_status = on_status
        self._log = logger
        self._ok: bool | None = None
        self.pending = ""
        """A 'works' report held back until audio moves (see :meth:`ready_when_flowing`)."""

    @property
    def ok(self) -> bool | None:
        """The last report: True working, False not, None nothing reported yet."""
        return self._ok

    def report(self, ok: bool, reason: str) -> None:
        """From the device's thread; a repeat of the last report is dropped."""
        if self._ok is ok:
            return
        self._ok = ok
        (self._log.info if ok else self._log.warning)("%s", reason)
        try:
            self._loop.call_soon_threadsafe(self._on_status, ok, reason)
        except RuntimeError:  # loop closed: we are shutting down
            pass

    def ready_when_flowing(self, reason: str) -> None:
        """After a fault: the device reopened, but say it works only once audio moves
        (:meth:`flowing`), so a device that stalls again at every reopen is not reported
        back and forth every second."""
        self.pending = reason

    def flowing(self) -> None:
        """Audio moved: make the held-back report (the caller checks ``pending`` first; 20 ms path)."""
        reason, self.pending = self.pending, ""
        if reason:
            self.report(True, reason)
