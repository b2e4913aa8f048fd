"""What the mic's levels say, and the meter's bar, with plain samples."""

from __future__ import annotations

import io
import math

import numpy as np

from polybot_device.doctor.meter import LevelStats, Meter, bar, judge
from polybot_device.doctor.report import Verdict


def stats_of(*blocks: np.ndarray) -> LevelStats:
    stats = LevelStats()
    for block in blocks:
        stats.add(block.astype(np.float32))
    return stats


def test_a_mic_that_delivers_only_zeros_fails_as_digital_silence():
    finding = judge(stats_of(np.zeros(2400), np.zeros(2400)), "hw:CARD=Mic,DEV=0", 3)
    assert finding.verdict is Verdict.FAIL and "only digital silence" in finding.summary
    assert "alsamixer" in finding.advice


def test_a_mic_that_delivers_nothing_at_all_fails():
    assert "delivered no audio in 3 s" in judge(LevelStats(), "hw:CARD=Mic,DEV=0", 3).summary


def test_a_clipping_mic_is_a_warning_and_a_normal_one_passes():
    rng = np.random.default_rng(1)
    quiet = 0.001 * rng.standard_normal(2400)
    loud = np.clip(3 * rng.standard_normal(2400), -1, 1)
    assert judge(stats_of(quiet, loud), "m", 3).verdict is Verdict.WARN
    normal = judge(stats_of(quiet, 0.1 * rng.standard_normal(2400)), "m", 3)
    assert normal.verdict is Verdict.PASS and "quietest -60 dBFS, loudest -20 dBFS" in normal.summary
    assert math.isclose(stats_of(quiet).quietest_rms(), 0.001, rel_tol=0.1)


def test_the_bar_fills_with_the_level_and_a_log_gets_lines_not_carriage_returns():
    assert bar(-math.inf) == "[" + "." * 40 + "]   -inf dBFS"
    assert bar(-40.0).startswith("[" + "#" * 20 + "." * 20 + "]")
    assert bar(0.0).startswith("[" + "#" * 40 + "]")
    out = io.StringIO()
    meter = Meter(out)
    for step in range(1, 11):
        meter.show(-30.0, step)
    meter.done()
    assert out.getvalue().count("\n") == 2 and "\r" not in out.getvalue()
