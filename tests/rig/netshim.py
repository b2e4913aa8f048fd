"""The send-buffer shim (sndbuf_shim.c): a daemon subprocess whose TCP sockets have a small,
fixed send buffer, as on a Wi-Fi uplink, so a dead link pushes back on its writes within seconds
(loopback would let it queue about a minute of audio first). See the C file for why."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rig.unplug import compile_shim

SHIM_SOURCE = Path(__file__).with_name("sndbuf_shim.c")
UPLINK_SNDBUF_BYTES = 32768
"""Asked of the kernel, which doubles it: 64 KiB, about one second of the daemon's audio."""


def build_sndbuf_shim(directory: Path) -> Path:
    return compile_shim(SHIM_SOURCE, directory)


@pytest.fixture(scope="session")
def uplink_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for a daemon subprocess whose sockets have a Wi-Fi-sized send buffer."""
    shim = build_sndbuf_shim(tmp_path_factory.mktemp("sndbuf_shim"))
    return {"LD_PRELOAD": str(shim), "POLYBOT_SNDBUF_BYTES": str(UPLINK_SNDBUF_BYTES)}
