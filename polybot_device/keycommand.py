"""``api.key_command``: a program that prints a short-lived API key, run before every connect.

A fleet backend that holds the real API key mints an ephemeral one (``ek_...``) per device and per
session; the device then never stores a long-lived key. The command is an argv list (no shell),
inherits the daemon's environment (``$CREDENTIALS_DIRECTORY`` included, so a device token handed
over with ``LoadCredential=`` can authenticate it to the backend), gets no stdin, and must print
the key on stdout: either the bare key, or a JSON object with the key in ``value`` (the shape of
the Realtime API's client-secret response, so a backend may pass that through unchanged).

Guarantees: the key is never logged (the caller hands it to the log redactor before anyone can);
stderr is reported only as its last line, shortened and with key-shaped text masked; a command
that fails, hangs past ``timeout_s`` (it is killed) or prints no key raises
:class:`KeyUnavailable`, which the link treats like a refused key: the auth-error state and a slow
retry, never a crash. Runs in a daemon thread (KeySource.read_async, via :mod:`.background`).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence

from .redact import mask_key_shaped

STDERR_WORDS = 160


class KeyCommandFailed(Exception):
    """The command did not produce a key; the message is safe to log."""


def run_key_command(argv: Sequence[str], timeout_s: float) -> str:
    """Run ``argv`` and return the key it printed. Raises KeyCommandFailed."""
    what = f"api.key_command {argv[0]}"
    try:
        done = subprocess.run(list(argv), stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise KeyCommandFailed(f"{what} printed no key within {timeout_s:g} s (killed)") from None
    except OSError as exc:
        raise KeyCommandFailed(f"{what} cannot be run: {exc.strerror or exc}") from None
    if done.returncode != 0:
        raise KeyCommandFailed(f"{what} failed with status {done.returncode}{_stderr_tail(done.stderr)}")
    key = _parse(done.stdout)
    if key is None:
        raise KeyCommandFailed(f"{what} exited 0 but printed no key (expected one line, or JSON with 'value')")
    return key


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


