"""What the LEDs do, read back from the mock pins' recorded history (timestamps and levels)."""

import time

import pytest

from polybot_device.config import parse_config
from polybot_device.controls import CONFIG_ERROR, StatusLight
from polybot_device.state import Activity, Link, State, StatusModel

TOLERANCE_S = 0.04
RGB = (22, 23, 24)


def flashes(n):
    return [(1, 0.2), (0, 0.3)] * (n - 1) + [(1, 0.2), (0, 1.5)]


# The documented patterns (README.md (Button and lights)), written out here independently of the code.
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
}


def controls(**section):
    return parse_config({"controls": section}).controls


def history(pin, since=0.0):
    """[(level, seconds it lasted)] from the pin's record, the last (unfinished) level last with None."""
    states = pin.states
    out = [(states[i].state, states[i + 1].timestamp) for i in range(len(states) - 1)]
    return out + [(states[-1].state, None)]


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def cycle_matches(observed, expected):
    if len(observed) < len(expected):
        return False
    for (level, seconds), (want_level, want_seconds) in zip(observed, expected):
        if level != want_level:
            return False
        if want_seconds is not None and (seconds is None or abs(seconds - want_seconds) > TOLERANCE_S):
            return False
    return True


def test_each_state_has_its_documented_pattern_and_no_two_look_alike(pins):
    """All ten patterns play at once, each on its own LED, for one full cycle and a bit."""
    lights = {}
    for n, name in enumerate(DOCUMENTED):
        light = StatusLight(controls(status_led={"pin": 4 + n}))  # 4..13: no fixed pull-ups
        light.show(CONFIG_ERROR if name == CONFIG_ERROR else State(name))
        lights[name] = light
    time.sleep(4.0)  # the longest cycle (5 flashes + pause) is 3.7 s
    signatures = set()
    try:
        for n, (name, expected) in enumerate(DOCUMENTED.items()):
            observed = history(pins.pin(4 + n))[1:]  # [0] is "off" before the pattern began
            assert lights[name].pattern == name
            assert cycle_matches(observed, expected), f"{name}: {observed[:len(expected)]}"
            if expected[-1][1] is not None:  # a blinking pattern repeats: the next cycle has begun
                assert observed[len(expected)][0] == expected[0][0]
            else:
                assert len(observed) == 1  # steady: no flicker at all
            signatures.add(tuple((level, round(s or 0, 1)) for level, s in observed[:len(expected)]))
    finally:
        for light in lights.values():
            light.close()
    assert len(signatures) == len(DOCUMENTED)


def test_the_light_follows_the_status_model_at_once(pins):
    light = StatusLight(controls())
    model = StatusModel()
    model.subscribe(light.on_state)
    led = pins.pin(27)
    try:
        assert light.pattern == "starting"
        model.update(started=True, link=Link.UP)
        changed = time.monotonic()
        wait_for(lambda: light.pattern == "listening" and led.state == 1)
        assert time.monotonic() - changed < 0.1
        model.update(activity=Activity.HEARING)
        led.clear_states()
        time.sleep(0.9)
        assert cycle_matches(history(led)[1:], [(0, 0.1), (1, 0.3), (0, 0.1)])
    finally:
        light.close()
    assert led.state == 0 and led.function == "input"  # dark, and the pin is released


def test_a_dimmed_or_inverted_led_shows_the_same_pattern(pins):
    dim = StatusLight(controls(status_led={"pin": 27, "brightness": 0.3}))
    inverted = StatusLight(controls(status_led={"pin": 26, "active_high": False}, button={"pin": 16}))
    for light in (dim, inverted):
        light.show(State.CONNECTING)
    time.sleep(1.2)
    dim.close()
    inverted.close()
    assert cycle_matches(history(pins.pin(27))[1:], [(0.3, 0.5), (0, 0.5)])
    # Wired from 3.3 V into the pin: the LED is lit while the pin is low.
    assert cycle_matches([(1 - level, s) for level, s in history(pins.pin(26))[2:]], DOCUMENTED["connecting"])


def rgb(pins):
    return tuple(pins.pin(p).state for p in RGB)


def test_each_language_has_a_colour_and_the_config_can_change_it(pins):
    light = StatusLight(controls(language_led={"red_pin": 22, "green_pin": 23, "blue_pin": 24,
                                               "colours": {"es": "#00ff00", "de": "purple"}}))
    try:
        seen, before = {}, (0, 0, 0)
        for code in ("en", "es", "de", "fr", "pt-BR", "xx", "pt"):
            light.show_language(code)
            if code == "pt":
                time.sleep(0.2)
            else:
                wait_for(lambda: rgb(pins) != before)
            seen[code] = before = rgb(pins)
        assert seen["en"] == (0, 0, 1)  # built-in palette
        assert seen["es"] == (0, 1, 0)  # overridden with '#00ff00'
        assert seen["de"] == (128 / 255, 0, 1)  # overridden with a name
        assert seen["pt-BR"] == seen["pt"]  # a regional code takes its language's colour
        assert len({seen[c] for c in ("en", "es", "de", "fr", "pt", "xx")}) == 6
        light.show_language("xx")
        wait_for(lambda: rgb(pins) == seen["xx"])  # a code without a colour gets the same one every time
    finally:
        light.close()
    assert rgb(pins) == (0, 0, 0)


def test_confirming_a_language_flashes_its_colour_three_times_then_stays(pins):
    light = StatusLight(controls(language_led={"red_pin": 22, "green_pin": 23, "blue_pin": 24}))
    try:
        light.confirm_language("en")
        time.sleep(1.0)
        blue = history(pins.pin(24))[1:]
        assert cycle_matches(blue, [(1, 0.15), (0, 0.1)] * 3 + [(1, None)])
        assert len(blue) == 7 and rgb(pins) == (0, 0, 1)
        for pin in RGB:
            pins.pin(pin).clear_states()
        light.confirm_mode("conversation")  # two white flashes, then the language colour again
        time.sleep(2.0)
        white = [(1, 0.3), (0, 0.2), (1, 0.3)]
        assert cycle_matches(history(pins.pin(22))[1:], white + [(0, None)])
        assert cycle_matches(history(pins.pin(24))[1:], [(0, 0.4)] + white + [(0, 0.6), (1, None)])
        assert rgb(pins) == (0, 0, 1)
    finally:
        light.close()


def test_without_an_rgb_led_the_status_led_counts_the_language_and_mode(pins):
    light = StatusLight(controls(), languages=("es", "en", "fr"))
    led = pins.pin(27)
    try:
        light.show(State.LISTENING)
        wait_for(lambda: led.state == 1)
        led.clear_states()
        light.confirm_language("fr")  # third language: three flashes, then steady on again
        time.sleep(1.9)
        assert cycle_matches(history(led)[1:], [(0, 0.4), (1, 0.15), (0, 0.15), (1, 0.15), (0, 0.15),
                                                (1, 0.15), (0, 0.55), (1, None)])
        led.clear_states()
        light.confirm_mode("one-way")  # one flash
        time.sleep(1.5)
        assert cycle_matches(history(led)[1:], [(0, 0.4), (1, 0.3), (0, 0.6), (1, None)])
    finally:
        light.close()


def test_a_state_change_during_a_confirmation_shows_after_it(pins):
    light = StatusLight(controls(), languages=("es", "en"))
    led = pins.pin(27)
    try:
        light.show(State.LISTENING)
        wait_for(lambda: led.state == 1)
        led.clear_states()
        light.confirm_language("en")
        light.show(State.OFFLINE)
        time.sleep(1.8)
        assert cycle_matches(history(led)[1:], [(0, 0.4), (1, 0.15), (0, 0.15), (1, 0.15), (0, 0.55),
                                          (1, 0.2), (0, None)])
    finally:
        light.close()


def test_the_config_error_pattern_shows_in_red_on_the_rgb_led_too(pins):
    light = StatusLight(controls(language_led={"red_pin": 22, "green_pin": 23, "blue_pin": 24}))
    try:
        light.show_config_error()
        time.sleep(2.2)
        assert cycle_matches(history(pins.pin(22))[1:], flashes(4)[:7])
        assert len(pins.pin(23).states) == len(pins.pin(24).states) == 1  # green and blue stay dark
    finally:
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
