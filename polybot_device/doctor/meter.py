"""The live level meter and what the mic's levels say: plain numbers in, words out.

The meter shows what reaches the daemon (24 kHz mono after the downmix), so a mic array with the
wrong channel picked, or a 32-bit mic read as 16-bit, shows here as silence or noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np

from .echo import dbfs
from .report import Finding, Verdict

FLOOR_DBFS = -80.0
"""The meter's left edge."""
BAR_CHARS = 40
CLIP_LEVEL = 32767 / 32768 - 1e-6
CLIP_FRACTION = 0.001
"""More samples than this at full scale: the mic's gain is too high (or the format is wrong)."""


def bar(level_dbfs: float, width: int = BAR_CHARS) -> str:
    """'[#######.........]  -42 dBFS'; silence shows an empty bar."""
    filled = 0 if level_dbfs == -math.inf else round(width * (1 - max(FLOOR_DBFS, level_dbfs) / FLOOR_DBFS))
    shown = "  -inf" if level_dbfs == -math.inf else f"{level_dbfs:6.1f}"
    return f"[{'#' * filled}{'.' * (width - filled)}] {shown} dBFS"


@dataclass
class LevelStats:
    """Levels seen during the meter, one RMS per shown step."""

    steps: list[float] = field(default_factory=list)
    samples: int = 0
    nonzero: int = 0
    clipped: int = 0
    peak: float = 0.0

    def add(self, block: np.ndarray) -> float:
        """One step's samples (float, full scale 1.0); returns its RMS in dBFS."""
        if len(block) == 0:
            return -math.inf
        magnitude = np.abs(block)
        self.samples += len(block)
        self.nonzero += int(np.count_nonzero(block))
        self.clipped += int(np.count_nonzero(magnitude >= CLIP_LEVEL))
        self.peak = max(self.peak, float(magnitude.max()))
        rms = dbfs(float(np.sqrt(np.mean(block * block))))
        self.steps.append(rms)
        return rms

    def quietest_rms(self) -> float:
        """The room's noise floor: the quietest step (RMS, linear full scale)."""
        finite = [s for s in self.steps if s != -math.inf]
        return 10 ** (min(finite) / 20) if finite else 0.0


def judge(stats: LevelStats, device: str, seconds: float) -> Finding:
    if stats.samples == 0:
        return Finding("microphone", Verdict.FAIL, f"{device} opened but delivered no audio in {seconds:g} s",
                       "a USB mic behind a hub may need a powered hub; replug it and run the doctor again")
    if stats.nonzero == 0:
        return Finding("microphone", Verdict.FAIL, f"{device} delivers only digital silence (all zeros)",
                       "check the capture volume in alsamixer (F4), audio.input.channels, and that this is "
                       "the mic you mean (polybot-device devices)")
    finite = [s for s in stats.steps if s != -math.inf] or [FLOOR_DBFS]
    levels = f"quietest {min(finite):.0f} dBFS, loudest {max(finite):.0f} dBFS, peak {dbfs(stats.peak):.0f} dBFS"
    if stats.clipped > CLIP_FRACTION * stats.samples:
        return Finding("microphone", Verdict.WARN, f"{device} clips ({stats.clipped} samples at full scale); {levels}",
                       "lower the mic's capture gain in alsamixer, or move it away from the speaker")
    return Finding("microphone", Verdict.PASS, f"{device} delivers audio: {levels}")


class Meter:
    """Draws the level: redrawn in place on a terminal at every step, every fifth step as a line
    otherwise (a log or a test)."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._tty = out.isatty()

    def show(self, level_dbfs: float, step: int) -> None:
        if self._tty:
            self._out.write(f"\r  mic {bar(level_dbfs)}")
            self._out.flush()
        elif step % 5 == 1:
            self._out.write(f"  mic {bar(level_dbfs)}\n")

    def done(self) -> None:
        if self._tty:
            self._out.write("\n")
        self._out.flush()
