"""pyproject.toml's minimum versions are true: the code works with exactly those.

A fresh venv gets every runtime dependency at the lowest version pyproject.toml allows (`name>=X`
installed as `name==X`), and the tests that lean hardest on each library's API run in it: ALSA
capture and playback through the FIFO rig (pyalsaaudio's `avail()`, `write()` returning -EPIPE,
soxr's `ResampleStream.clear()`), the simulator and the link (websockets' asyncio client and
server, `close_code`), the controls (gpiozero's pin factories), the config (PyYAML). A minimum
that is too low fails here instead of on a Pi whose distribution ships the older version.

Marker `mindeps` (needs PyPI, ~2-3 minutes; deselect with -m "not mindeps").
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.mindeps

REPO = Path(__file__).resolve().parents[1]
API_HEAVY_TESTS = [
    "tests/audio/test_playback.py",
    "tests/audio/test_capture.py",
    "tests/audio/test_resample.py",
    "tests/simulator/test_server.py",
    "tests/realtime",
    "tests/controls/test_controls.py",
    "tests/controls/test_config_error.py",
    "tests/config",
]
TEST_TOOLS = ["pytest", "openai", "prometheus_client"]


def minimum_pins() -> list[str]:
    """`name==X` for every `name>=X` runtime dependency of pyproject.toml (all of them have one)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = []
    for requirement in project["dependencies"]:
        # An upper bound and a platform marker may follow (earshot has wheels for the test machine's arch).
        minimum, upper, marker = r"\s*>=\s*([0-9][0-9A-Za-z.]*)", r"(?:\s*,\s*<\s*[0-9][0-9A-Za-z.]*)?", r"(?:\s*;.*)?"
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)" + minimum + upper + marker, requirement.strip())
        assert match, f"{requirement!r}: every dependency states its minimum as name>=X"
        pins.append(f"{match[1]}=={match[2]}")
    return pins


def test_every_dependency_states_a_minimum() -> None:
    assert len(minimum_pins()) >= 7


def test_the_code_works_with_the_minimum_versions(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    pins = minimum_pins()
    pip = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                          *pins, *TEST_TOOLS], capture_output=True, text=True, timeout=900)
    assert pip.returncode == 0, f"pip install {' '.join(pins)}:\n{pip.stdout[-3000:]}\n{pip.stderr[-3000:]}"
    installed = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze"],
                               capture_output=True, text=True, check=True).stdout
    for pin in pins:  # nothing pulled a newer one in behind our back
        assert pin.lower().replace("_", "-") in installed.lower().replace("_", "-"), f"{pin} not installed as such"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VIRTUAL_ENV"))}
    env["PYTHONPATH"] = str(REPO)  # this checkout, not an installed copy
    out = subprocess.run([str(python), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                          "-m", "not image and not systemd and not soak and not faults and not mindeps",
                          *API_HEAVY_TESTS],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, (f"with {' '.join(pins)} (Python {sys.version.split()[0]}):\n"
                                 f"{out.stdout[-6000:]}\n{out.stderr[-2000:]}")


def test_the_suites_it_runs_are_there() -> None:
    """A moved test file would make the run above fail on a missing path, after minutes of pip."""
    missing = [path for path in API_HEAVY_TESTS if not (REPO / path).exists()]
    assert not missing, missing
