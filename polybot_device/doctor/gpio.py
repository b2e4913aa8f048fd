"""The doctor's GPIO check: one press of the button, then each LED lit in turn.

Plain gpiozero parts on the configured pins (no gestures, no patterns): the question is only
whether the wiring works. Which pin factory is used is gpiozero's choice, as in the daemon (lgpio on
a Pi 5, the mock factory in tests). A pin the running service holds fails to open ("GPIO busy"):
that is said the same way as a busy sound device. Software cannot see an LED light up, so the LED
line says which were lit, in which order, for the person watching to confirm.
"""

from __future__ import annotations

import threading
import time
import warnings
from typing import TextIO

from gpiozero import LED, Button
from gpiozero.exc import GPIOPinInUse, GPIOZeroError

from ..config import ControlsConfig
from .report import Finding, Report, Verdict
from .service import busy_advice

LED_ON_S = 0.6


def run_gpio(controls: ControlsConfig, report: Report, out: TextIO, *, button_timeout_s: float | None) -> None:
    """Adds the button and LED findings; ``button_timeout_s`` None: do not wait for a press."""
    if not controls.enabled:
        report.add(Finding("button and LEDs", Verdict.SKIP, "controls.enabled is false"))
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gpiozero's PinFactoryFallback notes: the outcome says enough
        try:
            _button(controls, report, out, button_timeout_s)
            _leds(controls, report, out)
        except ImportError:  # gpiozero's BadPinFactory: no pin library works on this machine
            report.add(Finding("button and LEDs", Verdict.SKIP, "no GPIO on this machine"))


def _trouble(check: str, pin: int, exc: Exception) -> Finding:
    text = f"GPIO {pin} cannot be used ({type(exc).__name__}: {exc})"
    held = isinstance(exc, GPIOPinInUse) or "busy" in str(exc).lower()  # lgpio: "GPIO busy"
    advice = busy_advice(f"GPIO {pin}") if held else \
        "is the user in the gpio group? (the installer adds the service's user)"
    return Finding(check, Verdict.FAIL, text, advice)


def _button(controls: ControlsConfig, report: Report, out: TextIO, timeout_s: float | None) -> None:
    pin = controls.button.pin
    if timeout_s is None:
        report.add(Finding("button", Verdict.SKIP, f"GPIO {pin}: not asked to press it (--no-button)"))
        return
    try:
        button = Button(pin, pull_up=controls.button.pull_up,
                        bounce_time=controls.button.debounce_ms / 1000 or None)
    except (GPIOZeroError, OSError) as exc:
        if isinstance(exc, ImportError):  # BadPinFactory: no GPIO at all, said once by run_gpio
            raise
        report.add(_trouble("button", pin, exc))
        return
    pressed = threading.Event()
    try:
        button.when_pressed = lambda: pressed.set()
        out.write(f"Press the button (GPIO {pin}) within {timeout_s:g} s...\n")
        out.flush()
        if pressed.wait(timeout_s):
            report.add(Finding("button", Verdict.PASS, f"GPIO {pin}: press seen"))
        else:
            report.add(Finding("button", Verdict.FAIL, f"GPIO {pin}: no press within {timeout_s:g} s",
                               "check the wiring: one leg to GPIO "
                               f"{pin}, the other to {'ground' if controls.button.pull_up else '3.3 V'}"))
    finally:
        button.close()


def _leds(controls: ControlsConfig, report: Report, out: TextIO) -> None:
    rgb = controls.language_led
    wanted = [("status LED", controls.status_led.pin, controls.status_led.active_high)]
    wanted += [(f"language LED {colour}", pin, rgb.active_high)
               for colour, pin in (("red", rgb.red_pin), ("green", rgb.green_pin), ("blue", rgb.blue_pin))]
    lit: list[str] = []
    for name, pin, active_high in wanted:
        if pin is None:
            continue
        try:
            led = LED(pin, active_high=active_high)
        except (GPIOZeroError, OSError) as exc:
            if isinstance(exc, ImportError):
                raise
            report.add(_trouble("LEDs", pin, exc))
            return
        try:
            out.write(f"Lighting the {name} (GPIO {pin})\n")
            out.flush()
            led.on()
            time.sleep(LED_ON_S)  # a person watches each LED; nothing else runs meanwhile
            led.off()
        finally:
            led.close()
        lit.append(f"{name} (GPIO {pin})")
    if not lit:
        report.add(Finding("LEDs", Verdict.SKIP, "no LED configured"))
        return
    report.add(Finding("LEDs", Verdict.PASS, "lit in turn: " + ", ".join(lit),
                       "did each one light up? if not, check its resistor and which leg goes to ground"))
