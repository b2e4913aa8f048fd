"""Living under systemd: sd_notify (READY, STATUS, WATCHDOG), journald logging, signals.

The watchdog ping comes from a coroutine on the event loop, never from a side thread: if the loop
is blocked, or a long-lived part stops reporting in, the pings stop and ``WatchdogSec=`` restarts
the daemon. Off systemd (no NOTIFY_SOCKET / WATCHDOG_USEC) all of this quietly does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable

from . import logfilter
from .fleet.journal import EVENT_STATE
from .redact import SecretRedactor
from .state import Facts, State

log = logging.getLogger(__name__)


def setup_logging(level: str, redactor: SecretRedactor) -> None:
    """journald when systemd connected our stderr to it (JOURNAL_STREAM), stderr otherwise."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler: logging.Handler
    if _stderr_is_journal():
        from systemd.journal import JournalHandler, send

        from .fleet.journal import sender_from_environment

        # The real journal, except in tests that set POLYBOT_JOURNAL_SOCKET.
        handler = JournalHandler(SYSLOG_IDENTIFIER="polybot-device", sender_function=sender_from_environment() or send)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(redactor)
    root.addHandler(handler)
    logfilter.install()  # what quotes a server: escaped, and rate-limited
    root.setLevel(level.upper())
    logging.getLogger("websockets").setLevel(max(logging.INFO, root.level))


def _stderr_is_journal() -> bool:
    stream = os.environ.get("JOURNAL_STREAM", "")
    if not stream:
        return False
    try:
        dev, ino = (int(x) for x in stream.split(":"))
        st = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError):
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)


class Notifier:
    """sd_notify. Messages go to $NOTIFY_SOCKET; without it they are dropped."""

    def __init__(self) -> None:
        self.enabled = bool(os.environ.get("NOTIFY_SOCKET"))
        self._notify: Callable[[str], object] | None = None
        if self.enabled:
            from systemd.daemon import notify

            self._notify = notify

    def send(self, message: str) -> None:
        if self._notify is not None:
            self._notify(message)

    def ready(self, status: str) -> None:
        self.send(f"READY=1\nSTATUS={status}")

    def status(self, words: str) -> None:
        self.send(f"STATUS={words}")

    def stopping(self) -> None:
        self.send("STOPPING=1\nSTATUS=Stopping")

    def on_state(self, state: State, facts: Facts) -> None:
        """StatusModel listener: STATUS= follows every state change, and the journal gets a line
        with POLYBOT_STATE= so a fleet can query the history without parsing text."""
        words = state.words + (f" ({facts.detail})" if facts.detail and state in _DETAILED else "")
        self.status(words)
        log.info("state: %s", words, extra={"POLYBOT_EVENT": EVENT_STATE, "POLYBOT_STATE": state.value})


_DETAILED = {State.OFFLINE, State.AUTH_ERROR, State.KEY_UNUSABLE, State.MIC_MISSING, State.SPEAKER_MISSING,
             State.CONNECTING, State.BUDGET_SPENT}


def watchdog_interval_s() -> float | None:
    """Half of WatchdogSec= (systemd's advice), or None when no watchdog is asked for."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(0.05, int(usec) / 1_000_000 / 2)
    except ValueError:
        return None


LivenessCheck = Callable[[], "str | None"]
"""Returns None while the part is alive, or a reason it is not (a task that died, a thread stuck
in a blocking call). Waiting for a mic or a network counts as alive."""


async def run_watchdog(notifier: Notifier, interval_s: float, checks: list[LivenessCheck]) -> None:
    """Pings WATCHDOG=1 each interval while every check passes. Runs on the loop, so a blocked
    loop means no pings."""
    silent_reason: str | None = None
    while True:
        await asyncio.sleep(interval_s)
        reasons = [r for r in (check() for check in checks) if r]
        if reasons:
            if reasons[0] != silent_reason:
                log.error("watchdog: %s; withholding WATCHDOG=1 so systemd restarts us", "; ".join(reasons))
                silent_reason = reasons[0]
            continue
        silent_reason = None
        notifier.send("WATCHDOG=1")
