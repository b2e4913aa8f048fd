"""Reading server events the same way for both session kinds: error events and base64 audio.

Everything here is hostile input: a frame may not be JSON, a field may be missing, of the wrong
type, or far too long.
Nothing raises; what cannot be used comes back as ``None`` (audio) or as empty text (errors), and
the caller logs it with its own context.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from typing import Any

from ..redact import escape
from .actions import SessionOver

log = logging.getLogger(__name__)

AUTH_CODES = frozenset({"invalid_api_key", "insufficient_quota", "authentication_error",
                        "unauthorized", "account_deactivated"})
"""The key is refused or the account cannot pay: retrying soon will not help."""
SESSION_ENDING_CODES = frozenset({"session_expired"})
"""The server ends a healthy session (the 60-minute limit): start the next one at once."""
RATE_LIMIT_CODES = frozenset({"rate_limit_exceeded"})
MESSAGE_CHARS = 300
"""A server's message is logged at most this long."""


@dataclass(frozen=True)
class ServerError:
    """An ``error`` event's ``error`` object, every field checked."""

    code: str
    message: str
    kind: str
    """The error's ``type`` (e.g. invalid_request_error); empty if none."""
    caused_by: str
    """The ``event_id`` of our event that caused it; empty if none."""

    def session_over(self) -> SessionOver | None:
        """The verdict when this error ends the session (a refused key, an expired session)."""
        if self.code in AUTH_CODES:
            log.error("server refused the session: %s (%s)", self.code, self.message)
            return SessionOver(self.code, auth=True)
        if self.code in SESSION_ENDING_CODES:
            log.info("server ended the session: %s", self.code)
            return SessionOver(self.code)
        return None


def parse_frame(message: str | bytes) -> dict[str, Any] | None:
    """A websocket frame -> the event object it carries; None (logged) for anything else."""
    try:
        parsed: Any = json.loads(message)
    except (ValueError, UnicodeDecodeError):
        log.warning("server frame is not JSON, ignored (%d bytes: %r...)", len(message), message[:60])
        return None
    except RecursionError:  # [[[[...]]]]: json's C parser gives up at the interpreter's depth limit
        log.warning("server frame nests too deeply, ignored (%d bytes)", len(message))
        return None
    if not isinstance(parsed, dict):
        log.warning("server frame is JSON but not an event object, ignored: %r", str(parsed)[:60])
        return None
    return parsed


def server_error(event: dict[str, Any]) -> ServerError:
    error = event.get("error")
    if not isinstance(error, dict):
        error = {}
    return ServerError(code=_text(error.get("code")), message=_text(error.get("message")),
                       kind=_text(error.get("type")), caused_by=_text(error.get("event_id")))


def audio(delta: object) -> bytes | None:
    """A base64 audio delta -> PCM16 bytes (whole samples only: half a sample cannot be played,
    the rest of the delta can). None when it is not text or not valid base64."""
    if not isinstance(delta, str):
        return None
    try:
        pcm = base64.b64decode(delta, validate=True)
    except (binascii.Error, ValueError):
        return None
    return pcm[:-1] if len(pcm) % 2 else pcm


def _text(value: object) -> str:
    """A field as one short line: it goes into the log, the status and the fleet's fault events."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, (int, float)):
        text = str(value)
    else:  # None, or a nested object: not str() of something a server may have nested deeply
        text = "" if value is None else f"({type(value).__name__})"
    return escape(text[:MESSAGE_CHARS])
