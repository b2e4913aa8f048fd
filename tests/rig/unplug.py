"""The unplug shim (unplug_shim.c): compile it, and run a Python subprocess under it.

A FIFO cannot fake a vanished USB device (see docs/testing.md); this LD_PRELOAD shim makes
libasound itself report it while a flag file exists, so the code under test sees the real errors
through the real library. The shim has to be preloaded, so it only works in a subprocess.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rig.timing import ENV, scaled, time_factor

REPO = Path(__file__).resolve().parents[2]
SHIM_SOURCE = Path(__file__).with_name("unplug_shim.c")


def compile_shim(source: Path, directory: Path) -> Path:
    """Compile an LD_PRELOAD shim (C source beside this file) into ``directory``; the .so path.
    Skips the test when there is no compiler."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip(f"gcc is needed to build {source.name}")
    out = Path(directory) / source.with_suffix(".so").name
    subprocess.run([gcc, "-shared", "-fPIC", "-O2", "-Wall", "-o", str(out), str(source), "-ldl"],
                   check=True, capture_output=True, text=True)
    return out


def build_shim(directory: Path) -> Path:
    """The unplug shim compiled into ``directory``."""
    return compile_shim(SHIM_SOURCE, directory)


@pytest.fixture(scope="session")
def unplug_shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The compiled shim (.so), built once per test session."""
    return build_shim(tmp_path_factory.mktemp("unplug_shim"))


def shim_env(shim: Path, unplug_flag: Path, *, stream: str = "capture", xrun_flag: Path | None = None,
             base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment that preloads the shim. The device is "unplugged" while ``unplug_flag`` exists;
    ``stream`` is 'capture', 'playback' or 'both'; ``xrun_flag`` (if it exists) gives one overrun."""
    env = dict(os.environ if base is None else base)
    env["LD_PRELOAD"] = str(shim)
    env["POLYBOT_UNPLUG_FLAG"] = str(unplug_flag)
    env["POLYBOT_UNPLUG_STREAM"] = stream
    if xrun_flag is not None:
        env["POLYBOT_XRUN_FLAG"] = str(xrun_flag)
    return env


def run_python_with_shim(code: str, shim: Path, unplug_flag: Path, *, args: list[str] | None = None,
                         extra_env: dict[str, str] | None = None,
                         stream: str = "capture", xrun_flag: Path | None = None,
                         timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    """Run ``python -c code *args`` (this interpreter) under the shim; raises on timeout. The child
    runs in the repository with this run's time factor, so its own waits can use ``scaled()``."""
    env = shim_env(shim, unplug_flag, stream=stream, xrun_flag=xrun_flag)
    env[ENV] = repr(time_factor())
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-c", code, *(args or [])], env=env, capture_output=True, text=True,
                          timeout=scaled(timeout), cwd=REPO)
