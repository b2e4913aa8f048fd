"""Whether the daemon runs, read from its state file as `polybot-device health` reads it."""

from __future__ import annotations

import os

from polybot_device.doctor.report import Verdict
from polybot_device.doctor.service import check_service
from polybot_device.fleet.runtime_state import boot_id, boottime_s, state_path, write_state


def test_no_state_file_means_the_devices_are_free(tmp_path, monkeypatch):
    monkeypatch.setenv("POLYBOT_RUNTIME_DIR", str(tmp_path))
    finding = check_service()
    assert finding.verdict is Verdict.PASS and "not running" in finding.summary


def test_a_running_daemon_is_a_warning_with_how_to_stop_it(tmp_path, monkeypatch):
    monkeypatch.setenv("POLYBOT_RUNTIME_DIR", str(tmp_path))
    write_state(state_path(), {"schema": 1, "pid": os.getpid(), "boot_id": boot_id(), "boottime_s": boottime_s(),
                               "state": "listening", "status": "Ready: listening", "link": "up"})
    finding = check_service()
    assert finding.verdict is Verdict.WARN and "is running" in finding.summary
    assert "sudo systemctl stop polybot-device" in finding.advice
