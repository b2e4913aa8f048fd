"""The playout model with plain values: what has been heard of each item, and when playing ends."""

from __future__ import annotations

import pytest

from polybot_device.audio.playout import KEEP_ITEMS, Playout


def test_writing_moves_the_end_of_playing_forward_in_real_time():
    p = Playout(48000)
    p.wrote("a", 4800, now=10.0)
    assert p.until == pytest.approx(10.1)
    p.wrote("a", 4800, now=10.05)  # written ahead: it queues behind what is playing
    assert p.until == pytest.approx(10.2)
    p.wrote("b", 4800, now=11.0)  # after a gap: it starts now
    assert p.until == pytest.approx(11.1) and p.current == "b"
    assert p.ahead_frames(11.05) == pytest.approx(2400, abs=1) and p.ahead_frames(12.0) == 0


def test_what_was_heard_of_an_item_excludes_what_is_still_in_the_device():
    p = Playout(24000)
    p.wrote("a", 24000, now=0.0)
    assert p.played_ms("a", in_device=12000) == 500
    assert p.played_ms("a", in_device=30000) == 0  # never negative
    p.wrote("b", 2400, now=1.0)
    assert p.played_ms("a", in_device=2400) == 1000  # no longer the current item: all of it was heard
    assert p.played_ms("never", in_device=0) == 0


def test_a_stop_keeps_only_what_was_heard_and_ends_playing_at_once():
    p = Playout(24000)
    p.wrote("a", 24000, now=0.0)
    assert p.stopped(now=0.25, in_device=18000) == 250
    assert p.current is None and p.until == 0.25
    assert p.played_ms("a", in_device=0) == 250  # what a truncate reports from now on


def test_only_the_latest_items_are_remembered():
    p = Playout(24000)
    for i in range(KEEP_ITEMS + 5):
        p.wrote(f"item{i}", 240, now=float(i))
    assert p.played_ms("item0", in_device=0) == 0
    assert p.played_ms(f"item{KEEP_ITEMS + 4}", in_device=0) == 10
