"""``api.key_command``: a program that prints a short-lived API key, run before every connect.

A fleet backend that holds the real API key mints an ephemeral one (``ek_...``) per device and per
session; the device then never stores a long-lived key. The command is an argv list (no shell),
inherits the daemon's environment (``$CREDENTIALS_DIRECTORY`` included, so a device token handed
over with ``LoadCredential=`` can authenticate it to the backend), gets no stdin, and must print
the key on stdout: either the bare key, or a JSON object with the key in ``value`` (the shape of
the Realtime API's client-secret response, so a backend may pass that through unchanged).

Guarantees: the key is never logged (the caller hands it to the log redactor before anyone can);
stderr is reported only as its last line, shortened and with key-shaped text masked; a command
that fails, hangs past ``timeout_s``, prints more than :data:`MAX_STDOUT_BYTES` or prints no key
raises :class:`KeyCommandFailed`, which the link treats like a refused key: the auth-error state
and a slow retry, never a crash. The command runs in a process group of its own, and that whole
group is killed once the command is done with (on a timeout, an overflow, or after it exited), so
neither a runaway command nor children it left behind can eat the Pi's RAM or pile up over a
year of reconnects. Only the last :data:`MAX_STDERR_BYTES` of stderr are kept. Runs in a daemon
thread (KeySource.read_async, via :mod:`.background`): it blocks that thread, never the loop.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Sequence

from .redact import mask_key_shaped

STDERR_WORDS = 160
MAX_STDOUT_BYTES = 64 * 1024
"""More than this on stdout is not a key (a JSON client secret is well under 1 KiB)."""
MAX_STDERR_BYTES = 16 * 1024
"""The tail of stderr kept for the one line that is reported."""


class KeyCommandFailed(Exception):
    """The command did not produce a key; the message is safe to log."""


def run_key_command(argv: Sequence[str], timeout_s: float) -> str:
    """Run ``argv`` and return the key it printed. Raises KeyCommandFailed."""
    what = f"api.key_command {argv[0]}"
    try:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        raise KeyCommandFailed(f"{what} cannot be run: {exc.strerror or exc}") from None
    try:
        stdout, stderr, problem = _collect(proc, timeout_s)
    finally:
        _end(proc)
    if problem == _TIMEOUT:
        raise KeyCommandFailed(f"{what} printed no key within {timeout_s:g} s (killed)")
    if problem == _OVERFLOW:
        raise KeyCommandFailed(f"{what} printed more than {MAX_STDOUT_BYTES // 1024} KiB (killed); not a key")
    if proc.returncode != 0:
        raise KeyCommandFailed(f"{what} failed with status {proc.returncode}{_stderr_tail(stderr)}")
    key = _parse(stdout)
    if key is None:
        raise KeyCommandFailed(f"{what} exited 0 but printed no key (expected one line, or JSON with 'value')")
    return key


_TIMEOUT, _OVERFLOW = "timeout", "overflow"


def _collect(proc: subprocess.Popen[bytes], timeout_s: float) -> tuple[bytes, bytes, str | None]:
    """Read stdout and stderr (bounded) until both are closed and the command exited, or the
    deadline. The exit is watched through a pidfd, which does not reap: the process group stays
    ours to kill until :func:`_end` has killed it."""
    assert proc.stdout is not None and proc.stderr is not None
    deadline = time.monotonic() + timeout_s
    out, err = proc.stdout.fileno(), proc.stderr.fileno()
    buffers = {out: bytearray(), err: bytearray()}
    pidfd = os.pidfd_open(proc.pid)
    try:
        with selectors.DefaultSelector() as selector:
            for fd in (out, err, pidfd):
                selector.register(fd, selectors.EVENT_READ)
            while selector.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return bytes(buffers[out]), bytes(buffers[err]), _TIMEOUT
                for key, _ in selector.select(remaining):
                    chunk = b"" if key.fd == pidfd else os.read(key.fd, 65536)
                    if not chunk:
                        selector.unregister(key.fd)
                        continue
                    buffer = buffers[key.fd]
                    buffer += chunk
                    if key.fd == out and len(buffer) > MAX_STDOUT_BYTES:
                        return b"", bytes(buffers[err]), _OVERFLOW
                    if key.fd == err and len(buffer) > MAX_STDERR_BYTES:
                        del buffer[:-MAX_STDERR_BYTES]
    finally:
        os.close(pidfd)
    return bytes(buffers[out]), bytes(buffers[err]), None


def _end(proc: subprocess.Popen[bytes]) -> None:
    """Kill the command's whole process group (what it started too), then reap it. The group id
    is the command's pid, which cannot be reused before the reap below."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already empty
    proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def _parse(stdout: bytes) -> str | None:
    text = stdout.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return None
        value = data.get("value") if isinstance(data, dict) else None
        if value is None and isinstance(data, dict) and isinstance(data.get("client_secret"), dict):
            value = data["client_secret"].get("value")
        text = value.strip() if isinstance(value, str) else ""
    if not text or any(c.isspace() for c in text) or len(text) > 4096:
        return None
    return text


def _stderr_tail(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    if not lines:
        return ""
    return ": " + mask_key_shaped(lines[-1])[:STDERR_WORDS]


