"""Structured journal entries: every state change, utterance and fault, queryable by field.

Each is an ordinary log record whose ``extra`` carries ``POLYBOT_*`` fields; under systemd the
JournalHandler turns them into journal fields, so

    journalctl -u polybot-device POLYBOT_EVENT=fault -o json

gives the fault history without parsing text. The fields:

    POLYBOT_EVENT      state | utterance | fault
    POLYBOT_STATE      the State value after the change ("listening", "offline", ...)
    POLYBOT_CAUSE      fault: a realtime.failures.Cause value, or mic_missing
    POLYBOT_LANGUAGE   utterance: the selected language (conversation: the one paired with the
                       home language; one-way and interpreter: the target)
    POLYBOT_MODE       utterance: conversation | one-way | interpreter
    POLYBOT_LATENCY_S  utterance: end of speech -> first audio out, seconds (absent if unknown)
    POLYBOT_TOKENS_IN, POLYBOT_TOKENS_OUT, POLYBOT_CACHED_SHARE, POLYBOT_COST
                       utterance (and response, for one that did not complete): the response's
                       input and output tokens, the cached share of its input (0..1), its
                       estimated cost in cost.currency (absent when the server gave no usage)

Off systemd these are plain log lines on stderr. Transcripts never go in these fields.

``POLYBOT_JOURNAL_SOCKET`` (tests only) sends the entries to that unix datagram socket in
journald's native protocol instead of ``/run/systemd/journal/socket``, so a test without a
journal can read back exactly what journald would have received.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
from collections.abc import Callable
from typing import Any

log = logging.getLogger("polybot_device.fleet")

EVENT_STATE, EVENT_UTTERANCE, EVENT_FAULT, EVENT_RESPONSE = "state", "utterance", "fault", "response"


def utterance(mode: str, language: str, latency_s: float | None, cost: dict[str, str] | None = None) -> None:
    fields = {"POLYBOT_EVENT": EVENT_UTTERANCE, "POLYBOT_MODE": mode, "POLYBOT_LANGUAGE": language, **(cost or {})}
    if latency_s is not None:
        fields["POLYBOT_LATENCY_S"] = f"{latency_s:.3f}"
        log.info("utterance translated (%s, %s): first audio %.2f s after the speech ended",
                 mode, language, latency_s, extra=fields)
    else:
        log.info("utterance translated (%s, %s)", mode, language, extra=fields)


def response_cost(status: str, cost: dict[str, str]) -> None:
    """A response that did not complete (cancelled, failed...) is billed all the same."""
    log.info("response %s: %s tokens in, %s out", status, cost.get("POLYBOT_TOKENS_IN"), cost.get("POLYBOT_TOKENS_OUT"),
             extra={"POLYBOT_EVENT": EVENT_RESPONSE, **cost})


def fault(cause: str, state: str, detail: str) -> None:
    log.warning("fault: %s (%s)", detail or cause, cause,
                extra={"POLYBOT_EVENT": EVENT_FAULT, "POLYBOT_CAUSE": cause, "POLYBOT_STATE": state})


# -- the test stand-in for journald ----------------------------------------------------------------

def sender_from_environment() -> Callable[..., Any] | None:
    """The sender JournalHandler should use: None (systemd.journal.send, the real journal) unless
    the test-only POLYBOT_JOURNAL_SOCKET is set."""
    path = os.environ.get("POLYBOT_JOURNAL_SOCKET")
    return NativeSender(path) if path else None


class NativeSender:
    """``systemd.journal.send``'s signature, speaking journald's native protocol to ``path``:
    ``KEY=value\\n`` per field, or ``KEY\\n<le64 length>value\\n`` when the value has a newline."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def __call__(self, MESSAGE: str, MESSAGE_ID: Any = None, CODE_FILE: Any = None,  # noqa: N803
                 CODE_LINE: Any = None, CODE_FUNC: Any = None, **fields: Any) -> None:
        entry = {"MESSAGE": MESSAGE, "CODE_FILE": CODE_FILE, "CODE_LINE": CODE_LINE, "CODE_FUNC": CODE_FUNC}
        if MESSAGE_ID is not None:
            entry["MESSAGE_ID"] = getattr(MESSAGE_ID, "hex", MESSAGE_ID)
        entry.update(fields)
        data = bytearray()
        for key, value in entry.items():
            if value is None:
                continue
            name = key.upper().encode()
            raw = value if isinstance(value, bytes) else str(value).encode("utf-8", "replace")
            if b"\n" in raw:
                data += name + b"\n" + struct.pack("<Q", len(raw)) + raw + b"\n"
            else:
                data += name + b"=" + raw + b"\n"
        try:
            self._sock.sendto(bytes(data), self.path)
        except OSError:
            pass  # journald drops what it cannot take, too


def parse_native(datagram: bytes) -> dict[str, str]:
    """One native-protocol datagram -> its fields (for tests)."""
    fields: dict[str, str] = {}
    i = 0
    while i < len(datagram):
        end = datagram.index(b"\n", i)
        line = datagram[i:end]
        if b"=" in line:
            key, _, value = line.partition(b"=")
            fields[key.decode()] = value.decode("utf-8", "replace")
            i = end + 1
        else:
            (size,) = struct.unpack("<Q", datagram[end + 1:end + 9])
            start = end + 9
            fields[line.decode()] = datagram[start:start + size].decode("utf-8", "replace")
            i = start + size + 1
    return fields
