"""``polybot-device health``: is the running daemon doing its job? One line, and an exit status
update tools act on (these codes are this command's own; the daemon's stay 0/78/1):

    0  healthy: a session with the API is up and the microphone delivers audio
    1  running but degraded: connecting, offline, microphone missing or silent, key refused
    2  not running: no state file, its process is gone, or it is stale (the daemon hangs)

It only reads the state file (:mod:`.runtime_state`); it never talks to the daemon or the network,
so it is quick and safe to run every few seconds (Docker/balena HEALTHCHECK, a Mender or RAUC
hook). Liveness of the pid is checked with ``kill(pid, 0)``: run it in the daemon's PID namespace
(on the host for the systemd unit, inside the container on balena).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..cost.report import health_words
from .runtime_state import STALE_AFTER_S, StateUnreadable, boot_id, boottime_s, read_state, state_path

HEALTHY, DEGRADED, DOWN = 0, 1, 2
AUDIO_STALE_S = 3.0
"""No microphone chunk for this long while the mic is 'present' means audio is not flowing."""
_WORKING = {"listening", "hearing", "speaking"}


@dataclass(frozen=True)
class Verdict:
    code: int
    reason: str


def assess(state: Mapping[str, Any], *, now_boottime_s: float, this_boot: str,
           pid_alive: Callable[[int], bool]) -> Verdict:
    """The verdict for one state file's content (pure: the clock and pid check are passed in)."""
    pid = state.get("pid")
    if not isinstance(pid, int) or not pid_alive(pid):
        return Verdict(DOWN, f"not running: process {pid} is gone (its state file was left behind)")
    if this_boot and state.get("boot_id") and state["boot_id"] != this_boot:
        return Verdict(DOWN, "not running: the state file is from an earlier boot")
    age = now_boottime_s - float(state.get("boottime_s", 0.0))
    if age > STALE_AFTER_S:
        return Verdict(DOWN, f"stale: the daemon (pid {pid}) last reported {age:.0f} s ago; "
                             f"it should every {state.get('heartbeat_s', '?')} s (hung?)")
    verdict = _assess_running(state)
    cost = health_words(dict(state))
    return Verdict(verdict.code, f"{verdict.reason}; {cost}") if cost else verdict


def _assess_running(state: Mapping[str, Any]) -> Verdict:
    words = str(state.get("status") or state.get("state") or "unknown")
    detail = state.get("detail") or ""
    if state.get("state") not in _WORKING or state.get("link") != "up":
        return Verdict(DEGRADED, f"degraded: {words}{f' ({detail})' if detail else ''}")
    if not state.get("mic_present", False):
        return Verdict(DEGRADED, f"degraded: microphone missing{f' ({detail})' if detail else ''}")
    audio_age = state.get("audio_age_s")
    if audio_age is None or float(audio_age) > AUDIO_STALE_S:
        silent = "never" if audio_age is None else f"not for {float(audio_age):.0f} s"
        return Verdict(DEGRADED, f"degraded: the microphone has delivered no audio ({silent})")
    parts = [f"healthy: {words}"]
    session = state.get("session_age_s")
    if session is not None:
        parts.append(f"session up {_duration(float(session))}")
    parts.append(f"{state.get('utterances_translated', 0)} utterance(s) translated")
    if state.get("busy"):
        parts.append("translation in progress")
    return Verdict(HEALTHY, "; ".join(parts))


def check(environ: Mapping[str, str] | None = None) -> Verdict:
    path = state_path(environ)
    try:
        state = read_state(path)
    except StateUnreadable as exc:
        return Verdict(DOWN, f"not running: {exc}")
    return assess(state, now_boottime_s=boottime_s(), this_boot=boot_id(), pid_alive=pid_alive)


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process (the daemon runs as polybot): it exists
        return True
    return True


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def main() -> int:
    verdict = check()
    print(verdict.reason, flush=True)
    return verdict.code
