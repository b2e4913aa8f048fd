"""Keeping secrets out of everything the daemon writes: one mask, two ways to apply it.

* :func:`mask_key_shaped`: text that looks like a credential (``sk-...``, ``ek_...``,
  ``Bearer ...``, ``token=...``) is masked wherever it appears, for outputs that may carry a
  secret nobody told us about: a key command's stderr, a config value shown by check-config.
* :class:`SecretRedactor`: the keys actually read are remembered and masked in every log record,
  whatever shape they have (belt and braces: nothing should log a key in the first place).

And two shapes for text that leaves the daemon in one line: :func:`status_text` (STATUS=,
state.json, ``health``: key-shaped parts masked, escaped, short) and :func:`escape` (a line of the
log that quotes a server: no raw newline or terminal escape can forge another line).
"""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "[redacted]"

_KEY_SHAPED = re.compile(
    r"(?i)(sk-[A-Za-z0-9_\-]{6,}|ek_[A-Za-z0-9_\-]{6,}|(?:bearer|basic)\s+\S+|"
    r"(?:token|secret|password|passwd|api[_-]?key)\s*[=:]\s*\S+)"
)


def mask_key_shaped(text: str) -> str:
    """``text`` with every key-shaped part replaced by MASK."""
    return _KEY_SHAPED.sub(MASK, text)


STATUS_CHARS = 200
"""A status detail is at most this long: it is one line in `systemctl status`."""
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def escape(text: str) -> str:
    """``text`` on one line: control characters (newlines, ESC, bidi and zero-width marks, the BOM)
    written as Python escapes (``\\n``, ``\\x1b``), so a quoted server text cannot forge log
    lines or hide what it says."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def status_text(text: str) -> str:
    """A detail for the status (STATUS=, state.json, ``health``): key-shaped parts masked, escaped,
    at most STATUS_CHARS characters."""
    text = escape(mask_key_shaped(text))
    return text if len(text) <= STATUS_CHARS else text[:STATUS_CHARS - 3] + "..."


_ALNUM_RUN = re.compile(r"[A-Za-z0-9]{16,}")


def _token(match: re.Match[str]) -> str:
    run = match.group()
    return MASK if any(c.isdigit() for c in run) and any(c.isalpha() for c in run) else run


def mask_secretish(text: str) -> str:
    """:func:`mask_key_shaped`, and every token-shaped run masked too (16 or more letters and digits,
    mixed, unbroken: an Azure key's 32 hex digits, a token of unknown shape): for a value quoted back
    to a person (a config error), where a key pasted into the wrong field must not be echoed. Model
    names, paths, URLs and device names are words split by punctuation, and are left alone."""
    return _ALNUM_RUN.sub(_token, mask_key_shaped(text))


def mask_values(value: Any) -> Any:
    """:func:`mask_key_shaped` applied to every string inside plain data (lists, dicts)."""
    if isinstance(value, str):
        return mask_key_shaped(value)
    if isinstance(value, list):
        return [mask_values(v) for v in value]
    if isinstance(value, dict):
        return {k: mask_values(v) for k, v in value.items()}
    return value


class SecretRedactor(logging.Filter):
    """Replaces every known secret in log records with a mask. Belt and braces: nothing should
    log a key in the first place, but a library's exception text might."""

    KEEP = 32
    """Secrets remembered: short-lived keys from api.key_command arrive once per connect, so the
    set is bounded (the oldest go; a key still in use is re-added on every read)."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: tuple[str, ...] = ()

    def add(self, secret: str) -> None:
        """Thread-safe (keys are read in a worker thread): the tuple is replaced, never mutated."""
        if len(secret) >= 8:
            self._secrets = (*[s for s in self._secrets if s != secret][-(self.KEEP - 1):], secret)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        text = record.exc_text or ""
        if any(s in message or s in text for s in self._secrets):
            for s in self._secrets:
                message = message.replace(s, MASK)
                text = text.replace(s, MASK)
            record.msg, record.args = message, None
            record.exc_text = text or None
        return True
