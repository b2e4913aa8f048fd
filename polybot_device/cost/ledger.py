"""Today's estimate survives a restart of the daemon: a crash loop or a watchdog restart must not
hand the day's budget out again. Kept beside the state file in the runtime directory
(``/run/polybot``: tmpfs, so a reboot starts the day from 0, which docs/cost.md says).

The file is ours, but read as hostile like everything on disk: anything but a small JSON object
with a date and a finite, non-negative number is ignored.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..fleet.atomic import write_atomically

LEDGER_FILE = "cost-today.json"
MAX_BYTES = 4096


def load(path: Path) -> tuple[str, float] | None:
    """(local date, today's estimate) written by an earlier run, or None."""
    try:
        with path.open("rb") as f:
            data = json.loads(f.read(MAX_BYTES))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    day, today = data.get("day"), data.get("today")
    if not isinstance(day, str) or len(day) != 10:
        return None
    if not isinstance(today, (int, float)) or isinstance(today, bool) or not math.isfinite(today) or today < 0:
        return None
    return day, float(today)


def save(path: Path, day: str, today: float) -> None:
    """Raises OSError (no runtime directory: the caller says so once and carries on)."""
    write_atomically(path, json.dumps({"day": day, "today": round(today, 9)}) + "\n", mode=0o600)
