"""Is the daemon running? Said first, because a running service holds the devices the doctor
tests, and on a shared device (ALSA's ``default`` through dmix/dsnoop) would even hear the test
sentence and translate it. Asked the way ``polybot-device health`` asks: the daemon's state file.
"""

from __future__ import annotations

from ..fleet.health import DOWN, check
from .report import Finding, Verdict

SERVICE = "polybot-device"
STOP = f"sudo systemctl stop {SERVICE}"


def busy_advice(device: str) -> str:
    """The one sentence for any device the service holds: a sound device or a GPIO pin."""
    return f"the {SERVICE} service is using {device}; stop it with `{STOP}`"


def check_service() -> Finding:
    verdict = check()
    if verdict.code == DOWN:
        return Finding("service", Verdict.PASS, f"{SERVICE} is not running ({verdict.reason}): the devices are free")
    return Finding("service", Verdict.WARN, f"{SERVICE} is running ({verdict.reason})",
                   f"it holds the mic, speaker and pins and would hear the test sentence: stop it with `{STOP}`")
