"""What quotes a server in the log: escaped, and at most a few lines per message and window."""

import logging
import tracemalloc

from polybot_device.logfilter import ServerLogFilter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("polybot_device.realtime.protocol", logging.WARNING, __file__, 1, msg, args, None)


def test_a_flood_of_one_warning_is_cut_to_a_few_lines_and_the_rest_is_counted():
    clock = Clock()
    f = ServerLogFilter(burst=5, window_s=10.0, clock=clock)
    passed = [f.filter(record("audio delta for finished item %s ignored", f"item_{i}")) for i in range(10_000)]
    assert sum(passed) == 5
    assert f.filter(record("another message %s", "x"))  # each message has its own allowance
    clock.now = 10.0
    late = record("audio delta for finished item %s ignored", "item_z")
    assert f.filter(late)
    assert late.getMessage() == "audio delta for finished item item_z ignored [9995 more like this in 10 s not logged]"


def test_server_text_is_escaped_so_it_cannot_forge_a_line():
    f = ServerLogFilter()
    rec = record("server error %s: %s", "bad", "oops\n2026-12-05 12:00:00 ERROR forged\x1b[2K")
    assert f.filter(rec)
    assert rec.getMessage() == "server error bad: oops\\n2026-12-05 12:00:00 ERROR forged\\x1b[2K"


def test_messages_built_with_their_values_in_them_cannot_grow_the_filter():
    f = ServerLogFilter()
    for i in range(1000):
        f.filter(record(f"built message {i}"))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(1000, 21_000):
            f.filter(record(f"built message {i}"))
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 100_000, grown
