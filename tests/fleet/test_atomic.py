"""Files replaced atomically: a concurrent reader never sees half of one (node_exporter reads the
metrics file whenever it likes)."""

from __future__ import annotations

import os
import threading
import time

from prometheus_client.parser import text_string_to_metric_families

from polybot_device.fleet.atomic import write_atomically
from tests.rig.timing import scaled


def _exposition(i: int, lines: int) -> str:
    body = "".join(f'polybot_test_series{{n="{k}"}} {i}\n' for k in range(lines))
    return f"# TYPE polybot_test_series gauge\n{body}# generation {i} end\n"


REWRITES_SEEN = 50
"""The atomic-replace check reads until it has seen the file change this many times: a count of
rewrites, not of seconds, so a busy machine makes it slower, never weaker."""


def _hammer(path, writer, enough) -> tuple[int, int, set[str]]:
    """A writer thread replaces the file over and over with big and small versions; this thread reads
    it back, each read checked to be one whole version that parses, until ``enough(rewrites_seen,
    torn)`` says so. Returns (rewrites seen, torn reads, parse problems)."""
    versions = [_exposition(i, 4000 if i % 2 else 3) for i in range(6)]
    writer(path, versions[0])
    stop = threading.Event()

    def write_loop():
        i = 0
        while not stop.is_set():
            writer(path, versions[i % len(versions)])
            i += 1

    thread = threading.Thread(target=write_loop, daemon=True)
    thread.start()
    seen = torn = 0
    problems: set[str] = set()
    previous = versions[0]
    deadline = time.monotonic() + scaled(60)
    try:
        while not enough(seen, torn):
            assert time.monotonic() < deadline, f"only {seen} rewrites seen ({torn} torn) in {scaled(60):.0f} s"
            text = path.read_text()
            if text != previous:
                seen += 1
                previous = text
            if text not in versions:
                torn += 1
                continue
            try:
                list(text_string_to_metric_families(text))
            except ValueError as exc:
                problems.add(str(exc))
    finally:
        stop.set()
        thread.join(scaled(5))
    return seen, torn, problems


def test_metrics_file_is_never_seen_half_written_by_a_concurrent_reader(tmp_path):
    seen, torn, problems = _hammer(tmp_path / "polybot.prom", write_atomically,
                                   lambda seen, torn: seen >= REWRITES_SEEN)
    assert torn == 0 and not problems
    assert [p.name for p in tmp_path.iterdir()] == ["polybot.prom"]  # no temp files left behind
    assert (os.stat(tmp_path / "polybot.prom").st_mode & 0o777) == 0o644  # node_exporter may read it


def test_the_concurrent_reader_does_catch_a_plain_rewrite(tmp_path):
    """The check above can fail: the same reader sees torn files when the file is rewritten in
    place, well within the rewrites the check above watches."""
    def plain(path, text):
        with open(path, "w") as f:
            f.write(text)

    seen, torn, _ = _hammer(tmp_path / "polybot.prom", plain, lambda seen, torn: torn > 0 or seen >= REWRITES_SEEN)
    assert torn > 0, f"no torn read in {seen} in-place rewrites"
