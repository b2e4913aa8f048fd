"""ALSA file-rig fixtures. Import them into tests/conftest.py:

    from tests.rig.fixtures import file_rig, mic_feeder  # noqa: F401
    from tests.rig.unplug import unplug_shim  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from polybot_device.audio.filerig import FileRig, MicFeeder


@pytest.fixture
def file_rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FileRig:
    """A FileRig in a fresh tmp dir: mic 48 kHz stereo, speaker 48 kHz stereo.

    Applied in-process (ALSA_CONFIG_PATH set through monkeypatch, restored afterwards); for a
    subprocess pass ``file_rig.env()``. Another layout: ``FileRig(tmp_path / "x", ...)`` and
    ``monkeypatch.setenv(...)`` with its ``env()``.
    """
    rig = FileRig(tmp_path / "rig", mic_rate=48000, mic_channels=2, speaker_rate=48000, speaker_channels=2)
    for key, value in rig.env().items():
        monkeypatch.setenv(key, value)
    return rig


@pytest.fixture
def mic_feeder(file_rig: FileRig) -> Iterator[MicFeeder]:
    """A running MicFeeder (20 ms periods) on ``file_rig``'s mic FIFO; silence until fed."""
    feeder = file_rig.feeder(period_ms=20)
    try:
        yield feeder
    finally:
        feeder.stop()
