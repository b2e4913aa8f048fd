"""The ``controls:`` section: the button, its gestures, the status LED and the RGB language LED.

Kept apart from the rest of the schema because ``show-config-error`` validates this section
alone (the LED must blink the config-error pattern even when the rest of the file is broken).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from .base import ConfigError, bounded, show


class GestureAction(enum.StrEnum):
    """What a gesture does (``controls.gestures.*``); the YAML spells them as these values."""

    NEXT_LANGUAGE = "next-language"
    REPLAY = "replay"
    NEXT_MODE = "next-mode"
    STOP = "stop"
    NONE = "none"


_GPIO = {"min": 0, "max": 27}  # BCM numbers on the 40-pin header (the same on every Pi since the B+)


@dataclass(frozen=True)
class ButtonConfig:
    pin: int = bounded(17, **_GPIO)
    """BCM GPIO of the push button (GPIO 17 = header pin 11); the other side of the button goes to ground."""
    pull_up: bool = True
    """true: internal pull-up, button to ground. false: internal pull-down, button to 3.3 V."""
    debounce_ms: int = bounded(20, min=0, max=200)
    """Contact bounce ignored after an edge, in milliseconds (0: none)."""
    long_press_s: float = bounded(1.5, min=0.5, max=10.0)
    """A press held this long is a long press, fired as soon as the hold reaches it (not on release)."""
    multi_press_gap_s: float = bounded(0.4, min=0.15, max=1.5)
    """Longest pause between the presses of a double or triple press; a tap is only final after it."""
    hold_to_talk: bool = False
    """Push to talk: holding the button is talking (talk_start, talk_end on release); taps still work and
    the long press goes away (put next-mode on triple_press)."""
    tap_max_s: float = bounded(0.3, min=0.1, max=1.0)
    """hold_to_talk only: a press shorter than this is a tap, a longer one is talking."""


@dataclass(frozen=True)
class GesturesConfig:
    short_press: GestureAction = GestureAction.NEXT_LANGUAGE
    """What one tap does: next-language, replay, next-mode, stop or none."""
    double_press: GestureAction = GestureAction.REPLAY
    """What two quick taps do (same choices)."""
    triple_press: GestureAction = GestureAction.NEXT_MODE
    """What three quick taps do (same choices); with hold_to_talk the way to switch modes."""
    long_press: GestureAction = GestureAction.NEXT_MODE
    """What a long press does (same choices); no long press exists with hold_to_talk."""


@dataclass(frozen=True)
class StatusLedConfig:
    pin: int | None = bounded(27, **_GPIO)
    """BCM GPIO of the status LED (GPIO 27 = header pin 13, through a resistor); null: no status LED."""
    active_high: bool = True
    """true: the pin drives the LED's anode (on = 3.3 V). false: LED wired from 3.3 V into the pin."""
    brightness: float = bounded(1.0, min=0.05, max=1.0)
    """On level 0.05..1; below 1 the LED is dimmed with (software) PWM."""


@dataclass(frozen=True)
class LanguageLedConfig:
    red_pin: int | None = bounded(None, **_GPIO)
    """BCM GPIO of the RGB LED's red leg (suggested: 22); null: no RGB LED fitted."""
    green_pin: int | None = bounded(None, **_GPIO)
    """BCM GPIO of the green leg (suggested: 23)."""
    blue_pin: int | None = bounded(None, **_GPIO)
    """BCM GPIO of the blue leg (suggested: 24)."""
    active_high: bool = True
    """true: common-cathode RGB LED (common leg to ground). false: common-anode (common leg to 3.3 V)."""
    colours: dict[str, str] = field(default_factory=dict)
    """Language code -> colour ('#rrggbb' or red, orange, yellow, green, cyan, blue, purple, magenta,
    pink, white), overriding the built-in palette."""

    @property
    def fitted(self) -> bool:
        return self.red_pin is not None

    def __post_init__(self) -> None:
        pins = (self.red_pin, self.green_pin, self.blue_pin)
        if any(p is None for p in pins) and any(p is not None for p in pins):
            raise ConfigError("controls.language_led: set all of red_pin, green_pin and blue_pin, or none of them")
        for code, colour in self.colours.items():
            try:
                parse_colour(colour)
            except ValueError:
                raise ConfigError(f"controls.language_led.colours.{code}: expected a colour such as '#ff8800' "
                                  f"or one of {', '.join(COLOUR_NAMES)}, got {show(colour)}") from None


@dataclass(frozen=True)
class ControlsConfig:
    enabled: bool = True
    """Use the button and LEDs when GPIO is there; a machine without GPIO runs without them."""
    button: ButtonConfig = field(default_factory=ButtonConfig)
    gestures: GesturesConfig = field(default_factory=GesturesConfig)
    volume_up_pin: int | None = bounded(None, **_GPIO)
    """BCM GPIO of an optional volume-up button (to ground, like the main button); null: none."""
    volume_down_pin: int | None = bounded(None, **_GPIO)
    """BCM GPIO of an optional volume-down button; null: none."""
    status_led: StatusLedConfig = field(default_factory=StatusLedConfig)
    language_led: LanguageLedConfig = field(default_factory=LanguageLedConfig)

    def __post_init__(self) -> None:
        used: dict[int, str] = {}
        for name, pin in self.pins().items():
            if pin in used:
                raise ConfigError(f"controls.{name}: GPIO {pin} is already used by controls.{used[pin]}")
            used[pin] = name

    def pins(self) -> dict[str, int]:
        """Every GPIO in use, by key path below controls."""
        named = {
            "button.pin": self.button.pin,
            "volume_up_pin": self.volume_up_pin,
            "volume_down_pin": self.volume_down_pin,
            "status_led.pin": self.status_led.pin,
            "language_led.red_pin": self.language_led.red_pin,
            "language_led.green_pin": self.language_led.green_pin,
            "language_led.blue_pin": self.language_led.blue_pin,
        }
        return {name: pin for name, pin in named.items() if pin is not None}


COLOUR_NAMES = {
    "red": "#ff0000", "orange": "#ff5a00", "yellow": "#ffc800", "green": "#00ff00", "cyan": "#00c8ff",
    "blue": "#0000ff", "purple": "#8000ff", "magenta": "#ff00ff", "pink": "#ff0060", "white": "#ffffff",
}
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def parse_colour(text: str) -> tuple[float, float, float]:
    """'#rrggbb' or a name from COLOUR_NAMES -> (red, green, blue), each 0..1. ValueError otherwise."""
    text = COLOUR_NAMES.get(text.lower(), text)
    if not _HEX_COLOUR.match(text):
        raise ValueError(text)
    return (int(text[1:3], 16) / 255, int(text[3:5], 16) / 255, int(text[5:7], 16) / 255)
