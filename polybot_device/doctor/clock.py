"""Is the clock right? A Pi has no battery clock: until NTP answers it runs from the last shutdown
(fake-hwclock), or from 1970, and TLS then refuses every certificate as "not yet valid".

Three witnesses, best first: the ``Date`` header of the API's handshake answer (a real server's
clock, one round trip away); systemd-timesyncd's "synchronized" flag; and a floor no correct
clock can be below, the time this software was installed.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from email.utils import parsedate_to_datetime
from pathlib import Path

from .report import Finding, Verdict

MAX_SKEW_S = 60.0
"""TLS itself tolerates minutes; the session's timestamps and the logs need better than this."""


def installed_at() -> float:
    """When this package was installed (its newest file): a correct clock is never before it."""
    package = Path(__file__).resolve().parents[1]
    return max(p.stat().st_mtime for p in package.glob("**/*.py"))


def ntp_synchronized() -> bool | None:
    """systemd's NTPSynchronized (timedatectl); None where that cannot be asked."""
    timedatectl = shutil.which("timedatectl")
    if timedatectl is None:
        return None
    try:
        done = subprocess.run([timedatectl, "show", "--property=NTPSynchronized", "--value"],
                              capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = done.stdout.strip()
    return {"yes": True, "no": False}.get(value) if done.returncode == 0 else None


def server_time(date_header: str | None) -> float | None:
    """The epoch seconds of an HTTP ``Date`` header; None if absent or unreadable."""
    if not date_header:
        return None
    try:
        return parsedate_to_datetime(date_header).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _shown(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def judge(now: float, floor: float, synced: bool | None, server: float | None) -> Finding:
    """The clock finding from the witnesses (plain values: the caller asks them)."""
    sync_words = {True: "NTP synchronized", False: "NTP not synchronized yet", None: "NTP state unknown"}[synced]
    if server is not None:
        skew = now - server
        if abs(skew) > MAX_SKEW_S:
            return Finding("clock", Verdict.FAIL, f"{_shown(now)} is {skew:+.0f} s off the server's clock "
                                                  f"({sync_words})", _advice(synced))
        return Finding("clock", Verdict.PASS, f"within {abs(skew):.0f} s of the server's clock ({sync_words})")
    if now < floor:
        return Finding("clock", Verdict.FAIL, f"says {_shown(now)}, before this software was installed "
                                              f"({_shown(floor)})", _advice(synced))
    if synced is False:
        return Finding("clock", Verdict.WARN, f"{_shown(now)}, {sync_words}", _advice(synced))
    return Finding("clock", Verdict.PASS, f"{_shown(now)} ({sync_words}; no server answer to compare with)")


def _advice(synced: bool | None) -> str:
    if synced is False:
        return "no time server answered yet: check the network, then `timedatectl` (NTP must be reachable)"
    return "set the time (`sudo timedatectl set-ntp true`, or `sudo date -s ...`) and run the doctor again"
