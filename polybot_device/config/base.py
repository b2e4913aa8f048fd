"""What every part of the config package shares: the one error, its exit status, bounded fields.

All configuration problems raise :class:`ConfigError`, which the CLI turns into exit status 78
(EX_CONFIG) so that one ``RestartPreventExitStatus=78`` stops systemd looping on it.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from ..redact import mask_secretish

EX_CONFIG = 78


class ConfigError(Exception):
    """A configuration problem; the message names the key path (or the file) and the bad value."""


def bounded(default: Any, *, min: float | None = None, max: float) -> Any:
    """A numeric field with the range validation enforces (``min``/``max`` inclusive). The maximum
    is not optional: a config file is hostile input, and a timing key of ``1e300`` (or ``.inf``)
    would stall a timer for ever or switch a watchdog off."""
    return field(default=default, metadata={"min": min, "max": max})


def show(value: Any) -> str:
    """A value as an error message quotes it: text quoted (anything that looks like a key masked: a
    key pasted into the wrong field must not reach the journal or the boot partition's error file),
    a whole mapping or list only named."""
    if isinstance(value, str):
        return repr(mask_secretish(value))
    if value is None:
        return "nothing (null)"
    return repr(value) if not isinstance(value, (dict, list)) else f"a {type(value).__name__}"
