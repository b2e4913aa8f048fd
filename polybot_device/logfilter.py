"""Log records that quote a server: escaped, and rate-limited per message.

The modules that read server events (``SERVER_LOGGERS``) log what they drop, with the server's own
values in the arguments. A hostile server can make that a flood (138 MB of log in 10 s, every
event malformed) or forge lines (a newline and a fake timestamp in an item id). This filter, on
those loggers only, writes every text argument escaped (:func:`.redact.escape`) and lets at most
``burst`` records of one message template through per ``window_s``; the next one after the window
says how many were left out. Templates are the code's own format strings, so the table of
windows is bounded by the code (and capped besides).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from .redact import escape

SERVER_LOGGERS = (
    "polybot_device.realtime.connection",
    "polybot_device.realtime.decoding",
    "polybot_device.realtime.protocol",
    "polybot_device.realtime.translation",
)
"""The loggers whose records may carry a server's values."""


class ServerLogFilter(logging.Filter):
    MAX_TEMPLATES = 256

    def __init__(self, burst: int = 5, window_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._burst = burst
        self._window_s = window_s
        self._clock = clock
        self._windows: dict[tuple[str, str], list[float]] = {}
        """(logger, template) -> [window start, records let through, records left out]."""

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = self._clock()
        window = self._windows.get(key)
        if window is not None and now - window[0] < self._window_s:
            if window[1] >= self._burst:
                window[2] += 1
                return False
            window[1] += 1
        else:
            left_out = int(window[2]) if window is not None else 0
            if len(self._windows) >= self.MAX_TEMPLATES and window is None:
                self._windows.pop(next(iter(self._windows)))
            self._windows[key] = [now, 1, 0]
            if left_out:
                record.msg = f"{record.msg} [{left_out} more like this in {self._window_s:g} s not logged]"
        if isinstance(record.args, tuple):
            record.args = tuple(escape(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str) and not record.args:
            record.msg = escape(record.msg)
        return True


def install(filter_: ServerLogFilter | None = None) -> ServerLogFilter:
    """Put one filter on every server-input logger (called once by the daemon's logging set-up)."""
    filter_ = filter_ or ServerLogFilter()
    for name in SERVER_LOGGERS:
        logging.getLogger(name).addFilter(filter_)
    return filter_
