"""The update-tool hooks in image/fleet/ (Mender state scripts, RAUC mark-good, balena
healthcheck) against real `polybot-device health` runs over fabricated state files."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from tests.rig.daemon import REPO
from tests.rig.fleet import write_state

FLEET = REPO / "image" / "fleet"
WAIT_IDLE = FLEET / "mender" / "ArtifactInstall_Enter_50_polybot-wait-idle"
COMMIT = FLEET / "mender" / "ArtifactCommit_Enter_50_polybot-health"
MARK_GOOD = FLEET / "rauc" / "polybot-rauc-mark-good"
HEALTHCHECK = FLEET / "balena" / "polybot-healthcheck"

DEGRADED = {"state": "offline", "status": "Offline: reconnecting", "link": "offline"}


@pytest.fixture
def env(tmp_path):
    cli = tmp_path / "polybot-device"
    cli.write_text(f"#!/bin/sh\nexec {sys.executable} -m polybot_device \"$@\"\n")
    cli.chmod(0o755)
    rauc = tmp_path / "rauc"
    rauc.write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path / 'rauc.log'}\n")
    rauc.chmod(0o755)
    return {**os.environ, "POLYBOT_DEVICE": str(cli), "POLYBOT_RUNTIME_DIR": str(tmp_path / "run"),
            "POLYBOT_RAUC": str(rauc), "POLYBOT_POLL_S": "1", "POLYBOT_TIMEOUT_S": "0", "POLYBOT_MAX_WAIT_S": "30"}


def run(script, env, **extra):
    return subprocess.run([str(script)], capture_output=True, text=True, timeout=60, env={**env, **extra})


def test_mender_install_waits_while_a_translation_is_in_progress(tmp_path, env):
    write_state(tmp_path / "run", state="speaking", busy=True)
    threading.Timer(1.5, lambda: write_state(tmp_path / "run", busy=False)).start()
    started = time.monotonic()
    result = run(WAIT_IDLE, env)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started >= 1.5
    assert "translation in progress; waiting" in result.stderr and "idle; install may proceed" in result.stderr


def test_mender_install_goes_ahead_when_the_daemon_is_not_running_or_never_falls_quiet(tmp_path, env):
    result = run(WAIT_IDLE, env)
    assert result.returncode == 0 and "not running" in result.stderr
    write_state(tmp_path / "run", busy=True)
    result = run(WAIT_IDLE, env, POLYBOT_MAX_WAIT_S="1")
    assert result.returncode == 0 and "installing anyway" in result.stderr


@pytest.mark.parametrize("state,require,code", [
    ({}, "running", 0),
    (DEGRADED, "running", 0),
    (DEGRADED, "healthy", 1),
    (None, "running", 1),
])
def test_mender_commit_rolls_back_only_when_the_daemon_is_not_up(tmp_path, env, state, require, code):
    if state is not None:
        write_state(tmp_path / "run", **state)
    result = run(COMMIT, env, POLYBOT_REQUIRE=require)
    assert result.returncode == code, result.stderr
    assert ("rollback" in result.stderr) == bool(code)


def test_rauc_marks_the_slot_good_when_healthy_and_bad_when_the_daemon_is_not_running(tmp_path, env):
    write_state(tmp_path / "run")
    assert run(MARK_GOOD, env).returncode == 0
    (tmp_path / "run" / "state.json").unlink()
    result = run(MARK_GOOD, env, POLYBOT_ON_FAILURE="mark-bad")
    assert result.returncode == 1
    assert (tmp_path / "rauc.log").read_text().splitlines() == ["status mark-good booted", "status mark-bad booted"]


@pytest.mark.parametrize("state,require,code", [
    ({}, "running", 0), (DEGRADED, "running", 0), (DEGRADED, "healthy", 1), (None, "running", 1),
])
def test_balena_healthcheck_uses_dockers_0_or_1(tmp_path, env, state, require, code):
    if state is not None:
        write_state(tmp_path / "run", **state)
    assert run(HEALTHCHECK, env, POLYBOT_REQUIRE=require).returncode == code


def test_hooks_pass_shellcheck():
    shellcheck = subprocess.run(["which", "shellcheck"], capture_output=True)
    if shellcheck.returncode:
        pytest.skip("shellcheck is not installed")
    result = subprocess.run(["shellcheck", str(WAIT_IDLE), str(COMMIT), str(MARK_GOOD), str(HEALTHCHECK)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
