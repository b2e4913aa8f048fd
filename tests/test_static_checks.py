"""The type checker and the linter, as part of the test suite (configured in pyproject.toml).

mypy checks ``polybot_device`` with every function typed; ruff checks the package, the tests and
the benchmarks against a small rule set. Both run from this venv, as subprocesses, so a failure
shows exactly what they print.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=600)


def test_mypy_finds_no_type_error_in_the_package():
    result = _run("mypy")  # files and strictness: [tool.mypy] in pyproject.toml
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_finds_nothing_to_complain_about():
    result = _run("ruff", "check", "--no-fix", "polybot_device", "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr
