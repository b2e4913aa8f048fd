"""The daemon as the fleet sees it (tests/rig/daemon.py against the simulator): a runtime directory,
a journal stand-in and a metrics file of its own, the CLI run as a fleet tool runs it, and state
files made up for `health`. Fixtures (``short_tmp``, ``journal``, ``start_fleet_daemon``) are made
available to every suite by tests/conftest.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from polybot_device.fleet.journal import parse_native
from polybot_device.fleet.runtime_state import render
from tests.rig.daemon import REPO, DaemonProcess, DatagramSink
from tests.rig.loopback import daemon_config, silence, speech_like
from tests.rig.timing import scaled

KEY = "sk-test-key-0123456789abcdef"


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "polybot_device", *args], capture_output=True, text=True,
                          timeout=scaled(timeout), cwd=REPO, env={**os.environ, **(env or {})})


def one_utterance() -> np.ndarray:
    return np.concatenate([silence(0.3), speech_like(1.0), silence(1.0)])


class JournalSocket(DatagramSink):
    """Stands in for /run/systemd/journal/socket: collects native-protocol datagrams as dicts."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, parse_native)

    @property
    def entries(self) -> list[dict[str, str]]:
        return self.snapshot()

    def events(self, kind: str | None = None) -> list[dict[str, str]]:
        return [e for e in self.snapshot() if "POLYBOT_EVENT" in e and (kind is None or e["POLYBOT_EVENT"] == kind)]

    def text(self) -> str:
        return "\n".join(str(e) for e in self.snapshot())


class FleetDaemon(DaemonProcess):
    """The daemon with its own runtime directory and, if asked, journald standing in for stderr."""

    def __init__(self, tmp: Path, config: dict, env: dict[str, str], key: str | None = KEY,
                 journal: JournalSocket | None = None) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        self.runtime_dir = tmp / "run"
        self.runtime_dir.mkdir(exist_ok=True)
        env = {**env, "POLYBOT_RUNTIME_DIR": str(self.runtime_dir)}
        if journal is not None:
            log = tmp / "daemon.log"
            log.touch()  # DaemonProcess reopens it with "w": same inode, so JOURNAL_STREAM matches
            st = os.stat(log)
            env.update(JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}", POLYBOT_JOURNAL_SOCKET=str(journal.path))
        super().__init__(tmp, config, env, key=key)

    @property
    def state_file(self) -> Path:
        return self.runtime_dir / "state.json"

    def health(self) -> subprocess.CompletedProcess:
        return run_cli("health", env={"POLYBOT_RUNTIME_DIR": str(self.runtime_dir)})


@pytest.fixture
def short_tmp():
    """Unix socket paths must stay under 108 bytes: pytest's tmp_path can be longer."""
    path = Path(tempfile.mkdtemp(prefix="pbf"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def journal(short_tmp):
    j = JournalSocket(short_tmp / "journal.sock")
    yield j
    j.close()


@pytest.fixture
def start_fleet_daemon(tmp_path, rig, sim):
    started: list[FleetDaemon] = []

    def start(name: str = "d", key: str | None = KEY, journal: JournalSocket | None = None,
              env: dict[str, str] | None = None, **overrides) -> FleetDaemon:
        d = FleetDaemon(tmp_path / name, daemon_config(sim, rig, **overrides), {**rig.env(), **(env or {})},
                        key=key, journal=journal)
        started.append(d)
        return d

    yield start
    for d in started:
        d.close()


LIVE = {"state": "listening", "status": "Ready: listening", "detail": "", "link": "up", "mic_present": True,
        "activity": "idle", "audio_age_s": 0.02, "session_age_s": 65.0, "busy": False, "utterances_translated": 3}


def write_state(directory, **changes):
    document = json.loads(render({**LIVE, **changes}))
    for key in ("pid", "boottime_s", "boot_id"):
        if key in changes:
            document[key] = changes[key]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "state.json").write_text(json.dumps(document, indent=0))
