"""``state.json`` in the runtime directory: what the running daemon is doing, for other programs.

The daemon replaces it atomically on every state change and at least every ``HEARTBEAT_S``
seconds; ``polybot-device health`` and the fleet hooks under ``image/fleet/`` read it. It is JSON
with one key per line, so a shell script can also ``grep '"busy": true'``. Fields:

    schema           1
    pid              the daemon's process id
    time             wall-clock time of this write (ISO 8601, for people)
    boot_id          /proc/sys/kernel/random/boot_id of the boot that wrote it
    boottime_s       CLOCK_BOOTTIME of this write: staleness is judged on this clock, which neither
                     NTP nor a Pi without RTC setting its clock at boot can move
    heartbeat_s      the promised rewrite period
    state, status    State value ("listening") and the words STATUS= shows
    detail           why, for fault states ("network error: ...")
    link, mic_present, speaker_present, activity   the facts the state was derived from
    audio_age_s      seconds since the last chunk from the microphone (null: none yet)
    session_age_s    seconds since the current API session went live (null: no session)
    busy             a translation is in progress (or ended less than fleet.busy_hold_s ago):
                     update tools wait while this is true
    utterances_translated   since the daemon started

Where: ``$POLYBOT_RUNTIME_DIR``, else systemd's ``$RUNTIME_DIRECTORY`` (RuntimeDirectory=polybot),
else ``/run/polybot``. The daemon removes the file when it stops cleanly.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .atomic import write_atomically

STATE_FILE = "state.json"
SCHEMA = 1
HEARTBEAT_S = 2.0
"""The daemon rewrites the state file at least this often."""
STALE_AFTER_S = 10.0
"""A state file older than this (five missed heartbeats) means the daemon is hung or gone."""
DEFAULT_RUNTIME_DIR = "/run/polybot"


def runtime_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    explicit = env.get("POLYBOT_RUNTIME_DIR", "").strip()
    if explicit:
        return Path(explicit)
    systemd = env.get("RUNTIME_DIRECTORY", "").strip()
    if systemd:
        return Path(systemd.split(":")[0])  # several RuntimeDirectory= entries: the first
    return Path(DEFAULT_RUNTIME_DIR)


def state_path(environ: Mapping[str, str] | None = None) -> Path:
    return runtime_dir(environ) / STATE_FILE


def boottime_s() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


@functools.cache
def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def render(fields: Mapping[str, Any]) -> str:
    """The file's text: the given fields plus the identity and clock fields."""
    document = {
        "schema": SCHEMA,
        "pid": os.getpid(),
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "boot_id": boot_id(),
        "boottime_s": round(boottime_s(), 3),
        "heartbeat_s": HEARTBEAT_S,
        **fields,
    }
    return json.dumps(document, indent=0) + "\n"


def write_state(path: Path, fields: Mapping[str, Any]) -> None:
    """Atomically replace the state file (raises OSError)."""
    write_atomically(path, render(fields), mode=0o644)


class StateUnreadable(Exception):
    pass


def read_state(path: Path) -> dict[str, Any]:
    """The state file's fields; StateUnreadable (with words for people) if it is not there."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StateUnreadable(f"no state file at {path}") from None
    except PermissionError:
        raise StateUnreadable(f"{path} is not readable by this user (run as root or in the daemon's group)") from None
    except OSError as exc:
        raise StateUnreadable(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise StateUnreadable(f"{path} is not a state file (not JSON)") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise StateUnreadable(f"{path} is not a state file this version understands")
    return data
