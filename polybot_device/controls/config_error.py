"""`polybot-device show-config-error`: the status LED says "the config is bad" until systemd stops us.

Run by polybot-config-error.service after the daemon exited 78. The config is known to be invalid, so
only its ``controls:`` section is read (the pins may well be fine even when an API setting is not);
when even that cannot be used, the defaults are (button 17, status LED 27).
"""

from __future__ import annotations

import logging
import re
import signal
import warnings
from pathlib import Path

import yaml
from gpiozero.exc import GPIOZeroError

from ..config import ConfigError, ControlsConfig, parse_controls
from .gpio import fallback_reasons, is_a_pi
from .lights import StatusLight

log = logging.getLogger(__name__)

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def show_config_error(config_path: str | Path) -> int:
    """Show the config-error pattern until SIGTERM (or SIGINT); returns 0 then. Without GPIO (or with
    ``controls.enabled: false``) it logs so and waits for the signal all the same."""
    controls = read_controls(config_path)
    # Block the stop signals before any LED thread exists, so every thread inherits the mask and the
    # signal stays pending until sigwait() below takes it.
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    light = None
    try:
        if not controls.enabled:
            log.info("controls.enabled is false: not showing the config error on the LEDs")
        else:
            light = _open_light(controls)
        if light is not None:
            light.show_config_error()
            log.info("config error: status LED shows the config-error pattern (4 flashes, pause) until stopped")
        received = signal.sigwait(STOP_SIGNALS)
        log.info("%s: stopping", signal.Signals(received).name)
        return 0
    finally:
        if light is not None:
            light.close()
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


def _open_light(controls: ControlsConfig) -> StatusLight | None:
    with warnings.catch_warnings(record=True) as caught:  # gpiozero's notes on each pin library it tried
        warnings.simplefilter("always")
        try:
            return StatusLight(controls)
        except ImportError:  # gpiozero's BadPinFactory: no pin library works on this machine
            if is_a_pi():
                log.warning("GPIO unusable (%s): cannot show the config error on an LED",
                            fallback_reasons(caught) or "no pin factory")
            else:
                log.info("no GPIO here: cannot show the config error on an LED; waiting to be stopped")
        except (GPIOZeroError, OSError) as exc:
            log.warning("GPIO unusable (%s: %s): cannot show the config error on an LED", type(exc).__name__, exc)
    return None


def read_controls(config_path: str | Path) -> ControlsConfig:
    """The ``controls:`` section of a config that may be broken elsewhere; the defaults if unusable."""
    path = Path(config_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("%s: cannot read (%s): using the default pins", path, exc)
        return ControlsConfig()
    data = _load(text)
    if data is _BROKEN:  # a syntax error somewhere: try the controls block on its own
        data = _load(_controls_block(text))
    if data is None:  # an empty file, or no controls block at all
        data = {}
    if not isinstance(data, dict):
        log.warning("%s: controls section unreadable: using the default pins", path)
        return ControlsConfig()
    try:
        return parse_controls(data.get("controls"))
    except ConfigError as exc:
        log.warning("%s: %s: using the default pins", path, exc)
        return ControlsConfig()


_BROKEN = object()


def _load(text: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return _BROKEN


_TOP_LEVEL_KEY = re.compile(r"^[^\s#]")


def _controls_block(text: str) -> str:
    """The lines from ``controls:`` to the next top-level key."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^controls\s*:", line):
            end = next((j for j in range(i + 1, len(lines)) if _TOP_LEVEL_KEY.match(lines[j])), len(lines))
            return "\n".join(lines[i:end])
    return ""
