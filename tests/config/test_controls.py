"""The controls: section of polybot.yaml: defaults, errors that name the key, and the docs."""

from pathlib import Path

import pytest

from polybot_device.config import ConfigError, ControlsConfig, all_key_paths, load_config, parse_config
from polybot_device.controls import PATTERNS, Gesture

REPO = Path(__file__).resolve().parents[2]
DOCS = (REPO / "docs" / "hardware.md").read_text()


def test_defaults_are_the_documented_wiring():
    c = parse_config({}).controls
    assert (c.button.pin, c.button.pull_up, c.status_led.pin) == (17, True, 27)
    assert not c.language_led.fitted and c.volume_up_pin is None and c.volume_down_pin is None
    assert (c.button.long_press_s, c.button.multi_press_gap_s, c.button.hold_to_talk) == (1.5, 0.4, False)
    g = c.gestures
    assert (g.short_press, g.double_press, g.triple_press, g.long_press) == \
        ("next-language", "replay", "next-mode", "next-mode")


def test_the_example_config_shows_the_defaults():
    assert load_config(REPO / "config" / "polybot.example.yaml").controls == ControlsConfig()


def test_an_rgb_led_with_colour_overrides():
    c = parse_config({"controls": {"language_led": {"red_pin": 22, "green_pin": 23, "blue_pin": 24,
                                                    "active_high": False, "colours": {"es": "orange"}}}})
    assert c.controls.language_led.fitted and c.controls.language_led.colours == {"es": "orange"}


@pytest.mark.parametrize("section,expected", [
    ({"button": {"pin": 40}}, "controls.button.pin: expected an integer from 0 to 27, got 40"),
    ({"button": {"long_press_s": "long"}}, "controls.button.long_press_s: expected a number, got 'long'"),
    ({"button": {"hold_to_talk": "yes"}}, "controls.button.hold_to_talk: expected true or false"),
    ({"gestures": {"double_press": "rewind"}},  # an unknown action is refused, with the choices
     "controls.gestures.double_press: expected one of next-language, replay, next-mode, stop, none, got 'rewind'"),
    ({"gestures": {"long_pres": "stop"}}, "controls.gestures.long_pres: unknown key (did you mean 'long_press'?)"),
    ({"volume_up_pin": 17}, "controls.volume_up_pin: GPIO 17 is already used by controls.button.pin"),
    ({"status_led": {"brightness": 0}}, "controls.status_led.brightness: expected a number from 0.05 to 1"),
    ({"language_led": {"red_pin": 22}}, "controls.language_led: set all of red_pin, green_pin and blue_pin"),
    ({"language_led": {"colours": ["es"]}}, "controls.language_led.colours: expected a mapping"),
    ({"language_led": {"colours": {"es": 3}}}, "controls.language_led.colours.es: expected a non-empty string, got 3"),
    ({"language_led": {"colours": {"es": "blurple"}}},
     "controls.language_led.colours.es: expected a colour such as '#ff8800' or one of red"),
])
def test_each_bad_controls_value_is_named_by_its_key_path(section, expected):
    with pytest.raises(ConfigError) as err:
        parse_config({"controls": section})
    assert expected in str(err.value)


def test_the_docs_cover_every_pattern_gesture_and_key():
    for name in (p.name for p in PATTERNS.values()):
        assert f"| `{name}` |" in DOCS, f"LED pattern {name} missing from docs/hardware.md"
    for gesture in Gesture:
        assert f"`{gesture.value}`" in DOCS, f"gesture {gesture.value} missing from docs/hardware.md"
    for action in ("next-language", "replay", "next-mode", "stop", "none"):
        assert f"`{action}`" in DOCS
    explained = ("pin", "pull_up", "long_press_s", "multi_press_gap_s", "hold_to_talk", "tap_max_s",
                 "active_high", "colours")
    for path in all_key_paths():
        leaf = path.split(".")[-1]
        if path.startswith("controls.") and (leaf.endswith("pin") or leaf in explained or ".gestures." in path):
            assert leaf in DOCS, f"{path} missing from docs/hardware.md"
