"""Latency probes for ``benchmarks/run.py``: off (``probe is None``) unless POLYBOT_TRACE_FILE is set.

When off, a probe site costs one global lookup and an ``is not None`` test per audio period:
nothing is allocated, nothing is logged. When on, each mark appends one ``(tag, key, seconds)``
tuple to a list (atomic under the GIL, so the audio threads and the loop share it without a lock)
and the list is written to the file at exit, one ``tag key seconds`` line each. Times are
``time.monotonic()``, which is CLOCK_MONOTONIC: the benchmark compares them with its own.

The marks (``key`` ties the marks of one chunk together):

* ``read id(chunk) t``: the capture thread's ``read()`` returned the period that became ``chunk``;
* ``sent id(chunk) t``: the append carrying ``chunk`` was written to the socket;
* ``pop item_id t``: the playback thread took the next audio delta of ``item_id`` off its queue;
* ``handed item_id t``: a period of ``item_id`` was handed to ALSA (the first after a ``pop`` is
  that delta's first sample).

A key that is an ``id()`` is only unique while its object lives; each chunk lives from its read
until after its send (the outbox keeps it), so the pairs cannot mix.
"""

from __future__ import annotations

import atexit
import os
import time


class Probe:
    def __init__(self, path: str) -> None:
        self.path = path
        self.rows: list[tuple[str, object, float]] = []
        atexit.register(self.dump)

    def mark(self, tag: str, key: object, t: float | None = None) -> None:
        self.rows.append((tag, key, time.monotonic() if t is None else t))

    def handed(self, item_id: str, frames: int, t: float) -> None:
        """SpeakerPlayback.on_handed signature."""
        self.rows.append(("handed", item_id, t))

    def dump(self) -> None:
        with open(self.path, "w") as f:
            f.writelines(f"{tag} {key} {t:.6f}\n" for tag, key, t in self.rows)


_path = os.environ.get("POLYBOT_TRACE_FILE")
probe: Probe | None = Probe(_path) if _path else None
