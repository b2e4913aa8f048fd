"""Building the controls: with GPIO, without it (a laptop), with a pin someone else holds."""

import asyncio
import logging

from gpiozero import Button

from polybot_device.config import parse_config
from polybot_device.controls import NO_GPIO, Gesture, build_controls
from polybot_device.state import Link, StatusModel
from tests.controls.laptop import python
from tests.rig.timing import scaled

BUILD_ON_A_LAPTOP = """
import asyncio, logging
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
from polybot_device.config import parse_config
from polybot_device.controls import build_controls
from polybot_device.state import StatusModel

async def main():
    controls = build_controls(parse_config({}), asyncio.get_running_loop(), print, StatusModel())
    print("controls:", controls)

asyncio.run(main())
"""


def test_a_machine_without_gpio_runs_without_controls_and_says_so_once():
    """This machine has no GPIO header: gpiozero finds no pin library, exactly as on a laptop."""
    proc = python(BUILD_ON_A_LAPTOP)
    out, err = proc.communicate(timeout=scaled(60))
    assert proc.returncode == 0, err
    assert out.strip() == "controls: None"
    assert err.splitlines() == [f"INFO polybot_device.controls: {NO_GPIO}"]  # no gpiozero warnings either


def test_controls_switched_off_in_the_config(pins, caplog):
    caplog.set_level(logging.INFO)
    config = parse_config({"controls": {"enabled": False}})
    assert asyncio.run(_build(config)) is None
    assert [r.getMessage() for r in caplog.records] == ["controls.enabled is false: running without button and LEDs"]
    assert pins.pins == {}  # not a single pin touched


async def _build(config, on_gesture=print, status=None):
    return build_controls(config, asyncio.get_running_loop(), on_gesture, status or StatusModel())


def test_built_controls_show_the_status_and_deliver_gestures_then_release_every_pin(pins):
    config = parse_config({"controls": {"button": {"multi_press_gap_s": 0.2},
                                        "language_led": {"red_pin": 22, "green_pin": 23, "blue_pin": 24}}})

    async def scenario():
        status = StatusModel()
        got = asyncio.Queue()
        controls = await _build(config, got.put_nowait, status)
        assert controls is not None
        assert controls.light.pattern == "starting"
        status.update(started=True, link=Link.UP)
        assert controls.light.pattern == "listening"
        pins.pin(17).drive_low()
        pins.pin(17).drive_high()
        gestures = [(await asyncio.wait_for(got.get(), scaled(5))).gesture for _ in range(2)]
        controls.confirm_language("en")
        controls.close()
        return gestures

    assert asyncio.run(scenario()) == [Gesture.PRESSED, Gesture.SHORT_PRESS]
    for pin in (17, 27, 22, 23, 24):  # released: gpiozero lets anyone claim them again
        Button(pin).close()


def test_a_pin_taken_by_someone_else_costs_the_controls_not_the_daemon(pins, caplog):
    other = Button(17)
    try:
        assert asyncio.run(_build(parse_config({}))) is None
        assert "GPIO unusable (GPIOPinInUse" in caplog.text
        Button(27).close()  # the status LED it had opened first was released again
    finally:
        other.close()
