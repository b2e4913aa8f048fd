"""Where the API key comes from, read afresh on every connect so a rotated key file is picked up.

Order: ``OPENAI_API_KEY``, then ``api.key_file``, then the systemd credential
``$CREDENTIALS_DIRECTORY/openai_api_key`` (LoadCredential= copies it when the unit starts, so a
rotated credential needs ``systemctl restart``). The key is never logged or printed; every key
read is also handed to the log redactor so that even a careless log line cannot carry it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .config import ConfigError

CREDENTIAL_NAME = "openai_api_key"


class KeyUnavailable(Exception):
    """No key right now (e.g. the key file is being rotated); the caller retries slowly."""


@dataclass(frozen=True)
class ApiKey:
    value: str
    source: str  # words for the log: "OPENAI_API_KEY", "api.key_file /etc/...", "systemd credential"

    def __repr__(self) -> str:  # never let a repr() in a traceback show it
        return f"ApiKey(source={self.source!r})"

    __str__ = __repr__


class KeySource:
    def __init__(self, key_file: str | None, environ: Mapping[str, str] | None = None,
                 on_key: Callable[[str], None] | None = None) -> None:
        self._key_file = key_file
        self._environ = os.environ if environ is None else environ
        self._on_key = on_key

    def describe(self) -> str:
        """Which source would be used, without reading any secret (for check-config)."""
        if self._environ.get("OPENAI_API_KEY", "").strip():
            return "OPENAI_API_KEY"
        if self._key_file:
            return f"api.key_file {self._key_file}"
        creds = self._environ.get("CREDENTIALS_DIRECTORY")
        if creds and (Path(creds) / CREDENTIAL_NAME).exists():
            return "systemd credential openai_api_key"
        return "none"

    def check_configured(self) -> None:
        """At start-up: no source at all is a configuration problem (exit 78)."""
        try:
            self.read()
        except KeyUnavailable as exc:
            raise ConfigError(f"api key: {exc}") from None

    def read(self) -> ApiKey:
        env_key = self._environ.get("OPENAI_API_KEY", "").strip()
        if env_key:
            return self._found(env_key, "OPENAI_API_KEY")
        if self._key_file:
            return self._found(_read_file(Path(self._key_file), "api.key_file"), f"api.key_file {self._key_file}")
        creds = self._environ.get("CREDENTIALS_DIRECTORY")
        if creds:
            path = Path(creds) / CREDENTIAL_NAME
            if path.exists():
                return self._found(_read_file(path, "credential"), "systemd credential openai_api_key")
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
        raise KeyUnavailable(f"{what} {path} is empty")
    return value


class SecretRedactor(logging.Filter):
    """Replaces every known secret in log records with a mask. Belt and braces: nothing should
    log a key in the first place, but a library's exception text might."""

    MASK = "[redacted]"

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def add(self, secret: str) -> None:
        if len(secret) >= 8:
            self._secrets.add(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        text = record.exc_text or ""
        if any(s in message or s in text for s in self._secrets):
            for s in self._secrets:
                message = message.replace(s, self.MASK)
                text = text.replace(s, self.MASK)
            record.msg, record.args = message, None
            record.exc_text = text or None
        return True
