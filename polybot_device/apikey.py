"""Where the API key comes from, read afresh on every connect so a rotated key file is picked up.

Order: ``OPENAI_API_KEY``, then ``api.key_file``, then the systemd credential
``$CREDENTIALS_DIRECTORY/openai_api_key`` (LoadCredential= copies it when the unit starts, so a
rotated credential needs ``systemctl restart``). When ``api.key_command`` is set it is the only
source: a short-lived key is minted before every connect (:mod:`.keycommand`). The key is never
logged or printed; every key read is also handed to the log redactor so that even a careless log
line cannot carry it.

Keys are normalised on every read (:func:`normalise_key`): a Windows editor's byte-order mark, a
zero-width or non-breaking space from a copy-paste are removed wherever they are, with the usual
white space at the ends. What is left must be printable ASCII (an HTTP header cannot carry anything
else); a key that is not raises :class:`KeyUnusable`, the "API key unusable" state, whose message
names the source and the offending code point but never the key.
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


INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060\u00a0\u2007\u202f"))
"""Removed from a key wherever they are: BOM, zero-width (no-break) spaces and joiners, and the
non-breaking spaces a web page or office document puts into a copied key. None can be in a key."""


class KeyUnavailable(Exception):
    """No key right now (e.g. the key file is being rotated); the caller retries slowly."""


class KeyUnusable(KeyUnavailable):
    """The key has a character no API key has (after normalising): the "API key unusable" state.
    The message names the source and the character's code point, never the key."""


def normalise_key(raw: str, source: str) -> str:
    """``raw`` without invisible characters and surrounding white space; KeyUnusable when what is
    left is not printable ASCII (also KeyUnavailable when nothing is left)."""
    value = raw.translate(INVISIBLE).strip()
    if not value:
        raise KeyUnavailable(f"{source} is empty")
    bad = next((c for c in value if not "!" <= c <= "~"), None)
    if bad is not None:
        raise KeyUnusable(f"the key from {source} contains U+{ord(bad):04X}, which no API key has")
    return value


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
        if self._environ.get("OPENAI_API_KEY", "").translate(INVISIBLE).strip():
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
        except KeyUnusable:
            pass  # a state the gadget shows (and leaves once the key is fixed), not a config error
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
        env_key = self._environ.get("OPENAI_API_KEY", "")
        if env_key.translate(INVISIBLE).strip():
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

    def fingerprint(self) -> tuple[object, ...] | None:
        """What changes when the key file or credential is replaced (its identity, size and time),
        read without the secret, cheaply enough to poll. None for sources that cannot change under
        a running daemon (the environment) or that are run again on every retry (a key command)."""
        if self._command or self._environ.get("OPENAI_API_KEY", "").translate(INVISIBLE).strip():
            return None
        creds = self._environ.get("CREDENTIALS_DIRECTORY")
        path = Path(self._key_file) if self._key_file else Path(creds) / CREDENTIAL_NAME if creds else None
        if path is None:
            return None
        try:
            st = path.stat()
        except OSError as exc:
            return (str(path), exc.errno)
        return (str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def _found(self, raw: str, source: str) -> ApiKey:
        if self._on_key:
            self._on_key(raw)  # masked in logs even as it was read, invisible characters and all
        value = normalise_key(raw, source)
        if self._on_key and value != raw:
            self._on_key(value)
        return ApiKey(value, source)


def _read_file(path: Path, what: str) -> str:
    try:
        value = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise KeyUnavailable(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if not value.translate(INVISIBLE).strip():
        raise KeyEmpty(f"{what} {path} is empty")
    return value
