"""Only what polybot.yaml names becomes writable: the drop-in that polybot-writable-paths writes."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "systemd" / "polybot-writable-paths"


@pytest.fixture
def run(tmp_path: Path):
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} \"$@\"\n")
    python.chmod(0o755)
    config = tmp_path / "polybot.yaml"
    drop_ins = tmp_path / "polybot-device.service.d"
    user = pwd.getpwuid(os.geteuid()).pw_name

    def run(yaml: str) -> tuple[subprocess.CompletedProcess[str], Path]:
        config.write_text(yaml)
        out = subprocess.run([str(SCRIPT), "--config", str(config), "--drop-in-dir", str(drop_ins),
                              "--python", str(python), "--user", user],
                             capture_output=True, text=True, timeout=60)
        return out, drop_ins / "40-writable-paths.conf"

    return run


def test_metrics_and_update_lock_directories_become_writable(run, tmp_path: Path) -> None:
    metrics, lock = tmp_path / "prom", tmp_path / "lockdir"
    out, drop_in = run(f"metrics: {{textfile: {metrics}/polybot.prom}}\n"
                       f"fleet: {{update_lock_file: {lock}/updates.lock}}\n")
    assert out.returncode == 0, out.stderr
    lines = [line for line in drop_in.read_text().splitlines() if line and not line.startswith("#")]
    assert lines == ["[Service]", f"ReadWritePaths=-{metrics}", f"ReadWritePaths=-{lock}"]
    assert metrics.is_dir() and lock.is_dir()


def test_nothing_named_means_no_drop_in(run, tmp_path: Path) -> None:
    run(f"metrics: {{textfile: {tmp_path}/m/polybot.prom}}\n")
    out, drop_in = run("languages: [es, en]\n")
    assert out.returncode == 0, out.stderr
    assert not drop_in.exists()


def test_a_bad_config_leaves_the_drop_in_alone(run, tmp_path: Path) -> None:
    run(f"metrics: {{textfile: {tmp_path}/m/polybot.prom}}\n")
    out, drop_in = run("metrics: {textfile: 7}\n")
    assert out.returncode == 0
    assert f"ReadWritePaths=-{tmp_path}/m" in drop_in.read_text()


def test_system_directories_are_never_made_writable(run) -> None:
    out, drop_in = run("metrics: {textfile: /etc/polybot/metrics.prom}\n")
    assert out.returncode == 1 and "refusing" in out.stderr
    assert not drop_in.exists()
