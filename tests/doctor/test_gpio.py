"""The button and LED check on gpiozero's mock pins."""

from __future__ import annotations

import io

from gpiozero import Button

from polybot_device.config import ControlsConfig
from polybot_device.doctor.gpio import run_gpio
from polybot_device.doctor.report import Report, Verdict


def test_no_press_within_the_timeout_fails_and_says_how_the_button_is_wired(pins):
    report = Report()
    run_gpio(ControlsConfig(), report, io.StringIO(), button_timeout_s=0.3)
    button = report.findings[0]
    assert button.verdict is Verdict.FAIL and "no press within 0.3 s" in button.summary
    assert "GPIO 17, the other to ground" in button.advice
    assert report.findings[1].verdict is Verdict.PASS  # the LED was still lit


def test_a_pin_another_program_holds_is_named_with_how_to_stop_the_service(pins):
    held = Button(17)
    try:
        report = Report()
        run_gpio(ControlsConfig(), report, io.StringIO(), button_timeout_s=5)
    finally:
        held.close()
    assert report.findings[0].verdict is Verdict.FAIL
    assert "the polybot-device service is using GPIO 17" in report.findings[0].advice


def test_controls_turned_off_are_skipped_and_no_pin_is_touched(pins):
    report = Report()
    run_gpio(ControlsConfig(enabled=False), report, io.StringIO(), button_timeout_s=1)
    assert [f.verdict for f in report.findings] == [Verdict.SKIP]
    assert not pins.pins  # nothing was opened
