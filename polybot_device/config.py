"""YAML config -> frozen dataclasses.

Every key has a default except what only the owner can know; every error names the key path and
the value it got, because the person reading it has no screen on the gadget and one line in the
journal to go on. All configuration problems raise :class:`ConfigError`, which the CLI turns into
exit status 78 (EX_CONFIG) so that one ``RestartPreventExitStatus=78`` stops systemd looping on it.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

EX_CONFIG = 78


class ConfigError(Exception):
    """A configuration problem; the message names the key path (or the file) and the bad value."""


def _opt(default: Any, *, min: float | None = None, max: float | None = None) -> Any:
    return field(default=default, metadata={"min": min, "max": max})


@dataclass(frozen=True)
class ApiConfig:
    url: str = "wss://api.openai.com/v1/realtime"
    """WebSocket endpoint. wss:// (TLS, always verified); ws:// only to a loopback simulator."""
    model: str = "gpt-realtime-2.1"
    """Realtime model for conversation and one-way modes. Model names change: this is the only place."""
    translation_model: str = "gpt-realtime-translate"
    """Model for interpreter mode (translation sessions on {url}/translations)."""
    key_file: str | None = None
    """File holding the API key (used when OPENAI_API_KEY is not set); re-read on every connect."""
    auth_header: Literal["bearer", "api-key"] = "bearer"
    """'bearer' (OpenAI: Authorization: Bearer KEY) or 'api-key' (Azure OpenAI: api-key: KEY)."""
    voice: str = "marin"
    """Voice of the translated speech."""
    transcription_model: str | None = "gpt-4o-mini-transcribe"
    """Model that transcribes what the person said (for the log); null turns it off."""
    noise_reduction: Literal["far_field", "near_field", "off"] = "far_field"
    """Server-side noise reduction: far_field (gadget on a desk), near_field (headset) or off."""
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    """For reasoning models only (gpt-realtime-2*): a translator wants 'minimal'. null: not sent."""
    connect_timeout_s: float = _opt(10.0, min=0.5)
    """Give up on one connection attempt (TCP + TLS + handshake) after this long."""
    ping_interval_s: float = _opt(5.0, min=0.5)
    """WebSocket ping period; with ping_timeout_s it bounds how long a dead Wi-Fi goes unnoticed."""
    ping_timeout_s: float = _opt(5.0, min=0.5)
    """A pong not back within this long means the connection is dead (half-open)."""
    backoff_initial_s: float = _opt(0.5, min=0.05)
    """First reconnect delay; doubles per failure (full jitter) up to backoff_max_s."""
    backoff_max_s: float = _opt(10.0, min=0.1)
    """Cap of the reconnect delay."""
    auth_retry_s: float = _opt(60.0, min=1.0)
    """Delay between attempts while the key is refused (a refused key does not fix itself)."""
    session_rollover_s: float = _opt(3300.0, min=10.0)
    """Sessions end after 60 min: past this age, start a fresh one at the next quiet moment."""
    response_stall_s: float = _opt(20.0, min=1.0)
    """A response with no server event for this long is cancelled, never left hanging."""


@dataclass(frozen=True)
class AudioInputConfig:
    device: str = "default"
    """ALSA capture PCM, e.g. 'hw:CARD=Device,DEV=0' (stable across USB ports) or 'default'."""
    rate: int = _opt(48000, min=8000, max=384000)
    """Sample rate the mic delivers natively, in Hz (USB mics: usually 48000 or 44100)."""
    channels: int = _opt(1, min=1, max=8)
    """Channels the mic delivers (1; many USB mics only offer 2). Downmixed to mono."""
    period_ms: int = _opt(20, min=5, max=100)
    """ALSA period: the unit of capture latency."""


@dataclass(frozen=True)
class AudioOutputConfig:
    device: str = "default"
    """ALSA playback PCM, e.g. 'hw:CARD=Speaker,DEV=0' or 'default'."""
    rate: int = _opt(48000, min=8000, max=384000)
    """Sample rate the speaker is opened at, in Hz; the API's 24 kHz audio is resampled to it."""
    channels: int = _opt(1, min=1, max=8)
    """Channels the speaker is opened with; mono is copied to each."""
    period_ms: int = _opt(20, min=5, max=100)
    """ALSA period of the speaker."""
    buffer_periods: int = _opt(4, min=2, max=32)
    """Periods in the ALSA ring buffer: more survives a busier CPU, fewer stops barge-in sooner."""


@dataclass(frozen=True)
class AudioConfig:
    input: AudioInputConfig = field(default_factory=AudioInputConfig)
    output: AudioOutputConfig = field(default_factory=AudioOutputConfig)
    echo_gate: bool = True
    """Do not send the mic while the speaker plays (speaker next to mic). false: headset/AEC mic,
    which also enables voice barge-in."""
    echo_tail_ms: int = _opt(300, min=0, max=5000)
    """How long the gate stays shut after playback ends (room echo)."""
    outage_buffer_s: float = _opt(15.0, min=0.0, max=600.0)
    """Mic audio kept while offline and sent after the reconnect; the oldest goes past this."""


@dataclass(frozen=True)
class VadConfig:
    type: Literal["server_vad", "semantic_vad"] = "server_vad"
    """server_vad ends a turn after silence_duration_ms; semantic_vad judges the sentence is done."""
    threshold: float = _opt(0.5, min=0.0, max=1.0)
    """server_vad: activation threshold 0..1; higher needs louder speech (noisy rooms)."""
    prefix_padding_ms: int = _opt(300, min=0, max=5000)
    """server_vad: audio kept before the detected start of speech."""
    silence_duration_ms: int = _opt(500, min=100, max=10000)
    """server_vad: silence that ends a turn. Shorter answers sooner but cuts people off."""
    eagerness: Literal["low", "medium", "high", "auto"] = "auto"
    """semantic_vad: how eagerly it decides a sentence is finished."""


@dataclass(frozen=True)
class PrivacyConfig:
    log_transcripts: bool = True
    """Write what was said and its translation to the log. Turn off where guests are promised it."""


@dataclass(frozen=True)
class LoggingConfig:
    level: Literal["debug", "info", "warning", "error"] = "info"
    """Log level (journald under systemd, stderr otherwise)."""


# -- controls (button, LEDs) --------------------------------------------------------------------
# Section owned by the controls work (issue 4): gesture and LED dataclasses go here.


@dataclass(frozen=True)
class ControlsConfig:
    enabled: bool = True
    """Use the button and LEDs when GPIO is there; a machine without GPIO runs without them."""


Mode = Literal["conversation", "one-way"]


@dataclass(frozen=True)
class Config:
    api: ApiConfig = field(default_factory=ApiConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    vad: VadConfig = field(default_factory=VadConfig)
    languages: tuple[str, ...] = ("es", "en")
    """Language codes; the first is the home language. conversation: home <-> the second."""
    mode: Mode = "conversation"
    """conversation: two languages, each spoken back in the other; one-way: anything in, the
    first language out."""
    glossary: tuple[str, ...] = ()
    """Names of people, places and products the translation keeps exactly."""
    controls: ControlsConfig = field(default_factory=ControlsConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)


_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def load_config(path: str | Path) -> Config:
    """Read and validate ``path``. Raises ConfigError for every problem, the file's own included."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: YAML syntax error: {exc}") from None
    if data is None:
        data = {}
    try:
        return parse_config(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def parse_config(data: Any) -> Config:
    """Validate an already-parsed YAML document."""
    config = _build(Config, data, "")
    _check_cross_fields(config)
    return config


def _build(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'config'}: expected a mapping of keys, got {_show(data)}")
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
    if is_dataclass(tp):
        return _build(tp, {} if value is None else value, path)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, path, meta)
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{path}: expected one of {', '.join(map(str, args))}, got {_show(value)}")
        return value
    if origin is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f"{path}: expected a list of non-empty strings, got {_show(value)}")
        return tuple(v.strip() for v in value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {_show(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            kind = "a positive integer" if (meta.get("min") or 0) > 0 else "an integer"
            raise ConfigError(f"{path}: expected {kind}, got {_show(value)}")
        return _check_range(value, path, meta, "an integer")
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: expected a number, got {_show(value)}")
        return _check_range(float(value), path, meta, "a number")
    if tp is str:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{path}: expected a non-empty string, got {_show(value)}")
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
        raise ConfigError(f"{path}: expected {_describe_number(kind, meta)}, got {_show(value)}")
    return value


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "nothing (null)"
    return repr(value) if not isinstance(value, (dict, list)) else f"a {type(value).__name__}"


def _check_cross_fields(config: Config) -> None:
    if not config.languages:
        raise ConfigError("languages: expected at least one language code, got an empty list")
    for i, code in enumerate(config.languages):
        if not _LANGUAGE_CODE.match(code):
            raise ConfigError(f"languages[{i}]: expected a language code such as 'en' or 'pt-BR', got {code!r}")
    if len(set(config.languages)) != len(config.languages):
        raise ConfigError(f"languages: a language is listed twice in {list(config.languages)}")
    if config.mode == "conversation" and len(config.languages) < 2:
        raise ConfigError("languages: conversation mode needs at least two languages (home first)")
    check_api_url(config.api.url)
    if config.api.backoff_max_s < config.api.backoff_initial_s:
        raise ConfigError(
            f"api.backoff_max_s: expected at least api.backoff_initial_s "
            f"({config.api.backoff_initial_s:g}), got {config.api.backoff_max_s:g}"
        )


def check_api_url(url: str) -> None:
    """TLS is not optional: plain ws:// is only for a simulator on this machine's loopback."""
    parts = urlsplit(url)
    if parts.scheme == "wss" and parts.hostname:
        return
    if parts.scheme == "ws" and parts.hostname and _is_loopback(parts.hostname):
        return
    raise ConfigError(
        f"api.url: expected a wss:// URL (or ws:// to a loopback simulator), got {url!r}"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def field_docs(cls: type) -> dict[str, str]:
    """Per-field docstrings (the string under each field), for check-config and the docs test."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, nxt in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
            docs[node.target.id] = " ".join(str(nxt.value.value).split())  # type: ignore[attr-defined]
    return docs


def config_to_dict(obj: Any) -> Any:
    """Plain data (for printing the effective config); tuples become lists."""
    if is_dataclass(obj):
        return {f.name: config_to_dict(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, tuple):
        return [config_to_dict(v) for v in obj]
    return obj


def all_key_paths(cls: type = Config, prefix: str = "") -> list[str]:
    """Every leaf key path ("audio.input.rate", ...), for the docs test and the example config."""
    paths = []
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        p = f"{prefix}{f.name}"
        if is_dataclass(hints[f.name]):
            paths.extend(all_key_paths(hints[f.name], p + "."))
        else:
            paths.append(p)
    return paths

