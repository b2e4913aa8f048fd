"""Replace a file so that a reader sees the old content or the new, never a mix or a stub."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: str | os.PathLike[str], data: str, mode: int = 0o644) -> None:
    """Write ``data`` to a temporary file in the same directory, then ``os.replace`` it over
    ``path`` (a rename within one filesystem is atomic). The temporary name starts with a dot and
    ends in ``.tmp``, so node_exporter (which reads ``*.prom``) never picks one up. No fsync: these
    files are rewritten every few seconds and live on tmpfs or are regenerated after a power cut;
    syncing the SD card that often would only wear it. Raises OSError."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), mode)  # readable by node_exporter despite the unit's UMask=0077
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def remove_leftovers(path: str | os.PathLike[str]) -> None:
    """Delete temporary files a killed writer left beside ``path``."""
    target = Path(path)
    try:
        for leftover in target.parent.glob(f".{target.name}.*.tmp"):
            leftover.unlink(missing_ok=True)
    except OSError:
        pass
