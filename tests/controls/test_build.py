"""Building the controls: with GPIO, without it (a laptop), and the config-error blinker."""

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading

import pytest
from gpiozero import Button

from polybot_device.config import parse_config
from polybot_device.controls import NO_GPIO, Gesture, build_controls
from polybot_device.controls.config_error import read_controls, show_config_error
from polybot_device.state import Link, StatusModel
from tests.rig.timing import eventually, scaled

NO_FACTORY_ENV = {k: v for k, v in os.environ.items() if not k.startswith("GPIOZERO_")}


def python(code, *args, env=NO_FACTORY_ENV, **kw):
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


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


def test_show_config_error_reads_what_it_can(tmp_path, caplog):
    path = tmp_path / "polybot.yaml"
    assert read_controls(path).status_led.pin == 27  # no file: the defaults
    path.write_text("api:\n  url: [unclosed\ncontrols:\n  status_led:\n    pin: 5  # ours\n"
                    "  # a comment\n\nprivacy:\n  log_transcripts: true\n")
    assert read_controls(path).status_led.pin == 5  # a YAML error elsewhere does not hide our section
    path.write_text("controls:\n  status_led:\n    pin: 99\n")
    assert read_controls(path).status_led.pin == 27
    assert "controls.status_led.pin: expected an integer from 0 to 27, got 99" in caplog.text
    path.write_text("")
    assert read_controls(path).status_led.pin == 27


def test_show_config_error_blinks_the_config_error_pattern_until_sigterm(pins, tmp_path):
    path = tmp_path / "polybot.yaml"
    path.write_text("languages: [es]\ncontrols:\n  status_led: {pin: 5}\n")  # invalid config, fine pins
    result = []
    thread = threading.Thread(target=lambda: result.append(show_config_error(path)))
    thread.start()
    led = pins.pin(5)
    # Four flashes, the pause and the next cycle's first flash (the signal mask is set by now).
    # The pattern's exact rhythm is test_lights' business (on a stepped clock); here: it is that
    # pattern, shown until SIGTERM. Its pause is the longest dark stretch, three times the gaps.
    states = eventually(lambda: list(led.states), 10, "four flashes and the pause", until=lambda s: len(s) >= 10)
    signal.pthread_kill(thread.ident, signal.SIGTERM)
    thread.join(scaled(5))
    assert result == [0]
    assert [s.state for s in states[:10]] == [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]
    gaps = [states[i].timestamp for i in (3, 5, 7)]  # how long each dark gap between flashes lasted
    pause = states[9].timestamp
    assert pause > 2 * max(gaps), (gaps, pause)
    assert led.state == 0 and led.function == "input"


@pytest.mark.parametrize("env,expected", [
    (NO_FACTORY_ENV, "no GPIO here"),
    ({**NO_FACTORY_ENV, "GPIOZERO_PIN_FACTORY": "mock"}, "shows the config-error pattern"),
])
def test_show_config_error_exits_0_on_sigterm_with_or_without_gpio(tmp_path, env, expected):
    path = tmp_path / "polybot.yaml"
    path.write_text("api: {url: 'http://example.com'}\n")
    proc = python("import logging, sys\nlogging.basicConfig(level=logging.INFO)\n"
                  "from polybot_device.controls.config_error import show_config_error\n"
                  "sys.exit(show_config_error(sys.argv[1]))", str(path), env=env)
    line = proc.stderr.readline()
    assert expected in line
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=scaled(10))
    assert proc.returncode == 0, err
    assert "SIGTERM: stopping" in err
