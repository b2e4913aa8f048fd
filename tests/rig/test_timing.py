"""The suite's one clock: the time factor a slow machine gets, and eventually()'s waiting."""

import itertools

import pytest

from tests.rig.timing import AUTO_FACTOR_MAX, ENV, eventually, factor_from, scaled, time_factor


def test_an_idle_machine_waits_as_written_and_a_busy_one_longer_up_to_a_cap():
    assert factor_from(None, load_1min=0.3, cpus=2) == 1.0
    assert factor_from(None, load_1min=1.9, cpus=2) == 1.0  # busy, but not more than a task per core
    assert factor_from(None, load_1min=6.0, cpus=2) == 3.0  # three runnable tasks per core: three times
    assert factor_from(None, load_1min=50.0, cpus=2) == AUTO_FACTOR_MAX
    assert factor_from("", load_1min=6.0, cpus=2) == 3.0  # an empty setting is no setting


def test_a_factor_set_in_the_environment_wins_over_the_load():
    assert factor_from("2.5", load_1min=0.0, cpus=2) == 2.5
    assert factor_from("1", load_1min=40.0, cpus=2) == 1.0  # pinned: no automatic raise
    assert factor_from("0.5", load_1min=0.0, cpus=2) == 0.5  # shorter waits, to find thin margins


@pytest.mark.parametrize("bad", ["fast", "0", "-2", "inf", "nan"])
def test_a_nonsense_factor_is_refused_naming_the_variable(bad):
    with pytest.raises(ValueError, match=ENV):
        factor_from(bad, load_1min=0.0, cpus=2)


def test_scaled_stretches_by_the_suites_factor():
    assert scaled(2.0) == pytest.approx(2.0 * time_factor())


def test_eventually_returns_the_first_truthy_value_without_waiting_longer():
    calls = itertools.count(1)
    seen = []

    def third_time_lucky():
        n = next(calls)
        seen.append(n)
        return {"attempt": n} if n >= 3 else None

    assert eventually(third_time_lucky, timeout=5, what="the third attempt", interval=0.001) == {"attempt": 3}
    assert seen == [1, 2, 3]


def test_eventually_says_what_it_waited_for_and_the_last_value_it_saw():
    with pytest.raises(AssertionError) as failure:
        eventually(lambda: [], timeout=0.05, what="the queue to fill")
    assert "the queue to fill" in str(failure.value) and "last seen: []" in str(failure.value)
    with pytest.raises(AssertionError, match=r"last seen: 0$"):
        eventually(lambda: 0, timeout=0.05, what="a level")


def test_eventually_can_wait_for_a_value_to_reach_a_mark_and_shows_where_it_stopped():
    counter = itertools.count()
    assert eventually(lambda: next(counter), 5, "the count to reach 3", until=lambda n: n >= 3, interval=0) == 3
    with pytest.raises(AssertionError, match=r"volume 60 %; last seen: 50$"):
        eventually(lambda: 50, 0.05, "volume 60 %", until=lambda v: v == 60)


def test_eventually_does_not_hide_a_check_that_crashes():
    with pytest.raises(KeyError):
        eventually(lambda: {}["state"], timeout=5, what="a crash")
