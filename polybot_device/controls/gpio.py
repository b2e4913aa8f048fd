"""Is this a Raspberry Pi, and why did gpiozero find no pin library? For the one log line a
gadget without working GPIO writes (a laptop running the demo is told apart from a broken Pi)."""

from __future__ import annotations

import warnings
from pathlib import Path

from gpiozero.exc import PinFactoryFallback


def is_a_pi(device_tree_model: Path = Path("/proc/device-tree/model"),
            cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """The device tree's model, or (kernels without one exposed) /proc/cpuinfo's Model line, names
    a Raspberry Pi: where gpiozero itself looks to identify the board."""
    try:
        return "raspberry pi" in device_tree_model.read_text(errors="replace").lower()
    except OSError:
        pass
    try:
        with cpuinfo.open(errors="replace") as f:
            return any(line.startswith("Model") and "raspberry pi" in line.lower() for line in f)
    except OSError:
        return False


def fallback_reasons(caught: list[warnings.WarningMessage]) -> str:
    """gpiozero's 'Falling back from lgpio: ...' notes, one per pin library it tried."""
    return "; ".join(str(w.message) for w in caught if issubclass(w.category, PinFactoryFallback))
