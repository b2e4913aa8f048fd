"""show-config-error: the status LED blinks the config-error pattern until SIGTERM, from whatever
of the controls section can be read, with or without GPIO."""

import signal
import threading

import pytest

from polybot_device.controls.config_error import read_controls, show_config_error
from tests.controls.laptop import NO_FACTORY_ENV, python
from tests.rig.timing import eventually, scaled


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
