"""`polybot-device health`: 0 healthy, 1 running but degraded, 2 not running or stale; read from
the state file the daemon keeps in its runtime directory."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from polybot_device.fleet.runtime_state import STALE_AFTER_S, runtime_dir
from tests.rig.fleet import KEY, one_utterance, run_cli, write_state
from tests.rig.timing import eventually, scaled


def health(directory):
    result = run_cli("health", env={"POLYBOT_RUNTIME_DIR": str(directory)})
    assert len(result.stdout.strip().splitlines()) == 1, result.stdout
    return result.returncode, result.stdout.strip()


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("changes,code,words", [
    ({}, 0, "healthy: Ready: listening; session up 65 s; 3 utterance(s) translated"),
    ({"state": "speaking", "status": "Speaking the translation", "busy": True}, 0, "translation in progress"),
    ({"state": "offline", "status": "Offline: reconnecting", "link": "offline", "detail": "network error: refused"},
     1, "degraded: Offline: reconnecting (network error: refused)"),
    ({"state": "connecting", "status": "Connecting to the translation service", "link": "connecting"}, 1, "degraded"),
    ({"state": "auth-error", "status": "API key refused", "link": "auth-error"}, 1, "degraded: API key refused"),
    ({"state": "mic-missing", "status": "Microphone missing", "mic_present": False}, 1, "Microphone missing"),
    ({"state": "speaker-missing", "status": "Speaker not working: opening it again", "speaker_present": False}, 1,
     "degraded: Speaker not working"),
    ({"audio_age_s": 12.0}, 1, "the microphone has delivered no audio (not for 12 s)"),
    ({"audio_age_s": None}, 1, "no audio (never)"),
    ({"speaking_over_a_drop": 1, "state": "speaking", "link": "offline"}, 1, "degraded"),
])
def test_health_reports_each_state_with_its_exit_status(tmp_path, changes, code, words):
    write_state(tmp_path, **changes)
    got_code, line = health(tmp_path)
    assert got_code == code and words in line, line


def test_health_is_2_without_a_state_file(tmp_path):
    code, line = health(tmp_path / "nothing-here")
    assert code == 2 and line.startswith("not running: no state file at")


def test_health_is_2_when_the_process_that_wrote_it_is_gone(tmp_path):
    write_state(tmp_path, pid=dead_pid())
    code, line = health(tmp_path)
    assert code == 2 and "is gone" in line


def test_health_is_2_when_the_state_file_is_stale(tmp_path):
    from polybot_device.fleet.runtime_state import boottime_s

    write_state(tmp_path, boottime_s=boottime_s() - STALE_AFTER_S - 5)
    code, line = health(tmp_path)
    assert code == 2 and line.startswith("stale: ") and "hung" in line


def test_health_is_2_for_a_state_file_from_an_earlier_boot(tmp_path):
    write_state(tmp_path, boot_id="00000000-0000-0000-0000-000000000000")
    assert health(tmp_path)[0] == 2


def test_health_is_2_for_garbage(tmp_path):
    (tmp_path / "state.json").write_text("{half a file")
    assert health(tmp_path)[0] == 2


def test_runtime_dir_follows_polybot_runtime_dir_then_systemds_runtime_directory():
    assert str(runtime_dir({"POLYBOT_RUNTIME_DIR": "/x", "RUNTIME_DIRECTORY": "/y"})) == "/x"
    assert str(runtime_dir({"RUNTIME_DIRECTORY": "/run/polybot:/run/other"})) == "/run/polybot"
    assert str(runtime_dir({})) == "/run/polybot"


def test_the_running_daemon_is_healthy_then_not_running_after_it_stops(sim, rig, feeder, start_fleet_daemon):
    daemon = start_fleet_daemon()
    daemon.wait_ready()
    code_line = eventually(daemon.health, 15, "healthy", until=lambda r: r.returncode == 0)
    assert code_line.stdout.startswith("healthy: Ready: listening")
    state = json.loads(daemon.state_file.read_text())
    assert state["pid"] == daemon.proc.pid and state["link"] == "up" and state["busy"] is False
    feeder.feed(one_utterance())
    eventually(lambda: json.loads(daemon.state_file.read_text())["busy"], 15, "busy while translating")
    code, _ = daemon.terminate()
    assert code == 0  # the daemon's own codes are unchanged
    assert not daemon.state_file.exists()
    result = daemon.health()
    assert result.returncode == 2 and "not running" in result.stdout


def test_a_refused_key_is_degraded_and_a_killed_daemon_is_not_running(sim, rig, feeder, start_fleet_daemon):
    sim.options.expected_key = KEY + "-other"
    daemon = start_fleet_daemon()
    daemon.wait_ready()
    result = eventually(daemon.health, 15, "degraded", until=lambda r: r.returncode == 1)
    assert "API key refused" in result.stdout
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.proc.wait(scaled(5))
    result = daemon.health()
    assert result.returncode == 2 and "is gone" in result.stdout


@pytest.mark.parametrize("changes", [
    {"boottime_s": "soon"}, {"audio_age_s": "NaN-ish"}, {"pid": "1"}, {"mic_present": "yes"},
    {"utterances_translated": [1]}, {"status": {"a": 1}}, {"session_age_s": True},
])
def test_a_state_file_field_of_the_wrong_type_is_unknown_not_a_traceback(tmp_path, changes):
    write_state(tmp_path, **changes)
    code, line = health(tmp_path)
    assert code == 2 and line.startswith("unknown: the state file's field "), line


@pytest.mark.parametrize("field", ["audio_age_s", "boottime_s", "session_age_s"])
def test_nan_or_infinity_in_the_state_file_is_never_healthy(tmp_path, field):
    write_state(tmp_path)
    path = tmp_path / "state.json"
    document = json.loads(path.read_text())
    document[field] = float("nan") if field != "session_age_s" else float("inf")
    path.write_text(json.dumps(document))  # Python writes NaN / Infinity, and json.loads reads them
    code, line = health(tmp_path)
    assert code == 2 and f"'{field}'" in line, line
