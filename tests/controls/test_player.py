"""The LED step player: the sequencer with plain times (no clock, no thread), then the thread."""

import math
import threading

from polybot_device.controls.player import STEADY, Player, Sequencer
from tests.rig.timing import eventually

BLINK = ((1, 0.5), (0, 0.5))


def take(seq: Sequencer, now: float) -> list:
    """Every step due at ``now``, as the player takes them: [(level, until)]."""
    out = []
    while seq.due is not None and seq.due <= now:
        level = seq.advance(now)
        out.append((level, seq.due))
    return out


def test_a_new_sequencer_shows_off_steadily():
    seq = Sequencer(off="dark")
    assert seq.due == -math.inf
    assert take(seq, 7.0) == [("dark", None)]  # steady: nothing to wake up for


def test_a_blink_keeps_its_rhythm_when_its_player_wakes_a_little_late():
    seq = Sequencer()
    seq.loop(BLINK)
    assert take(seq, 10.0) == [(1, 10.5)]
    assert take(seq, 10.6) == [(0, 11.0)]  # woke 0.1 s late: the dark step still ends on the beat
    assert take(seq, 11.0) == [(1, 11.5)]


def test_after_a_long_stall_the_pattern_starts_over_instead_of_rushing_through_what_it_missed():
    seq = Sequencer()
    seq.loop(BLINK)
    take(seq, 0.0)
    # Stalled 1.5 s (three missed steps): one step is cut short, the next gets its full length.
    assert take(seq, 2.0) == [(0, 2.0), (1, 2.5)]
    assert take(seq, 2.5) == [(0, 3.0)]


def test_showing_the_same_pattern_again_does_not_restart_it():
    seq = Sequencer()
    assert seq.loop(BLINK) is True
    take(seq, 0.0)
    assert seq.loop(BLINK) is False
    assert seq.due == 0.5 and take(seq, 0.4) == []


def test_a_confirmation_plays_once_then_the_pattern_starts_again_from_its_first_step():
    seq = Sequencer()
    seq.loop(BLINK)
    take(seq, 0.0)
    seq.once(((0, 0.5), (1, 0.25), (0, 0.5)))  # (binary fractions: the times add up exactly)
    assert take(seq, 0.25) == [(0, 0.75)]  # at once, on its own clock
    assert take(seq, 0.75) == [(1, 1.0)]
    assert take(seq, 1.0) == [(0, 1.5)]
    assert take(seq, 1.5) == [(1, 2.0)]  # the blink again, from its "on" step


def test_a_pattern_chosen_during_a_confirmation_waits_for_it_to_finish():
    seq = Sequencer()
    seq.loop(((1, STEADY),))
    take(seq, 0.0)
    seq.once(((0, 0.25),))
    take(seq, 0.0)
    assert seq.loop(BLINK) is True
    assert seq.due == 0.25  # the confirmation is not cut short
    assert take(seq, 0.25) == [(1, 0.75)]


def test_the_thread_writes_each_change_once_survives_a_broken_write_and_ends_dark():
    writes, lock = [], threading.Lock()
    broke = []

    def write(level):
        with lock:
            writes.append(level)
        if level == 1 and not broke:
            broke.append(level)
            raise OSError("LED driver hiccup")

    player = Player(write, "test-led", off=0)
    player.loop(((1, 0.02), (1, 0.02), (0, 0.02)))  # two steps of one level: one write
    got = eventually(lambda: list(writes), 5, "six writes", until=lambda w: len(w) >= 6)
    assert got[:6] == [0, 1, 0, 1, 0, 1]  # blinking on its own, past the failed write, no repeats
    player.close()
    assert writes[-1] == 0
    count = len(writes)
    player.loop(((1, STEADY),))  # closed: nothing more is written
    assert len(writes) == count
