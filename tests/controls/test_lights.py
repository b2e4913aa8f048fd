"""What the LEDs do, read back from the mock pins.

The patterns play on a clock the test turns (tests/controls/stepped.py): each step is taken at the
moment it is due, so a rhythm is compared exactly and a wrong length by a millisecond shows. One
test runs the real player thread on real time, for what only the thread can show."""

import pytest

from polybot_device.config import parse_config
from polybot_device.controls import CONFIG_ERROR, StatusLight
from polybot_device.state import Activity, Link, State, StatusModel
from tests.controls.stepped import SteppedClock
from tests.rig.timing import eventually

RGB = (22, 23, 24)


def flashes(n):
    return [(1, 0.2), (0, 0.3)] * (n - 1) + [(1, 0.2), (0, 1.5)]


# The documented patterns (docs/hardware.md), written out here independently of the code.
DOCUMENTED = {
    "starting": [(1, 0.1), (0, 0.1)],
    "connecting": [(1, 0.5), (0, 0.5)],
    "listening": [(1, None)],  # steady on
    "hearing": [(1, 0.3), (0, 0.1)],
    "speaking": [(1, 0.7), (0, 0.1), (1, 0.1), (0, 0.1)],
    "offline": flashes(1),
    "mic-missing": flashes(2),
    "auth-error": flashes(3),
    "config-error": flashes(4),
    "clock-unset": flashes(5),
    "speaker-missing": [(1, 0.6), (0, 0.3), (1, 0.6), (0, 1.5)],
    "budget-spent": [(1, 1.0), (0, 0.3), (1, 0.2), (0, 1.5)],
    "key-unusable": flashes(6),
}


def controls(**section):
    return parse_config({"controls": section}).controls


def cycles(pattern, seconds):
    """``pattern`` repeated for ``seconds``: what a pin shows over that time, the level it has at the
    end last with None."""
    out, t = [], 0.0
    while True:
        for level, length in pattern:
            if length is None or t + length > seconds + 1e-9:
                return merge(out + [(level, None)])
            out.append((level, length))
            t += length


def merge(history):
    """Adjacent steps of one level are one stretch of light, as a pin shows them."""
    out = []
    for level, length in history:
        if out and out[-1][0] == level:
            out[-1] = (level, None if length is None or out[-1][1] is None else round(out[-1][1] + length, 9))
        else:
            out.append((level, length))
    return out


def same(observed, expected):
    """Histories equal, levels and lengths (to a nanosecond: the clock adds floats)."""
    return len(observed) == len(expected) and all(
        level == want and (length == want_length or (length is not None and want_length is not None
                                                     and abs(length - want_length) < 1e-9))
        for (level, length), (want, want_length) in zip(observed, expected, strict=True))


def test_each_state_has_its_documented_pattern_and_no_two_look_alike(pins):
    """Every pattern plays at once, each on its own LED, for two cycles of the longest."""
    clock = SteppedClock(pins)
    lights = {}
    for n, name in enumerate(DOCUMENTED):
        lights[name] = StatusLight(controls(status_led={"pin": 4 + n}), player=clock.player)  # 4..13: no pull-ups
    clock.watch(*range(4, 4 + len(DOCUMENTED)))
    for name, light in lights.items():
        light.show(CONFIG_ERROR if name == CONFIG_ERROR else State(name))
    clock.run(8.5)  # the longest cycle (6 flashes + pause) is 4.2 s
    signatures = set()
    for n, (name, pattern) in enumerate(DOCUMENTED.items()):
        observed = clock.history(4 + n)
        assert lights[name].pattern == name
        assert observed[0] == (0, 0.0)  # dark until the pattern began, and it began at once
        assert same(observed[1:], cycles(pattern, 8.5)), f"{name}: {observed[1:12]}"
        signatures.add(tuple(observed[1:1 + len(pattern)]))
    for light in lights.values():
        light.close()
    assert len(signatures) == len(DOCUMENTED)


def test_a_pattern_that_is_shown_again_keeps_its_rhythm(pins):
    """The status model re-announces a state (a reconnect that changes nothing): no restarted blink."""
    clock = SteppedClock(pins)
    light = StatusLight(controls(), player=clock.player)
    clock.watch(27)
    light.show(State.CONNECTING)
    clock.run(0.3)
    light.show(State.CONNECTING)
    clock.run(1.2)
    assert same(clock.history(27)[1:], cycles(DOCUMENTED["connecting"], 1.5))


def test_the_light_follows_the_status_model_at_once(pins):
    clock = SteppedClock(pins)
    light = StatusLight(controls(), player=clock.player)
    clock.watch(27)
    model = StatusModel()
    model.subscribe(light.on_state)  # shows the model's state at once: starting
    assert light.pattern == "starting"
    clock.run(0.25)
    model.update(started=True, link=Link.UP)  # no time passes between the change and the light
    assert light.pattern == "listening" and pins.pin(27).state == 1
    clock.run(1.0)
    model.update(activity=Activity.HEARING)
    clock.run(0.9)
    assert same(clock.history(27), [(0, 0.0), (1, 0.1), (0, 0.1), (1, 0.05 + 1.0 + 0.3), (0, 0.1), (1, 0.3),
                                    (0, 0.1), (1, None)])
    light.close()
    assert pins.pin(27).state == 0 and pins.pin(27).function == "input"  # dark, and the pin is released


def test_the_player_thread_plays_on_its_own_and_stops_dark(pins):
    """The real thread on real time: it shows a change without being asked twice, blinks by itself,
    and closing it leaves the LED dark. (Lengths are the clock-driven tests' business.)"""
    light = StatusLight(controls())
    led = pins.pin(27)
    model = StatusModel()
    model.subscribe(light.on_state)
    try:
        model.update(started=True, link=Link.UP)
        eventually(lambda: led.state == 1, 2, "the LED steady on for listening")
        led.clear_states()
        model.update(activity=Activity.HEARING)  # 0.3 s on, 0.1 s off, ...
        levels = eventually(lambda: [p.state for p in led.states], 5, "two dips of the hearing pattern",
                            until=lambda levels: len(levels) >= 5)
        assert levels[:5] == [1, 0, 1, 0, 1]
    finally:
        light.close()
    assert led.state == 0 and led.function == "input"


def test_a_dimmed_or_inverted_led_shows_the_same_pattern(pins):
    clock = SteppedClock(pins)
    dim = StatusLight(controls(status_led={"pin": 27, "brightness": 0.3}), player=clock.player)
    inverted = StatusLight(controls(status_led={"pin": 26, "active_high": False}, button={"pin": 16}),
                           player=clock.player)
    clock.watch(27, 26)
    for light in (dim, inverted):
        light.show(State.CONNECTING)
    clock.run(1.2)
    dim.close()
    inverted.close()
    assert same(clock.history(27), [(0, 0.0), (0.3, 0.5), (0, 0.5), (0.3, 0.2), (0, None)])  # closed at 1.2 s
    # Wired from 3.3 V into the pin: the LED is lit while the pin is low.
    assert same([(1 - level, s) for level, s in clock.history(26)], [(0, 0.0), (1, 0.5), (0, 0.5), (1, 0.2), (0, None)])


def rgb(pins):
    return tuple(pins.pin(p).state for p in RGB)


def test_each_language_has_a_colour_and_the_config_can_change_it(pins):
    clock = SteppedClock(pins)
    light = StatusLight(controls(language_led={"red_pin": 22, "green_pin": 23, "blue_pin": 24,
                                               "colours": {"es": "#00ff00", "de": "purple"}}), player=clock.player)
    seen = {}
    for code in ("en", "es", "de", "fr", "pt-BR", "xx", "pt"):
        light.show_language(code)  # at once: no time passes
        seen[code] = rgb(pins)
    assert seen["en"] == (0, 0, 1)  # built-in palette
    assert seen["es"] == (0, 1, 0)  # overridden with '#00ff00'
    assert seen["de"] == (128 / 255, 0, 1)  # overridden with a name
    assert seen["pt-BR"] == seen["pt"]  # a regional code takes its language's colour
    assert len({seen[c] for c in ("en", "es", "de", "fr", "pt", "xx")}) == 6
    light.show_language("xx")
    assert rgb(pins) == seen["xx"]  # a code without a colour gets the same one every time
    clock.run(10)
    assert rgb(pins) == seen["xx"]  # and keeps it
    light.close()
    assert rgb(pins) == (0, 0, 0)


def test_confirming_a_language_flashes_its_colour_three_times_then_stays(pins):
    clock = SteppedClock(pins)
    light = StatusLight(controls(language_led={"red_pin": 22, "green_pin": 23, "blue_pin": 24}), player=clock.player)
    clock.watch(*RGB)
    light.confirm_language("en")
    clock.run(1.0)
    assert same(clock.history(24), [(0, 0.0)] + [(1, 0.15), (0, 0.1)] * 3 + [(1, None)])
    assert rgb(pins) == (0, 0, 1)
    clock.watch(*RGB)
    light.confirm_mode("conversation")  # two white flashes, then the language colour again
    clock.run(2.0)
    white = [(1, 0.3), (0, 0.2), (1, 0.3)]
    assert same(clock.history(22), [(0, 0.4)] + white + [(0, None)])
    assert same(clock.history(24), [(1, 0.0), (0, 0.4)] + white + [(0, 0.6), (1, None)])
    assert rgb(pins) == (0, 0, 1)
    light.close()


def test_without_an_rgb_led_the_status_led_counts_the_language_and_mode(pins):
    clock = SteppedClock(pins)
    light = StatusLight(controls(), languages=("es", "en", "fr"), player=clock.player)
    light.show(State.LISTENING)
    clock.watch(27)
    light.confirm_language("fr")  # third language: three flashes, then steady on again
    clock.run(1.9)
    assert same(clock.history(27), [(1, 0.0), (0, 0.4), (1, 0.15), (0, 0.15), (1, 0.15), (0, 0.15),
                                    (1, 0.15), (0, 0.55), (1, None)])
    clock.watch(27)
    light.confirm_mode("one-way")  # one flash
    clock.run(1.5)
    assert same(clock.history(27), [(1, 0.0), (0, 0.4), (1, 0.3), (0, 0.6), (1, None)])
    light.close()


def test_a_state_change_during_a_confirmation_shows_after_it(pins):
    clock = SteppedClock(pins)
    light = StatusLight(controls(), languages=("es", "en"), player=clock.player)
    light.show(State.LISTENING)
    clock.watch(27)
    light.confirm_language("en")
    clock.run(0.2)
    light.show(State.OFFLINE)
    clock.run(1.8)
    assert same(clock.history(27), [(1, 0.0), (0, 0.4), (1, 0.15), (0, 0.15), (1, 0.15), (0, 0.55),
                                    (1, 0.2), (0, None)])
    light.close()


def test_the_config_error_pattern_shows_in_red_on_the_rgb_led_too(pins):
    clock = SteppedClock(pins)
    light = StatusLight(controls(language_led={"red_pin": 22, "green_pin": 23, "blue_pin": 24}), player=clock.player)
    clock.watch(27, *RGB)
    light.show_config_error()
    clock.run(4.0)
    assert same(clock.history(22), [(0, 0.0)] + cycles(flashes(4), 4.0))
    assert same(clock.history(27), [(0, 0.0)] + cycles(flashes(4), 4.0))  # the status LED in step with it
    assert clock.history(23) == clock.history(24) == [(0, None)]  # green and blue stay dark
    light.close()


def test_no_leds_configured_is_fine(pins):
    light = StatusLight(controls(status_led={"pin": None}))
    light.show(State.AUTH_ERROR)
    light.confirm_language("es")
    light.confirm_mode("one-way")
    light.close()


@pytest.mark.parametrize("brightness", [1.0, 0.5])
def test_a_plain_mock_pin_is_enough_for_a_full_brightness_led(plain_pins, brightness):
    from gpiozero.exc import PinPWMUnsupported

    if brightness < 1:
        with pytest.raises(PinPWMUnsupported):  # dimming needs PWM; gpiozero says so, we do not hide it
            StatusLight(controls(status_led={"brightness": brightness}))
        assert plain_pins.pin(27).function == "input"
    else:
        StatusLight(controls()).close()
