"""The shape shim (shape_shim.c): a sound device of one exact format, rate and channel count, and
a device that stalls, through real libasound. Preloaded, so it only works in a subprocess.

The rig's file/null PCMs accept any format, rate and channel count; a real ``hw:`` device does
not, and pyalsaaudio silently takes what it offers instead. The shim narrows
``snd_pcm_hw_params_any`` the way such a device does; the child may change the ``POLYBOT_SHAPE_*``
variables in ``os.environ`` between opens (the shim reads them at every call).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.rig.timing import ENV, scaled, time_factor
from tests.rig.unplug import REPO, compile_shim

SHAPE_SOURCE = Path(__file__).with_name("shape_shim.c")


@pytest.fixture(scope="session")
def shape_shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The compiled shape shim (.so), built once per test session."""
    return compile_shim(SHAPE_SOURCE, tmp_path_factory.mktemp("shape_shim"))


def run_shaped(code: str, shim: Path, *, args: list[str] | None = None, stream: str = "capture",
               stall_flag: Path | None = None, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run ``python -c code *args`` under the shim, in the repository, with this run's time factor.
    ``stream``: which streams it narrows and stalls ('capture', 'playback', 'both')."""
    import os

    env = dict(os.environ)
    env.update({"LD_PRELOAD": str(shim), "POLYBOT_SHAPE_STREAM": stream, ENV: repr(time_factor())})
    if stall_flag is not None:
        env["POLYBOT_STALL_FLAG"] = str(stall_flag)
    return subprocess.run([sys.executable, "-c", code, *(args or [])], env=env, capture_output=True, text=True,
                          timeout=scaled(timeout), cwd=REPO)
