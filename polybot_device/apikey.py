"""Where the API key comes from, read afresh on every connect so a rotated key file is picked up.

Order: ``OPENAI_API_KEY``, then ``api.key_file``, then the systemd credential
``$CREDENTIALS_DIRECTORY/openai_api_key`` (LoadCredential= copies it when the unit starts, so a
rotated credential needs ``systemctl restart``). When ``api.key_command`` is set it is the only
source: a short-lived key is minted before every connect (:mod:`.keycommand`). The key is never
logged or printed; every key read is also handed to the log redactor so that even a careless log
line cannot carry it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .background import call_in_daemon_thread
from .config import ConfigError
from .keycommand import KeyCommandFailed, run_key_command

CREDENTIAL_NAME = "openai_api_key"
NO_KEY_FILE = (
    "no API key: the systemd credential openai_api_key is empty, so the key file the unit loads "
    "(/etc/polybot/openai_api_key unless LoadCredential= was changed) is missing or empty: put the key "
    "there (one line, owner root, mode 0600) and run: systemctl restart polybot-device"
)


class KeyUnavailable(Exception):
    """No key right now (e.g. the key file is being rotated); the caller retries slowly."""


class KeyEmpty(KeyUnavailable):
    """The key file or credential is there but blank."""


@dataclass(frozen=True)
class ApiKey:
    value: str
    source: str  # words for the log: "OPENAI_API_KEY", "api.key_file /etc/...", "systemd credential"

    def __repr__(self) -> str:  # never let a repr() in a traceback show it
        return f"ApiKey(source={self.source!r})"

    __str__ = __repr__


class KeySource:
    def __init__(self, key_file: str | None, environ: Mapping[str, str] | None = None,
                 on_key: Callable[[str], None] | None = None, command: Sequence[str] | None = None,
                 command_timeout_s: float = 10.0) -> None:
        self._key_file = key_file
        self._command = tuple(command) if command else None
        self._command_timeout_s = command_timeout_s
        self._environ = os.environ if environ is None else environ
        self._on_key = on_key

    def describe(self) -> str | None:
        """Which source would be used, without reading any secret (for check-config); None: none."""
        if self._command:
            return f"api.key_command {self._command[0]} (run before every connect; not run by check-config)"
        if self._environ.get("OPENAI_API_KEY", "").strip():
            return "OPENAI_API_KEY"
        if self._key_file:
            return f"api.key_file {self._key_file}"
        creds = self._environ.get("CREDENTIALS_DIRECTORY")
        if creds and (Path(creds) / CREDENTIAL_NAME).exists():
            return "systemd credential openai_api_key"
        return None

    def check_configured(self) -> None:
        """At start-up: no source at all is a configuration problem (exit 78). A key command is
        not run here (its failures are runtime faults); only a missing program is a config error."""
        if self._command:
            if shutil.which(self._command[0]) is None:
                raise ConfigError(f"api.key_command: {self._command[0]!r} is not an executable program")
            return
        try:
            self.read()
        except KeyUnavailable as exc:
            raise ConfigError(f"api key: {exc}") from None

    async def read_async(self) -> ApiKey:
        """read() for the event loop: a key command runs in a thread, the loop keeps going."""
        if self._command:
            return await call_in_daemon_thread(self.read, "key-command")
        return self.read()

    def read(self) -> ApiKey:
        """The key to connect with now. Blocks while a key command runs (see read_async)."""
        if self._command:
            try:
                value = run_key_command(self._command, self._command_timeout_s)
            except KeyCommandFailed as exc:
                raise KeyUnavailable(str(exc)) from None
            return self._found(value, f"api.key_command {self._command[0]}")
        env_key = self._environ.get("OPENAI_API_KEY", "").strip()
        if env_key:
            return self._found(env_key, "OPENAI_API_KEY")
        if self._key_file:
            return self._found(_read_file(Path(self._key_file), "api.key_file"), f"api.key_file {self._key_file}")
        creds = self._environ.get("CREDENTIALS_DIRECTORY")
        if creds:
            path = Path(creds) / CREDENTIAL_NAME
            if path.exists():
                try:
                    value = _read_file(path, "credential")
                except KeyEmpty:  # the unit's SetCredential= fallback: LoadCredential= found no key file
                    raise KeyUnavailable(NO_KEY_FILE) from None
                return self._found(value, "systemd credential openai_api_key")
        raise KeyUnavailable(
            "no API key: set OPENAI_API_KEY, or api.key_file, or the systemd credential "
            f"{CREDENTIAL_NAME} (LoadCredential=)"
        )

    def _found(self, value: str, source: str) -> ApiKey:
        if self._on_key:
            self._on_key(value)
        return ApiKey(value, source)


def _read_file(path: Path, what: str) -> str:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise KeyUnavailable(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if not value:
        raise KeyEmpty(f"{what} {path} is empty")
    return value
