"""``polybot-device doctor``: the first bring-up in one command, on the gadget itself.

In order: the sound devices; the configured mic with a live level meter; a spoken test sentence
through the speaker, its echo measured through the mic (delay, level; echo_tail_ms and volume
suggested); a button press and each LED in turn; DNS, TLS, the API key and the clock with one real
session handshake. Then a pass/fail report, printed and saved to the boot partition where there is
one. Exit 0: all good; 1: something to fix; 78: the config file itself is invalid (like every
subcommand).

It opens the devices exactly as the daemon does and never waits on one another program holds: run
while the service is running, it says which device the service holds and how to stop it.
Each check lives in its own module (sound, gpio, network, clock; the arithmetic in echo and meter),
each adds its findings to one :class:`~.report.Report`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..apikey import CREDENTIAL_NAME, KeySource
from ..audio.devices import format_devices, list_devices
from ..config import EX_CONFIG, Config, ConfigError, load_config
from .gpio import run_gpio
from .network import run_network
from .report import Finding, Report, Verdict, boot_report_path, save
from .service import check_service
from .sound import run_sound

__all__ = ["DEFAULT_CONFIG", "DoctorOptions", "run_doctor"]

DEFAULT_CONFIG = Path("/etc/polybot/polybot.yaml")
EX_ALL_GOOD = 0
EX_SOMETHING_TO_FIX = 1


@dataclass(frozen=True)
class DoctorOptions:
    config: Path = DEFAULT_CONFIG
    seconds: float = 3.0
    """How long the mic's level meter runs."""
    button_timeout_s: float | None = 20.0
    """How long to wait for the button press; None: do not ask (--no-button)."""
    report: Path | None = None
    """Where to save the report; None: the boot partition, where there is one."""


def key_source(config: Config, config_path: Path, on_key: Callable[[str], None] | None = None) -> KeySource:
    """The daemon's key sources. Run by hand (sudo), there is no systemd credential directory: the
    key file the unit's LoadCredential= reads sits beside the config under the credential's name
    (/etc/polybot/openai_api_key), so that directory stands in for it, as at the first boot."""
    environ = dict(os.environ)
    if not environ.get("CREDENTIALS_DIRECTORY") and (config_path.parent / CREDENTIAL_NAME).exists():
        environ["CREDENTIALS_DIRECTORY"] = str(config_path.parent)
    return KeySource(config.api.key_file, environ=environ, on_key=on_key, command=config.api.key_command,
                     command_timeout_s=config.api.key_command_timeout_s)


def run_doctor(options: DoctorOptions, out: TextIO | None = None, on_key: Callable[[str], None] | None = None) -> int:
    """The whole run; ``out`` (default: stdout at the time of the call) gets the meter and report."""
    out = out or sys.stdout
    try:
        config = load_config(options.config)
    except ConfigError as exc:
        print(f"polybot-device: {exc}", file=sys.stderr)
        return EX_CONFIG
    out.write(f"polybot-device doctor: {options.config}\n\n")
    report = Report()
    report.add(check_service())
    _devices(report, out)
    out.write("\n")
    asyncio.run(run_sound(config, report, out, options.seconds))
    run_gpio(config.controls, report, out, button_timeout_s=options.button_timeout_s)
    out.write("Checking the network and the API key...\n")
    asyncio.run(run_network(config, key_source(config, options.config, on_key), report))
    text = report.text(f"polybot-device doctor, {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, "
                       f"config {options.config}\n")
    out.write("\n" + text)
    path = boot_report_path(options.report)
    if path is not None:
        trouble = save(text, path)
        out.write(f"{trouble}\n" if trouble else f"Report saved to {path}\n")
    out.flush()
    return EX_ALL_GOOD if report.ok else EX_SOMETHING_TO_FIX


def _devices(report: Report, out: TextIO) -> None:
    """The table `devices` prints; a configured device that is missing shows in the mic/speaker lines."""
    devices = list_devices()
    out.write(format_devices(devices) + "\n")
    hw = [d for d in devices if d.kind == "hw"]
    report.add(Finding("sound devices", Verdict.PASS if hw else Verdict.WARN,
                       f"{sum(d.direction == 'capture' for d in hw)} capture and "
                       f"{sum(d.direction == 'playback' for d in hw)} playback hardware devices",
                       "" if hw else "no sound card found: is the USB mic or the I2S overlay set up?"))
