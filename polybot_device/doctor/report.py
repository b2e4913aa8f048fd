"""What the doctor found: one line per check, a verdict, and the report a person reads.

The report is plain text on purpose: it is printed on the terminal and written to the boot
partition, where someone with only a PC opens it in a text editor. A finding's words may quote a
device's or a server's error text, never a key (the doctor never prints one).
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..fleet.atomic import write_atomically
from ..redact import mask_key_shaped

BOOT_DIR_ENV = "POLYBOT_BOOT_DIR"
"""Overrides the boot partition's mount point (the same variable polybot-firstboot reads)."""
DEFAULT_BOOT_DIR = "/boot/firmware"
REPORT_NAME = "polybot-doctor.txt"


class Verdict(enum.StrEnum):
    PASS = "PASS"
    WARN = "WARN"
    """Works, but worth a look (clipping mic, no echo heard); does not fail the run."""
    FAIL = "FAIL"
    """Something to fix before the gadget can work."""
    SKIP = "SKIP"
    """Not checked (asked not to, or nothing to check, e.g. no GPIO on this machine)."""


@dataclass(frozen=True)
class Finding:
    check: str
    """Short name: 'microphone', 'echo', 'button', 'API key', ..."""
    verdict: Verdict
    summary: str
    """One line: what was seen."""
    advice: str = ""
    """What to do about it (empty when nothing)."""


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    recommendations: dict[str, str] = field(default_factory=dict)
    """Config key -> value the doctor suggests (e.g. 'audio.echo_tail_ms' -> '350')."""

    def add(self, finding: Finding) -> Finding:
        self.findings.append(finding)
        return finding

    @property
    def ok(self) -> bool:
        """Nothing failed (warnings and skips do not fail the run)."""
        return all(f.verdict is not Verdict.FAIL for f in self.findings)

    def text(self, header: str = "") -> str:
        lines = [header] if header else []
        width = max((len(f.check) for f in self.findings), default=0)
        for f in self.findings:
            lines.append(f"{f.verdict.value:<4}  {f.check:<{width}}  {mask_key_shaped(f.summary)}")
            if f.advice:
                lines.append(f"{'':<4}  {'':<{width}}  -> {mask_key_shaped(f.advice)}")
        if self.recommendations:
            lines.append("")
            lines.append("Suggested settings for polybot.yaml:")
            lines.extend(f"  {key}: {value}" for key, value in self.recommendations.items())
        failed = [f.check for f in self.findings if f.verdict is Verdict.FAIL]
        lines.append("")
        lines.append("Result: all good." if not failed else f"Result: {len(failed)} to fix ({', '.join(failed)}).")
        return "\n".join(lines) + "\n"


def boot_report_path(explicit: Path | None) -> Path | None:
    """Where to save the report: ``--report FILE``, else the boot partition when this machine has
    one (the image's /boot/firmware, or $POLYBOT_BOOT_DIR), else nowhere."""
    if explicit is not None:
        return explicit
    boot = Path(os.environ.get(BOOT_DIR_ENV) or DEFAULT_BOOT_DIR)
    return boot / REPORT_NAME if boot.is_dir() else None


def save(report_text: str, path: Path) -> str | None:
    """Write the report atomically; None when it worked, else why not (for the terminal)."""
    try:
        write_atomically(path, report_text)
        os.sync()  # the boot partition is FAT on an SD card: someone may pull the power next
    except OSError as exc:
        hint = " (run the doctor with sudo to save it there)" if isinstance(exc, PermissionError) else ""
        return f"could not write {path}: {exc.strerror or exc}{hint}"
    return None
