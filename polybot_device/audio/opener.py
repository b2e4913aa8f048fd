"""Opening the configured device, the one way both audio threads do, and saying so in words.

``device: auto`` is resolved at every open (:mod:`.choose`): a USB device that moved to another
port is found again. The choice is logged when it changes, with the reason; what the device
really gives (rate, channels, sample format) goes into the status text, and a failure names the
devices that are there.
"""

from __future__ import annotations

import logging

from .choose import resolve
from .devices import Direction, available_names
from .pcm import OpenPcm, open_pcm


class DeviceOpener:
    def __init__(self, direction: Direction, device: str, match: str | None, logger: logging.Logger) -> None:
        self.direction = direction
        self._device = device
        self._match = match
        self._log = logger
        self._label = "microphone" if direction == "capture" else "speaker"
        self.name = device
        """The PCM name opened last (what 'auto' resolved to)."""
        self._why = "configured"

    def open(self, rate: int, channels: int, period_ms: int, periods: int) -> OpenPcm:
        """Raises alsaaudio.ALSAAudioError (absent, busy, no usable format)."""
        choice = resolve(self.direction, self._device, self._match)
        if choice.name != self.name or choice.why != self._why:
            if choice.why != "configured":
                self._log.info("%s: %s", self._label, choice.why)
            self.name, self._why = choice.name, choice.why
        return open_pcm(self.direction, choice.name, rate, channels, period_ms, periods)

    def opened(self, opened: OpenPcm, note: str = "") -> str:
        """'speaker 'hw:CARD=x,DEV=0' open: 48000 Hz x2 S32_LE (asked for ...) [auto: ...]'."""
        auto = f" [{self._why}]" if self._why != "configured" else ""
        return f"{self._label} {self.name!r} open: {opened.describe()}{note}{auto}"

    def failed(self, what: str, exc: Exception) -> str:
        """'microphone 'x' cannot be opened: <error>; capture devices available: ...'."""
        names = ", ".join(available_names(self.direction)) or "none"
        return f"{self._label} {self.name!r} {what}: {exc}; {self.direction} devices available: {names}"
