"""The status LED (one pattern per State) and the optional RGB language LED.

Patterns are step lists, ``((level, seconds), ...)``, repeated. gpiozero's ``blink()`` repeats a
single on/off pair, which cannot show counted codes ("two flashes, pause": the microphone), and counted
codes are what a person can tell apart and repeat over the phone. So each LED has one player
(controls/player.py): a background thread that plays its step list the way gpiozero's own blink thread
does, writing the pin only when the level changes and never touching the event loop. The daemon does
nothing per blink.

The patterns (docs/hardware.md shows the same table, for people):

    starting       fast even blink, 5 per second          (0.1 s on, 0.1 s off)
    connecting     even blink, once a second              (0.5 s on, 0.5 s off)
    listening      steady on: ready, speak now
    hearing        on, with a short dark dip 2.5x/second   (0.3 s on, 0.1 s off)
    speaking       on, with a double dip every second     (0.7 on, 0.1 off, 0.1 on, 0.1 off)
    offline        1 flash, pause                         (0.2 s on, 1.5 s off)
    mic-missing    2 flashes, pause                       (0.2 on, 0.3 off, 0.2 on, 1.5 off)
    auth-error     3 flashes, pause
    budget-spent   long, short, pause                     (1.0 on, 0.3 off, 0.2 on, 1.5 off)
    config-error   4 flashes, pause
    clock-unset    5 flashes, pause: the clock is not set yet, so TLS cannot work (waits for NTP)
    speaker-missing 2 long flashes, pause                 (0.6 on, 0.3 off, 0.6 on, 1.5 off)
    key-unusable   6 flashes, pause
"""

from __future__ import annotations

import colorsys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from gpiozero import LED, PWMLED, RGBLED

from ..config import ControlsConfig, Mode, parse_colour
from ..state import Facts, State
from .player import STEADY, Player, PlayerFactory, PlayerLike, Steps

CONFIG_ERROR = "config-error"
"""The pattern name shown by `show-config-error` when polybot.yaml is invalid (not a State)."""


@dataclass(frozen=True)
class Pattern:
    name: str
    steps: Steps
    meaning: str


def _code(n: int) -> Steps:
    """n flashes of 0.2 s, 0.3 s apart, then 1.5 s dark: a fault code a person can count."""
    return ((1, 0.2), (0, 0.3)) * (n - 1) + ((1, 0.2), (0, 1.5))


PATTERNS: dict[State | str, Pattern] = {p.name if p.name == CONFIG_ERROR else State(p.name): p for p in (
    Pattern("starting", ((1, 0.1), (0, 0.1)), "starting up"),
    Pattern("connecting", ((1, 0.5), (0, 0.5)), "connecting to the translation service"),
    Pattern("listening", ((1, STEADY),), "ready: speak now"),
    Pattern("hearing", ((1, 0.3), (0, 0.1)), "hearing speech"),
    Pattern("speaking", ((1, 0.7), (0, 0.1), (1, 0.1), (0, 0.1)), "speaking the translation"),
    Pattern("offline", _code(1), "offline: no network or service, reconnecting by itself"),
    Pattern("mic-missing", _code(2), "microphone missing: plug it in (it is picked up by itself)"),
    Pattern("auth-error", _code(3), "API key refused or quota used up: check the key / the account"),
    Pattern("budget-spent", ((1, 1.0), (0, 0.3), (1, 0.2), (0, 1.5)),
            "daily budget reached: translation paused until local midnight or a higher cost.daily_limit"),
    Pattern(CONFIG_ERROR, _code(4), "polybot.yaml is invalid: run `polybot-device check-config`"),
    Pattern("clock-unset", _code(5), "clock not set: waiting for the network time (NTP) before TLS can work"),
    Pattern("speaker-missing", ((1, 0.6), (0, 0.3), (1, 0.6), (0, 1.5)),
            "speaker missing or stalled: check it (it is opened again by itself)"),
    Pattern("key-unusable", _code(6), "API key unusable (a character no key has): check the key file"),
)}

# Confirmation flashes, played once over the current pattern (then it resumes).
LANGUAGE_FLASH = ((1, 0.15), (0, 0.1)) * 3
"""RGB: three quick flashes in the language's colour, then the colour stays on."""
MODE_FLASHES = {Mode.ONE_WAY: 1, Mode.CONVERSATION: 2}
"""Mode confirmation: white flashes on the RGB LED (or the status LED): 1 one-way, 2 conversation, 3 other."""

# Built-in language colours (configurable: controls.language_led.colours). Others get a stable hue.
PALETTE: dict[str, tuple[float, float, float]] = {
    "en": (0.0, 0.0, 1.0), "es": (1.0, 0.35, 0.0), "fr": (0.5, 0.0, 1.0), "de": (1.0, 0.8, 0.0),
    "it": (0.0, 1.0, 0.0), "pt": (0.0, 1.0, 0.6), "zh": (1.0, 0.0, 0.0), "ja": (1.0, 0.0, 0.4),
    "ko": (0.0, 0.8, 1.0), "ru": (1.0, 1.0, 1.0), "ar": (0.6, 1.0, 0.0), "hi": (1.0, 0.0, 1.0),
}
WHITE = (1.0, 1.0, 1.0)
BLACK = (0.0, 0.0, 0.0)


def language_colour(code: str, overrides: dict[str, str] | None = None) -> tuple[float, float, float]:
    """The colour of a language: the override, the palette ('pt-BR' falls back to 'pt'), or a hue
    derived from the code (the same on every boot)."""
    base = code.split("-")[0].lower()
    for key in (code, base):
        if overrides and key in overrides:
            return parse_colour(overrides[key])
    for key in (code, base):
        if key in PALETTE:
            return PALETTE[key]
    hue = (zlib.crc32(code.encode()) % 360) / 360
    return colorsys.hsv_to_rgb(hue, 1.0, 1.0)


class StatusLight:
    """Shows the State on the status LED, and the language on the RGB LED where one is fitted.

    Use ``status.subscribe(light.on_state)``. Every method is safe from any thread and returns at once.
    ``player`` makes each LED's player (tests pass one that runs on a clock of their own).
    """

    def __init__(self, config: ControlsConfig, languages: Sequence[str] = (), player: PlayerFactory = Player) -> None:
        self._languages = tuple(languages)
        self._colours = dict(config.language_led.colours)
        self.pattern: str | None = None
        """Name of the pattern being shown (a State's value or 'config-error')."""
        self._led: LED | PWMLED | None = None
        self._rgb: RGBLED | None = None
        self._status: PlayerLike | None = None
        self._colour: PlayerLike | None = None
        try:
            led = config.status_led
            if led.pin is not None:
                if led.brightness < 1.0:
                    self._led = PWMLED(led.pin, active_high=led.active_high)
                else:
                    self._led = LED(led.pin, active_high=led.active_high)
                level = led.brightness
                device = self._led
                self._status = player(lambda v: setattr(device, "value", v * level), "status-led", 0)
            rgb = config.language_led
            if rgb.fitted:
                self._rgb = RGBLED(rgb.red_pin, rgb.green_pin, rgb.blue_pin, active_high=rgb.active_high)
                rgb_device = self._rgb
                self._colour = player(lambda v: setattr(rgb_device, "value", v), "language-led", BLACK)
        except BaseException:
            self.close()
            raise

    def on_state(self, state: State, facts: Facts | None = None) -> None:
        """StatusModel listener: show the pattern of ``state``."""
        self.show(state)

    def show(self, which: State | str) -> None:
        """Show a State's pattern, or CONFIG_ERROR (which the RGB LED mirrors in red)."""
        pattern = PATTERNS[which]
        self.pattern = pattern.name
        if self._status is not None:
            self._status.loop(pattern.steps)
        if which == CONFIG_ERROR and self._colour is not None:
            self._colour.loop(tuple(((1.0, 0.0, 0.0) if level else BLACK, s) for level, s in pattern.steps))

    def show_config_error(self) -> None:
        self.show(CONFIG_ERROR)

    def show_language(self, code: str) -> None:
        """The RGB LED shows ``code``'s colour, steadily (no-op without an RGB LED)."""
        if self._colour is not None:
            self._colour.loop(((language_colour(code, self._colours), STEADY),))

    def confirm_language(self, code: str) -> None:
        """A new language was chosen: RGB: 3 quick flashes in its colour, then steady. Status LED only:
        as many quick flashes as the language's place in `languages` (1 = the first)."""
        self.show_language(code)
        if self._colour is not None:
            colour = language_colour(code, self._colours)
            self._colour.once(tuple((colour if level else BLACK, s) for level, s in LANGUAGE_FLASH))
        elif self._status is not None:
            place = self._languages.index(code) + 1 if code in self._languages else 1
            self._status.once(_flashes(place, 0.15, 0.15))

    def confirm_mode(self, mode: Mode) -> None:
        """A new mode was chosen: white flashes (1 one-way, 2 conversation, 3 any other), on the RGB LED
        if fitted, else on the status LED; then back to what was shown."""
        steps = _flashes(MODE_FLASHES.get(mode, 3), 0.3, 0.2)
        if self._colour is not None:
            self._colour.once(tuple((WHITE if level else BLACK, s) for level, s in steps))
        elif self._status is not None:
            self._status.once(steps)

    def close(self) -> None:
        """Stop the patterns, turn the LEDs off and release their pins."""
        for player in (self._status, self._colour):
            if player is not None:
                player.close()
        for device in (self._led, self._rgb):
            if device is not None:
                device.close()
        self._status = self._colour = None
        self._led = self._rgb = None


def _flashes(n: int, on_s: float, off_s: float) -> Steps:
    """n flashes framed by darkness, so they read against a steady-on LED too."""
    return ((0, 0.4),) + ((1, on_s), (0, off_s)) * n + ((0, 0.4),)
