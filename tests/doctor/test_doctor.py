"""`polybot-device doctor` end to end on the rig: a FIFO mic that hears the rig's speaker after a
known delay (tests/rig/echo.py), gpiozero's mock pins with a finger on the button, the simulator on
loopback. What a person at a new gadget would read: the report, the suggested echo_tail_ms, the
exit status."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from polybot_device.audio.filerig import FileRig
from polybot_device.cli import main
from tests.rig.echo import EchoPath
from tests.rig.timing import scaled
from tests.rig.unplug import REPO, compile_shim

KEY = "sk-doctor-test-key-0123456789"
DELAY_S = 0.4
RIG_LATENCY_MAX_MS = 250
"""Speaker buffer (80 ms) + echo-path cushion (80) + polling (20) + capture period (20) + slack;
~165 ms seen."""
BUSY_SHIM = Path(__file__).resolve().parents[1] / "rig" / "busy_shim.c"


@pytest.fixture
def sound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FileRig]:
    """The rig with its echo path running (speaker at the mic's rate, mono), applied in-process."""
    rig = FileRig(tmp_path / "alsa", mic_rate=48000, mic_channels=2, speaker_rate=48000, speaker_channels=1)
    for key, value in rig.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.setenv("POLYBOT_RUNTIME_DIR", str(tmp_path))  # no daemon's state file: the service is stopped
    feeder = rig.feeder()
    echo = EchoPath(rig.speaker_raw, feeder, DELAY_S)
    yield rig
    echo.close()
    feeder.stop()


def write_config(tmp_path: Path, rig: FileRig, url: str, **audio: object) -> Path:
    config = {
        "api": {"url": url, "connect_timeout_s": 5.0},
        "audio": {"input": {"device": rig.mic_pcm, "rate": 48000, "channels": 2},
                  "output": {"device": rig.speaker_pcm, "rate": 48000, "channels": 1}, **audio},
        "controls": {"language_led": {"red_pin": 22, "green_pin": 23, "blue_pin": 24}},
    }
    path = tmp_path / "polybot.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


class Finger:
    """Presses the mock button every 0.3 s, as someone waiting for the prompt would."""

    def __init__(self, pins, pin: int = 17) -> None:
        self._pin = pins.pin(pin)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.3):
            self._pin.drive_low()
            self._stop.wait(0.1)
            self._pin.drive_high()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)


def doctor(config: Path, report: Path, *extra: str) -> int:
    return main(["doctor", "--config", str(config), "--seconds", "1", "--report", str(report), *extra])


def line(report: str, check: str) -> str:
    found = [row for row in report.splitlines() if re.match(rf"^(PASS|WARN|FAIL|SKIP)\s+{re.escape(check)}\s", row)]
    assert found, f"no {check!r} line in:\n{report}"
    return found[0]


def suggested_tail_ms(report: str) -> int:
    match = re.search(r"audio\.echo_tail_ms: (\d+)", report)
    assert match, report
    return int(match.group(1))


def test_a_working_gadget_passes_every_check_and_gets_an_echo_tail_for_its_delay(
        sound, sim, pins, tmp_path, capsys):
    config = write_config(tmp_path, sound, sim.url, echo_tail_ms=1500)
    finger = Finger(pins)
    try:
        status = doctor(config, tmp_path / "report.txt", "--button-timeout", "15")
    finally:
        finger.close()
    out = capsys.readouterr().out
    report = (tmp_path / "report.txt").read_text()
    assert status == 0, out
    assert "Result: all good." in report
    for check in ("service", "microphone", "speaker", "echo", "button", "LEDs", "DNS", "connection", "API key",
                  "clock"):
        assert line(report, check).startswith("PASS"), report
    assert "mic [" in out  # the live meter was drawn
    # What the gate sees is the injected delay plus the rig's own buffering (tests/rig/echo.py: the
    # speaker's buffer, four cushion periods, one capture period; ~165 ms seen), never less.
    delay_ms = int(re.search(r"heard after (-?\d+) ms", report).group(1))
    assert DELAY_S * 1000 <= delay_ms <= DELAY_S * 1000 + RIG_LATENCY_MAX_MS, report
    tail = suggested_tail_ms(report)
    assert delay_ms + 100 <= tail <= DELAY_S * 1000 + RIG_LATENCY_MAX_MS + 250, report  # margin + 50 ms steps
    for pin in (27, 22, 23, 24):  # each LED was lit, and is dark again
        assert [s.state for s in pins.pin(pin).states][-2:] == [True, False], pin
    order = [int(n) for n in re.findall(r"^Lighting the .* \(GPIO (\d+)\)$", out, re.M)]
    assert order == [27, 22, 23, 24]  # in turn: status, then red, green, blue
    assert KEY not in out + report


def test_an_echo_tail_shorter_than_the_echo_fails_and_says_what_to_set(sound, sim, pins, tmp_path, capsys):
    config = write_config(tmp_path, sound, sim.url, echo_tail_ms=100)
    assert doctor(config, tmp_path / "report.txt", "--no-button") == 1
    report = (tmp_path / "report.txt").read_text()
    echo = report[report.index(line(report, "echo")):]
    assert line(report, "echo").startswith("FAIL")
    assert f"set it to {suggested_tail_ms(report)}" in echo
    assert line(report, "button").startswith("SKIP")
    assert "Result: 1 to fix (echo)." in report


def test_a_refused_key_fails_the_api_key_check(sound, sim, pins, tmp_path, monkeypatch, capsys):
    sim.options.expected_key = "sk-the-right-key-0123456789"
    config = write_config(tmp_path, sound, sim.url, echo_tail_ms=1500)
    assert doctor(config, tmp_path / "report.txt", "--no-button") == 1
    report = (tmp_path / "report.txt").read_text()
    assert line(report, "API key").startswith("FAIL") and "API key refused (HTTP 401)" in report
    assert line(report, "microphone").startswith("PASS")
    assert KEY not in report + capsys.readouterr().out


def test_an_unreachable_api_url_fails_the_connection_check(sound, pins, tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    config = write_config(tmp_path, sound, f"ws://127.0.0.1:{port}/v1/realtime", echo_tail_ms=1500)
    assert doctor(config, tmp_path / "report.txt", "--no-button") == 1
    report = (tmp_path / "report.txt").read_text()
    assert line(report, "connection").startswith("FAIL") and "Connection refused" in report
    assert "Result: 1 to fix (connection)." in report


def test_a_bad_config_exits_78_before_touching_anything(tmp_path, capsys):
    config = tmp_path / "polybot.yaml"
    config.write_text("audio: {echo_tail_ms: soon}\n")
    assert doctor(config, tmp_path / "report.txt", "--no-button") == 78
    assert "audio.echo_tail_ms" in capsys.readouterr().err
    assert not (tmp_path / "report.txt").exists()


@pytest.mark.parametrize(("held", "works"), [("microphone", "speaker"), ("speaker", "microphone")])
def test_a_device_held_by_the_service_is_named_with_how_to_stop_it(sound, sim, tmp_path, held, works):
    """The daemon holds hw devices exclusively: a second open fails with EBUSY. The shim makes
    libasound answer exactly that for one of the rig's PCMs, in a doctor run as a subprocess."""
    shim = compile_shim(BUSY_SHIM, tmp_path)
    config = write_config(tmp_path, sound, sim.url, echo_tail_ms=1500)
    pcm = sound.mic_pcm if held == "microphone" else sound.speaker_pcm
    env = {**sound.env(), "LD_PRELOAD": str(shim), "POLYBOT_BUSY_PCM": pcm,
           "OPENAI_API_KEY": KEY, "GPIOZERO_PIN_FACTORY": "mock", "POLYBOT_RUNTIME_DIR": str(tmp_path),
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "polybot_device", "doctor", "--config", str(config),
                           "--seconds", "1", "--no-button", "--report", str(tmp_path / "report.txt")],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=scaled(60))
    assert done.returncode == 1, done.stdout + done.stderr
    assert (f"the polybot-device service is using {pcm}; "
            "stop it with `sudo systemctl stop polybot-device`") in done.stdout
    report = (tmp_path / "report.txt").read_text()
    assert line(report, held).startswith("FAIL")
    assert line(report, works).startswith("PASS")  # only the one device is held
    assert line(report, "echo").startswith("SKIP")
