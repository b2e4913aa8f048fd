"""fleet.update_lock_file: held (balena's convention: the file exists, created exclusively) while a
translation is in progress; nothing is written when it is not configured."""

from __future__ import annotations

import json
import os

from polybot_device.fleet.updatelock import UpdateLock
from tests.rig.fleet import one_utterance
from tests.rig.timing import eventually


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


def text_of(path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def busy_in_state_file(daemon) -> bool:
    return json.loads(daemon.state_file.read_text())["busy"]


def test_daemon_holds_the_update_lock_only_while_translating(sim, rig, feeder, start_fleet_daemon, tmp_path):
    lock = tmp_path / "balena" / "updates.lock"
    lock.parent.mkdir()
    daemon = start_fleet_daemon(fleet={"update_lock_file": str(lock), "busy_hold_s": 0.5})
    daemon.wait_ready()
    eventually(lambda: daemon.state_file.exists(), 10, "the state file")
    assert not lock.exists()
    feeder.feed(one_utterance())
    # Created exclusively, then written: wait for the words, not only the file.
    holder = eventually(lambda: text_of(lock), 15, "the lock, with its holder, while translating")
    assert holder == f"polybot-device {daemon.proc.pid}\n"
    # The lock is taken first and the state file rewritten right after: wait for that rewrite
    # (the lock is held for the whole translation and busy_hold_s beyond, far longer).
    eventually(lambda: busy_in_state_file(daemon) or not lock.exists(), 5, "busy in the state file")
    assert lock.exists(), "the lock was released before the state file said busy"
    sim.wait_for(lambda: sim.sim.responses_completed >= 1, timeout=30)
    eventually(lambda: not lock.exists(), 15, "the lock released after the translation")
    eventually(lambda: busy_in_state_file(daemon) is False, 5, "idle in the state file")
    code, _ = daemon.terminate()
    assert code == 0 and not lock.exists()
