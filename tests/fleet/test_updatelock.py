"""fleet.update_lock_file: held (balena's convention: the file exists, created exclusively) while a
translation is in progress; nothing is written when it is not configured."""

from __future__ import annotations

import json
import os

from polybot_device.fleet.updatelock import UpdateLock
from tests.fleet.conftest import one_utterance, wait_until


def test_lock_is_created_exclusively_and_only_our_own_is_removed(tmp_path):
    path = tmp_path / "updates.lock"
    lock = UpdateLock(str(path))
    lock.set(True)
    assert lock.held and path.read_text() == f"polybot-device {os.getpid()}\n"
    lock.set(False)
    assert not path.exists()
    path.write_text("")  # the supervisor took it: an update is being applied
    lock.set(True)
    assert not lock.held
    lock.set(False)
    assert path.exists()  # never ours to remove


def test_a_lock_left_by_a_killed_daemon_is_cleared_at_start_but_not_someone_elses(tmp_path):
    path = tmp_path / "updates.lock"
    path.write_text("polybot-device 4242\n")
    UpdateLock(str(path)).clear_stale()
    assert not path.exists()
    path.write_text("")
    UpdateLock(str(path)).clear_stale()
    assert path.exists()


def test_a_missing_lock_directory_is_reported_not_fatal(tmp_path, caplog):
    lock = UpdateLock(str(tmp_path / "no-such-dir" / "updates.lock"))
    lock.set(True)
    lock.set(False)
    lock.set(True)
    assert not lock.held
    assert sum("cannot take the update lock" in r.getMessage() for r in caplog.records) == 1


def test_daemon_holds_the_update_lock_only_while_translating(sim, rig, feeder, start_fleet_daemon, tmp_path):
    lock = tmp_path / "balena" / "updates.lock"
    lock.parent.mkdir()
    daemon = start_fleet_daemon(fleet={"update_lock_file": str(lock), "busy_hold_s": 0.5})
    daemon.wait_ready()
    wait_until(lambda: daemon.state_file.exists(), 10, "the state file")
    assert not lock.exists()
    feeder.feed(one_utterance())
    wait_until(lambda: lock.exists(), 15, "the lock while translating")
    assert json.loads(daemon.state_file.read_text())["busy"] is True
    assert lock.read_text() == f"polybot-device {daemon.proc.pid}\n"
    sim.wait_for(lambda: sim.sim.responses_completed >= 1, timeout=30)
    wait_until(lambda: not lock.exists(), 15, "the lock released after the translation")
    wait_until(lambda: json.loads(daemon.state_file.read_text())["busy"] is False, 5, "idle in the state file")
    code, _ = daemon.terminate()
    assert code == 0 and not lock.exists()
