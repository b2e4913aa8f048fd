"""The gadget's controls: one push button (gestures), a status LED, optionally an RGB language LED.

The daemon calls :func:`build_controls` once on the event loop. A machine without GPIO (a laptop
running the demo) gets None and one log line, and runs without them.
"""

from __future__ import annotations

import asyncio
import logging
import warnings

from gpiozero.exc import GPIOZeroError, PinFactoryFallback

from ..config import Config, Mode
from ..state import StatusModel
from .button import Gestures, OnGesture
from .gpio import fallback_reasons, is_a_pi
from .lights import CONFIG_ERROR, PATTERNS, StatusLight, language_colour
from .presses import ButtonEvent, Gesture

__all__ = ["ButtonEvent", "CONFIG_ERROR", "Controls", "Gesture", "Gestures", "PATTERNS", "StatusLight",
           "build_controls", "language_colour"]

log = logging.getLogger(__name__)

NO_GPIO = "no GPIO here: running without button and LEDs"


class Controls:
    """The button's gestures and the lights, built together and released together."""

    def __init__(self, gestures: Gestures, light: StatusLight) -> None:
        self.gestures = gestures
        self.light = light

    def show_language(self, code: str) -> None:
        self.light.show_language(code)

    def confirm_language(self, code: str) -> None:
        self.light.confirm_language(code)

    def confirm_mode(self, mode: Mode) -> None:
        self.light.confirm_mode(mode)

    def close(self) -> None:
        """Release every pin (call on the loop thread); the LEDs go dark."""
        self.gestures.close()
        self.light.close()


def build_controls(config: Config, loop: asyncio.AbstractEventLoop, on_gesture: OnGesture,
                   status: StatusModel) -> Controls | None:
    """Button and LEDs, or None where there are none: GPIO missing (logged once, at info) or unusable
    (a warning naming why), or ``controls.enabled: false``. ``on_gesture(event)`` runs on ``loop``."""
    c = config.controls
    if not c.enabled:
        log.info("controls.enabled is false: running without button and LEDs")
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            controls = _build(config, loop, on_gesture)
        except ImportError:  # gpiozero's BadPinFactory is one: no pin library works here
            controls = None
            _log_no_gpio(caught)
        except (GPIOZeroError, OSError) as exc:  # pin busy, no permission on /dev/gpiochip*, ...
            controls = None
            log.warning("GPIO unusable (%s: %s): running without button and LEDs", type(exc).__name__, exc)
    for w in caught:  # give back the warnings that were not gpiozero's factory search
        if not issubclass(w.category, PinFactoryFallback):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if controls is not None:
        status.subscribe(controls.light.on_state)
    return controls


def _build(config: Config, loop: asyncio.AbstractEventLoop, on_gesture: OnGesture) -> Controls:
    c = config.controls
    light = StatusLight(c, config.languages)
    try:
        gestures = Gestures(c.button, c.gestures, loop, on_gesture,
                            volume_up_pin=c.volume_up_pin, volume_down_pin=c.volume_down_pin)
    except BaseException:
        light.close()
        raise
    return Controls(gestures, light)


def _log_no_gpio(caught: list[warnings.WarningMessage]) -> None:
    reasons = fallback_reasons(caught)
    if is_a_pi():  # a Pi without usable GPIO is a fault (library missing, no access), not a laptop
        log.warning("GPIO unusable (%s): running without button and LEDs", reasons or "no pin factory")
    else:
        log.info(NO_GPIO)
        log.debug("gpiozero: %s", reasons)
