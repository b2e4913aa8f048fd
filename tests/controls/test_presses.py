"""Presses -> gestures, decided from edge timestamps only (plain values, no pins, no clock)."""

import random

import pytest

from polybot_device.controls.presses import Gesture, PressClassifier

G = Gesture
ACTIONS = {G.SHORT_PRESS: "next-language", G.DOUBLE_PRESS: "replay", G.TRIPLE_PRESS: "next-mode",
           G.LONG_PRESS: "stop"}


def classifier(**kw):
    args = dict(long_press_s=1.5, multi_press_gap_s=0.4, actions=ACTIONS)
    args.update(kw)
    return PressClassifier(**args)


def names(events):
    return [e.gesture for e in events if e.gesture is not G.PRESSED]


def taps(clf, *downs_at, down_s=0.1):
    out = []
    for t in downs_at:
        out += clf.press(t)
        out += clf.release(t + down_s)
    return out


def test_every_press_down_is_reported_at_once_for_barge_in():
    clf = classifier()
    events = clf.press(10.0)
    assert [(e.gesture, e.presses, e.at) for e in events] == [(G.PRESSED, (1,), 10.0)]


def test_a_tap_is_a_short_press_once_the_multi_press_window_has_passed():
    clf = classifier()
    assert names(taps(clf, 0.0)) == []
    assert clf.deadline == pytest.approx(0.5)
    assert clf.advance(0.499) == []
    [event] = clf.advance(0.5)
    assert (event.gesture, event.action, event.presses, event.started_at, event.at) == \
        (G.SHORT_PRESS, "next-language", (1,), 0.0, 0.5)
    assert clf.deadline is None


def test_two_and_three_quick_taps():
    clf = classifier()
    taps(clf, 0.0, 0.3)
    [double] = clf.advance(0.8)
    assert (double.gesture, double.action, double.presses) == (G.DOUBLE_PRESS, "replay", (1, 2))
    events = taps(clf, 2.0, 2.3, 2.6)  # the third tap is the longest gesture there is: no wait
    assert names(events) == [G.TRIPLE_PRESS] and events[-1].at == pytest.approx(2.7)
    assert events[-1].presses == (3, 4, 5)


def test_a_gap_longer_than_the_window_separates_two_short_presses():
    clf = classifier()
    events = taps(clf, 0.0, 0.55) + clf.advance(5.0)
    assert names(events) == [G.SHORT_PRESS, G.SHORT_PRESS]


def test_unused_longer_gestures_do_not_delay_the_tap():
    clf = classifier(actions={**ACTIONS, G.DOUBLE_PRESS: "none", G.TRIPLE_PRESS: "none"})
    events = taps(clf, 0.0)
    assert names(events) == [G.SHORT_PRESS] and events[-1].at == pytest.approx(0.1)
    clf = classifier(actions={**ACTIONS, G.TRIPLE_PRESS: "none"})
    assert names(taps(clf, 0.0, 0.3)) == [G.DOUBLE_PRESS]


def test_long_press_fires_when_the_hold_reaches_the_threshold_not_on_release():
    clf = classifier()
    clf.press(0.0)
    assert clf.deadline == pytest.approx(1.5) and clf.advance(1.49) == []
    [event] = clf.advance(1.5)
    assert (event.gesture, event.action, event.at) == (G.LONG_PRESS, "stop", 1.5)
    assert clf.release(4.0) == [] and clf.deadline is None


def test_late_timers_and_late_edges_change_nothing():
    # The timer that should have closed the window did not run before the next press arrived.
    clf = classifier()
    taps(clf, 0.0)
    events = clf.press(0.7)
    assert [e.gesture for e in events] == [G.SHORT_PRESS, G.PRESSED] and events[0].at == pytest.approx(0.5)
    # The long-press timer did not run before the release: still a long press, dated at the threshold.
    clf = classifier()
    clf.press(0.0)
    [event] = clf.release(2.0)
    assert event.gesture is G.LONG_PRESS and event.at == 1.5


def test_taps_before_a_long_press_are_their_own_gesture():
    clf = classifier()
    events = [e for e in taps(clf, 0.0) + clf.press(0.3) + clf.advance(1.85) if e.gesture is not G.PRESSED]
    assert [(e.gesture, e.presses) for e in events] == [(G.SHORT_PRESS, (1,)), (G.LONG_PRESS, (2,))]
    assert events[0].at == events[1].at == pytest.approx(1.8)  # the tap became certain when the hold did


def test_hold_to_talk_taps_still_work_and_holding_is_talking():
    clf = classifier(hold_to_talk=True, tap_max_s=0.3)
    events = taps(clf, 0.0, down_s=0.2) + clf.advance(0.65)
    assert names(events) == [G.SHORT_PRESS]
    clf.press(1.0)
    [start] = clf.advance(1.3)
    assert (start.gesture, start.action, start.started_at, start.at) == (G.TALK_START, None, 1.0, 1.3)
    assert clf.advance(9.0) == []  # no long press while talking, however long
    [end] = clf.release(9.5)
    assert (end.gesture, end.presses, end.started_at, end.at) == (G.TALK_END, start.presses, 1.0, 9.5)


def test_hold_to_talk_right_after_a_tap():
    clf = classifier(hold_to_talk=True, tap_max_s=0.3)
    events = taps(clf, 0.0, down_s=0.1) + clf.press(0.3) + clf.release(2.0)
    assert names(events) == [G.SHORT_PRESS, G.TALK_START, G.TALK_END]


def test_a_second_down_without_an_up_is_ignored():
    clf = classifier()
    clf.press(0.0)
    assert clf.press(0.05) == []
    assert names(clf.release(0.1) + clf.advance(1.0)) == [G.SHORT_PRESS]


def script(rng, n, hold_to_talk):
    """Random gestures with human timing: (edges, expected gestures)."""
    edges, expected, t = [], [], 0.0
    kinds = ["short", "double", "triple", "hold"]
    for _ in range(n):
        kind = rng.choice(kinds)
        count = {"short": 1, "double": 2, "triple": 3, "hold": 1}[kind]
        for i in range(count):
            down = rng.uniform(0.5, 3.0) if kind == "hold" else rng.uniform(0.03, 0.25)
            edges += [(True, t), (False, t + down)]
            t += down + (rng.uniform(0.03, 0.3) if i < count - 1 else rng.uniform(0.45, 1.0))
        if kind == "hold":
            expected += [G.TALK_START, G.TALK_END] if hold_to_talk else [G.LONG_PRESS]
        else:
            expected.append({1: G.SHORT_PRESS, 2: G.DOUBLE_PRESS, 3: G.TRIPLE_PRESS}[count])
    return edges, expected, t


@pytest.mark.parametrize("hold_to_talk", [False, True])
@pytest.mark.parametrize("seed", range(20))
def test_when_the_code_runs_does_not_change_the_gestures(seed, hold_to_talk):
    """Edges processed in bursts at random, late moments (a loaded CPU) read like punctual ones."""
    rng = random.Random(seed)
    edges, expected, end = script(rng, 30, hold_to_talk)
    clf = classifier(long_press_s=0.45 if not hold_to_talk else 1.5, hold_to_talk=hold_to_talk, tap_max_s=0.27)
    got, now, i = [], 0.0, 0
    while i < len(edges) or clf.deadline is not None:
        now += rng.uniform(0.0, 0.6)  # the moment the loop gets to run: anything up to 600 ms late
        while i < len(edges) and edges[i][1] <= now:
            down, t = edges[i]
            got += clf.press(t) if down else clf.release(t)
            i += 1
        got += clf.advance(now)
        if now > end + 10:
            break
    assert names(got) == expected
    assert [e.gesture for e in got].count(G.PRESSED) == sum(1 for down, _ in edges if down)
