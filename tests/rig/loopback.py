"""The whole gadget on one machine: FIFO-fed libasound mic -> daemon subprocess -> simulator on
loopback -> libasound speaker file. Fixtures (``sim``, ``rig``, ``feeder``, ``start_daemon``) and the
sounds to feed it; tests/conftest.py makes the fixtures available to every suite."""

from __future__ import annotations

import numpy as np
import pytest

from polybot_device.audio.filerig import FileRig
from tests.rig.daemon import DaemonProcess, SimulatorThread

MIC_RATE, MIC_CHANNELS = 48000, 2
SPEAKER_RATE = 44100
"""Not the API's 24 kHz and not the mic's rate: proves the playback resampler."""


@pytest.fixture
def sim():
    simulator = SimulatorThread()
    yield simulator
    simulator.close()


@pytest.fixture
def rig(tmp_path):
    return FileRig(tmp_path / "alsa", MIC_RATE, MIC_CHANNELS, SPEAKER_RATE, 1)


@pytest.fixture
def feeder(rig):
    f = rig.feeder()
    yield f
    f.stop()


def daemon_config(sim: SimulatorThread, rig: FileRig, **overrides) -> dict:
    config = {
        "api": {"url": sim.url, "backoff_initial_s": 0.1, "backoff_max_s": 1.0, "auth_retry_s": 2.0,
                "ping_interval_s": 1.0, "ping_timeout_s": 1.0, "connect_timeout_s": 3.0},
        "audio": {"input": {"device": rig.mic_pcm, "rate": rig.mic_rate, "channels": rig.mic_channels},
                  "output": {"device": rig.speaker_pcm, "rate": rig.speaker_rate, "channels": 1}},
        "languages": ["es", "en"],
        "logging": {"level": "debug"},
    }
    for key, value in overrides.items():
        section = config.setdefault(key, {}) if isinstance(value, dict) else None
        if section is not None:
            _merge(section, value)
        else:
            config[key] = value
    return config


def _merge(into: dict, new: dict) -> None:
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v


@pytest.fixture
def start_daemon(tmp_path, rig, sim):
    started: list[DaemonProcess] = []

    def start(key: str | None = "sk-test-key-0123456789abcdef", watchdog_usec=None, **overrides) -> DaemonProcess:
        d = DaemonProcess(tmp_path, daemon_config(sim, rig, **overrides), rig.env(), key=key,
                          watchdog_usec=watchdog_usec)
        started.append(d)
        return d

    yield start
    for d in started:
        d.close()


def tone(freq_hz: float, seconds: float, rate: int = MIC_RATE, dbfs: float = -12.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (10 ** (dbfs / 20) * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def speech_like(seconds: float, rate: int = MIC_RATE) -> np.ndarray:
    """A voiced-speech stand-in the simulator's energy VAD hears: 220 Hz with harmonics, -12 dBFS."""
    t = np.arange(int(seconds * rate)) / rate
    s = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in (1, 2, 3))
    return (0.25 * s / np.max(np.abs(s))).astype(np.float32)


def silence(seconds: float, rate: int = MIC_RATE) -> np.ndarray:
    return np.zeros(int(seconds * rate), dtype=np.float32)
