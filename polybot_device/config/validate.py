"""YAML data -> the frozen dataclasses of :mod:`.schema`, with errors people can act on.

Every error names the key path and the value it got, because the person reading it has no
screen on the gadget and one line in the journal to go on: ``audio.input.rate: expected an
integer from 8000 to 384000, got 'fast'``; an unknown key suggests the nearest valid one.
"""

from __future__ import annotations

import difflib
import enum
import ipaddress
import math
import re
import types
import typing
from dataclasses import fields, is_dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlsplit

from websockets.exceptions import InvalidURI
from websockets.uri import parse_uri

from .base import ConfigError, show
from .controls import ControlsConfig
from .endpoint import session_uri
from .schema import Config, Mode

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")

_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def parse_config(data: Any) -> Config:
    """Validate an already-parsed YAML document."""
    config = _build(Config, data, "")
    _check_cross_fields(config)
    return config


def _build(cls: type[T], data: Any, path: str) -> T:
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'config'}: expected a mapping of keys, got {show(data)}")
    known = {f.name: f for f in fields(cls)}
    for key in data:
        if key not in known:
            where = f"{path}.{key}" if path else str(key)
            hint = difflib.get_close_matches(str(key), list(known), n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ConfigError(f"{where}: unknown key{suggestion}; valid keys here: {', '.join(known)}")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, f in known.items():
        if name not in data:
            continue
        key_path = f"{path}.{name}" if path else name
        values[name] = _convert(hints[name], data[name], key_path, f.metadata)
    return cls(**values)


def _convert(tp: Any, value: Any, path: str, meta: Any) -> Any:
    if isinstance(tp, type) and is_dataclass(tp):
        return _build(tp, {} if value is None else value, path)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        choices = [member.value for member in tp]
        if value not in choices:
            raise ConfigError(f"{path}: expected one of {', '.join(map(str, choices))}, got {show(value)}")
        return tp(value)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, path, meta)
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{path}: expected one of {', '.join(map(str, args))}, got {show(value)}")
        return value
    if origin is dict:
        return _mapping(args[1], value, path)
    if origin is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f"{path}: expected a list of non-empty strings, got {show(value)}")
        return tuple(v.strip() for v in value)
    return _scalar(tp, value, path, meta)


def _mapping(item_type: Any, value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: expected a mapping of keys to values, got {show(value)}")
    converted = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(f"{path}: expected non-empty text as keys, got {show(key)}")
        converted[key.strip()] = _convert(item_type, item, f"{path}.{key.strip()}", {})
    return converted


def _scalar(tp: Any, value: Any, path: str, meta: Any) -> Any:
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {show(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            kind = "a positive integer" if (meta.get("min") or 0) > 0 else "an integer"
            raise ConfigError(f"{path}: expected {kind}, got {show(value)}")
        return _check_range(value, path, meta, "an integer")
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: expected a number, got {show(value)}")
        if not math.isfinite(value):  # YAML's .nan and .inf: NaN compares false with every bound
            raise ConfigError(f"{path}: expected {_describe_number('a number', meta)}, got {show(value)}")
        return _check_range(float(value), path, meta, "a number")
    if tp is str:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{path}: expected a non-empty string, got {show(value)}")
        return value.strip()
    raise TypeError(f"unsupported config type {tp!r} at {path}")  # a bug in this module, not in the YAML


def _describe_number(kind: str, meta: Any) -> str:
    low, high = meta.get("min"), meta.get("max")
    if low is not None and high is not None:
        return f"{kind} from {low:g} to {high:g}"
    if low is not None:
        return f"{kind} of at least {low:g}"
    return kind


def _check_range(value: float, path: str, meta: Any, kind: str) -> Any:
    low, high = meta.get("min"), meta.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"{path}: expected {_describe_number(kind, meta)}, got {show(value)}")
    return value


def _check_cross_fields(config: Config) -> None:
    if not config.languages:
        raise ConfigError("languages: expected at least one language code, got an empty list")
    for i, code in enumerate(config.languages):
        if not _LANGUAGE_CODE.match(code):
            raise ConfigError(f"languages[{i}]: expected a language code such as 'en' or 'pt-BR', got {show(code)}")
    if len(set(config.languages)) != len(config.languages):
        raise ConfigError(f"languages: a language is listed twice in {list(config.languages)}")
    if config.mode is Mode.CONVERSATION and len(config.languages) < 2:
        raise ConfigError("languages: conversation mode needs at least two languages (home first)")
    check_api_url(config.api.url)
    if config.api.key_command is not None and not config.api.key_command:
        raise ConfigError("api.key_command: expected a command as a list (argv, no shell), got an empty list")
    textfile = config.metrics.textfile
    if textfile is not None and not (textfile.startswith("/") and textfile.endswith(".prom")):
        raise ConfigError("metrics.textfile: expected an absolute path ending in .prom (node_exporter "
                          f"reads only *.prom), got {show(textfile)}")
    lock = config.fleet.update_lock_file
    if lock is not None and not lock.startswith("/"):
        raise ConfigError(f"fleet.update_lock_file: expected an absolute path, got {show(lock)}")
    if config.api.backoff_max_s < config.api.backoff_initial_s:
        raise ConfigError(
            f"api.backoff_max_s: expected at least api.backoff_initial_s "
            f"({config.api.backoff_initial_s:g}), got {config.api.backoff_max_s:g}"
        )


def check_api_url(url: str) -> None:
    """TLS is not optional: plain ws:// is only for a simulator on this machine's loopback. The
    URLs the link will open are parsed here by websockets itself, so check-config refuses what
    the daemon could not connect to (a bad port, a fragment) instead of a crash or retry loop."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not ((scheme == "wss" and parts.hostname)
            or (scheme == "ws" and parts.hostname and is_loopback(parts.hostname))):
        raise ConfigError(f"api.url: expected a wss:// URL (or ws:// to a loopback simulator), got {show(url)}")
    for path in ("", "/translations"):
        try:
            parse_uri(session_uri(url, path, "model"))
        except (InvalidURI, ValueError, UnicodeError) as exc:
            raise ConfigError(f"api.url: not a URL a WebSocket can be opened on ({exc}), got {show(url)}") from None


def is_loopback(host: str) -> bool:
    """'localhost' or a loopback address: the only places plain ws:// (and the simulator) may go."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_controls(data: Any) -> ControlsConfig:
    """Validate just the ``controls:`` section (for show-config-error, which must not need the rest)."""
    return _build(ControlsConfig, {} if data is None else data, "controls")
