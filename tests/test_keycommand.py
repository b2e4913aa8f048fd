"""api.key_command: a program prints a short-lived key before every connect; a failure is the
auth-error state with slow retries, never a crash, and the key never reaches a log."""

from __future__ import annotations

import os
import time

import pytest

from polybot_device.apikey import KeySource, KeyUnavailable
from polybot_device.config import ConfigError
from polybot_device.keycommand import KeyCommandFailed, run_key_command
from tests.rig.fleet import run_cli
from tests.rig.timing import eventually


def script(path, body: str):
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def test_key_command_output_bare_or_as_a_client_secret_json(tmp_path):
    assert run_key_command([script(tmp_path / "a", "echo ek_abc123\n")], 5) == "ek_abc123"
    as_json = script(tmp_path / "b", """echo '{"value": "ek_fromjson", "expires_at": 1760000000}'\n""")
    assert run_key_command([as_json], 5) == "ek_fromjson"
    assert run_key_command(["/bin/echo", "ek_argv"], 5) == "ek_argv"  # argv, no shell


@pytest.mark.parametrize("body,words", [
    ("echo 'backend said no: Bearer dev-token-123' >&2; exit 3\n", "failed with status 3: backend said no: [redacted]"),
    ("exit 0\n", "printed no key"),
    ("echo 'two words'\n", "printed no key"),
    ("sleep 5\n", "printed no key within 0.5 s (killed)"),
])
def test_key_command_failures_say_what_without_leaking(tmp_path, body, words):
    started = time.monotonic()
    with pytest.raises(KeyCommandFailed) as err:
        run_key_command([script(tmp_path / "k", body)], 0.5)
    assert words in str(err.value)
    assert "dev-token-123" not in str(err.value)
    assert time.monotonic() - started < 3


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0): only a running process counts
    return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"


def test_a_hung_key_command_is_killed_with_the_children_it_started(tmp_path):
    pids = tmp_path / "pids"
    body = f"sleep 300 & echo $! > {pids}\n(sleep 300; echo late) &\nwait\n"  # children hold stdout open
    with pytest.raises(KeyCommandFailed, match="within 0.5 s"):
        run_key_command([script(tmp_path / "k", body)], 0.5)
    child = int(pids.read_text())
    eventually(lambda: not alive(child), timeout=5, what="the key command's child was killed")


def test_a_key_command_that_never_stops_printing_is_cut_off_not_buffered(tmp_path):
    started = time.monotonic()
    with pytest.raises(KeyCommandFailed, match="printed more than 64 KiB"):
        run_key_command(["/usr/bin/yes", "ek_" + "x" * 1000], 30)
    assert time.monotonic() - started < 5  # cut at 64 KiB, not when the timeout came


def test_endless_stderr_keeps_only_its_last_line(tmp_path):
    body = "head -c 50000000 /dev/zero | tr '\\0' 'e' >&2; echo >&2; echo 'the real reason' >&2; exit 4\n"
    with pytest.raises(KeyCommandFailed, match="status 4: the real reason"):
        run_key_command([script(tmp_path / "k", body)], 30)


def test_a_missing_program_is_a_config_error_and_the_command_is_not_run_at_startup(tmp_path):
    with pytest.raises(ConfigError, match="api.key_command"):
        KeySource(None, environ={}, command=[str(tmp_path / "nope")]).check_configured()
    ran = tmp_path / "ran"
    KeySource(None, environ={}, command=[script(tmp_path / "k", f"touch {ran}; echo ek_x\n")]).check_configured()
    assert not ran.exists()
    with pytest.raises(KeyUnavailable, match="status 1"):
        KeySource(None, environ={"OPENAI_API_KEY": "sk-ignored-when-a-command-is-set"},
                  command=[script(tmp_path / "f", "exit 1\n")]).read()


def test_daemon_with_a_key_command_that_does_not_exist_exits_78(tmp_path):
    config = tmp_path / "polybot.yaml"
    config.write_text(f"api:\n  key_command: [{tmp_path / 'no-such-minter'}]\n")
    result = run_cli("run", "--config", str(config))
    assert result.returncode == 78 and "api.key_command" in result.stderr


def test_a_rotated_key_is_picked_up_after_an_auth_error_and_never_logged(
        sim, rig, feeder, start_fleet_daemon, tmp_path):
    wrong, right = "ek_wrong_0123456789abcdefghij", "ek_right_9876543210zyxwvutsrq"
    sim.options.expected_key = right
    key_file, calls = tmp_path / "minted", tmp_path / "calls"
    mint = script(tmp_path / "mint-key", f"""echo call >> {calls}
if [ ! -s {key_file} ]; then echo "backend unreachable" >&2; exit 1; fi
cat {key_file}
""")
    daemon = start_fleet_daemon(key=None, api={"key_command": [mint], "auth_retry_s": 1.0})
    daemon.wait_ready()
    # No key at all: the auth-error state (not a crash), retried.
    daemon.notify.wait_for(lambda lines: any("backend unreachable" in line for line in lines), timeout=10)
    assert not sim.sim.handshakes  # without a key it does not even connect
    key_file.write_text(wrong + "\n")
    sim.wait_for(lambda: any(h.status == 401 for h in sim.sim.handshakes), timeout=10)  # refused
    key_file.write_text(right + "\n")  # the backend rotated the key
    daemon.notify.wait_for(lambda lines: "STATUS=Ready: listening" in lines, timeout=10)
    assert sim.sim.handshakes and daemon.proc.poll() is None
    assert len(calls.read_text().splitlines()) >= 3  # run before every connect attempt
    health = eventually(daemon.health, 10, "healthy", until=lambda r: r.returncode == 0)
    assert health.stdout.startswith("healthy")
    code, _ = daemon.terminate()
    assert code == 0
    log = daemon.log()
    assert "api.key_command" in log
    for secret in (wrong, right, wrong[3:], right[3:]):
        assert secret not in log
