"""The update lock: while people are talking, the fleet's updater must not restart us.

``fleet.update_lock_file`` names it (null: nothing is ever written). The convention is balena's
(checked against its supervisor documentation): the lock is held while the file EXISTS, and it
must be created exclusively (``O_CREAT | O_EXCL``), because the supervisor itself creates the same
file just before it kills the app for an update: if the file is already there, the update is
underway (or someone else holds the lock) and we leave it alone. On balenaOS the path is
``/tmp/balena/updates.lock`` inside the container (``/tmp/resin/resin-updates.lock`` on old
supervisors). We also hold an exclusive ``flock`` on it while we own it: balenaOS's host-OS
update scripts honour that form of the same lock.

The file holds ``polybot-device <pid>``; only a file that says so is ever removed by us. One left
behind by a killed daemon (SIGKILL, power cut on a persistent /tmp) is removed at the next start,
so a crash cannot block updates for good.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

MARKER = "polybot-device"


class UpdateLock:
    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None
        self._fd: int | None = None
        self._complained: str | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def clear_stale(self) -> None:
        """At start: remove a lock an earlier run of this daemon left behind."""
        if self.path is None:
            return
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return
        if text.startswith(MARKER + " "):
            try:
                self.path.unlink()
                log.info("removed an update lock left behind by an earlier run (%s)", text.strip())
            except OSError:
                pass

    def set(self, wanted: bool) -> None:
        """Hold the lock while ``wanted``; never blocks, never raises."""
        if wanted and self._fd is None:
            self._take()
        elif not wanted and self._fd is not None:
            self.release()

    def _take(self) -> None:
        assert self.path is not None
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            self._complain("held", "update lock %s is held by someone else (an update may be underway)")
            return
        except OSError as exc:
            self._complain(str(exc.errno), f"cannot take the update lock %s: {exc.strerror}")
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pass  # the exclusive file is the lock the supervisor checks; flock is a bonus
        os.write(fd, f"{MARKER} {os.getpid()}\n".encode())
        self._fd = fd
        self._complained = None
        log.debug("update lock %s taken: a translation is in progress", self.path)

    def release(self) -> None:
        if self._fd is None or self.path is None:
            return
        fd, self._fd = self._fd, None
        try:
            self.path.unlink()
        except OSError:
            pass
        os.close(fd)
        log.debug("update lock %s released", self.path)

    def _complain(self, why: str, message: str) -> None:
        if self._complained != why:  # once per cause, not at every translation
            self._complained = why
            (log.info if why == "held" else log.warning)(message, self.path)
