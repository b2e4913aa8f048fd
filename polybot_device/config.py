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
    key_command: tuple[str, ...] | None = None
    """Command (argv list, no shell) that prints a short-lived key, e.g. one minted by the fleet's
    backend; run before every connect. When set it is the only key source. null: not used."""
    key_command_timeout_s: float = _opt(10.0, min=0.5, max=120.0)
    """api.key_command that has not printed a key within this long is killed; the gadget retries."""
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
    volume_percent: int = _opt(100, min=0, max=100)
    """Loudness 0..100: through the card's mixer where it has one, else by scaling samples."""
    mixer: str | None = None
    """ALSA mixer control for the volume (e.g. 'PCM', 'Speaker'); null: the first usual one found."""


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
class MetricsConfig:
    textfile: str | None = None
    """File for node_exporter's textfile collector (absolute, ending in .prom), replaced atomically
    every interval_s. null: no metrics written."""
    interval_s: float = _opt(10.0, min=1.0, max=3600.0)
    """How often the metrics file is rewritten, in seconds."""


@dataclass(frozen=True)
class FleetConfig:
    update_lock_file: str | None = None
    """Update lock held while a translation is in progress (balena: /tmp/balena/updates.lock).
    null: no lock file is ever written."""
    busy_hold_s: float = _opt(10.0, min=0.0, max=600.0)
    """A translation counts as in progress until this long after the last speech or playback, so
    an update never lands between one person's sentence and the other's answer."""


@dataclass(frozen=True)
class PrivacyConfig:
    log_transcripts: bool = True
    """Write what was said and its translation to the log. Turn off where guests are promised it."""
    replay_keep_s: float = _opt(120.0, min=0.0, max=3600.0)
    """The last translation is kept in RAM (never on disk) for the replay gesture this long after
    it was spoken; also wiped on a language change. 0: no replay."""


@dataclass(frozen=True)
class LoggingConfig:
    level: Literal["debug", "info", "warning", "error"] = "info"
    """Log level (journald under systemd, stderr otherwise)."""


# -- controls (button, LEDs) --------------------------------------------------------------------

GestureAction = Literal["next-language", "replay", "next-mode", "stop", "none"]

_GPIO = {"min": 0, "max": 27}  # BCM numbers on the 40-pin header (the same on every Pi since the B+)


@dataclass(frozen=True)
class ButtonConfig:
    pin: int = _opt(17, **_GPIO)
    """BCM GPIO of the push button (GPIO 17 = header pin 11); the other side of the button goes to ground."""
    pull_up: bool = True
    """true: internal pull-up, button to ground. false: internal pull-down, button to 3.3 V."""
    debounce_ms: int = _opt(20, min=0, max=200)
    """Contact bounce ignored after an edge, in milliseconds (0: none)."""
    long_press_s: float = _opt(1.5, min=0.5, max=10.0)
    """A press held this long is a long press, fired as soon as the hold reaches it (not on release)."""
    multi_press_gap_s: float = _opt(0.4, min=0.15, max=1.5)
    """Longest pause between the presses of a double or triple press; a tap is only final after it."""
    hold_to_talk: bool = False
    """Push to talk: holding the button is talking (talk_start, talk_end on release); taps still work and
    the long press goes away (put next-mode on triple_press)."""
    tap_max_s: float = _opt(0.3, min=0.1, max=1.0)
    """hold_to_talk only: a press shorter than this is a tap, a longer one is talking."""


@dataclass(frozen=True)
class GesturesConfig:
    short_press: GestureAction = "next-language"
    """What one tap does: next-language, replay, next-mode, stop or none."""
    double_press: GestureAction = "replay"
    """What two quick taps do (same choices)."""
    triple_press: GestureAction = "next-mode"
    """What three quick taps do (same choices); with hold_to_talk the way to switch modes."""
    long_press: GestureAction = "next-mode"
    """What a long press does (same choices); no long press exists with hold_to_talk."""


@dataclass(frozen=True)
class StatusLedConfig:
    pin: int | None = _opt(27, **_GPIO)
    """BCM GPIO of the status LED (GPIO 27 = header pin 13, through a resistor); null: no status LED."""
    active_high: bool = True
    """true: the pin drives the LED's anode (on = 3.3 V). false: LED wired from 3.3 V into the pin."""
    brightness: float = _opt(1.0, min=0.05, max=1.0)
    """On level 0.05..1; below 1 the LED is dimmed with (software) PWM."""


@dataclass(frozen=True)
class LanguageLedConfig:
    red_pin: int | None = _opt(None, **_GPIO)
    """BCM GPIO of the RGB LED's red leg (suggested: 22); null: no RGB LED fitted."""
    green_pin: int | None = _opt(None, **_GPIO)
    """BCM GPIO of the green leg (suggested: 23)."""
    blue_pin: int | None = _opt(None, **_GPIO)
    """BCM GPIO of the blue leg (suggested: 24)."""
    active_high: bool = True
    """true: common-cathode RGB LED (common leg to ground). false: common-anode (common leg to 3.3 V)."""
    colours: dict[str, str] = field(default_factory=dict)
    """Language code -> colour ('#rrggbb' or red, orange, yellow, green, cyan, blue, purple, magenta,
    pink, white), overriding the built-in palette."""

    @property
    def fitted(self) -> bool:
        return self.red_pin is not None

    def __post_init__(self) -> None:
        pins = (self.red_pin, self.green_pin, self.blue_pin)
        if any(p is None for p in pins) and any(p is not None for p in pins):
            raise ConfigError("controls.language_led: set all of red_pin, green_pin and blue_pin, or none of them")
        for code, colour in self.colours.items():
            try:
                parse_colour(colour)
            except ValueError:
                raise ConfigError(f"controls.language_led.colours.{code}: expected a colour such as '#ff8800' "
                                  f"or one of {', '.join(COLOUR_NAMES)}, got {_show(colour)}") from None


@dataclass(frozen=True)
class ControlsConfig:
    enabled: bool = True
    """Use the button and LEDs when GPIO is there; a machine without GPIO runs without them."""
    button: ButtonConfig = field(default_factory=ButtonConfig)
    gestures: GesturesConfig = field(default_factory=GesturesConfig)
    volume_up_pin: int | None = _opt(None, **_GPIO)
    """BCM GPIO of an optional volume-up button (to ground, like the main button); null: none."""
    volume_down_pin: int | None = _opt(None, **_GPIO)
    """BCM GPIO of an optional volume-down button; null: none."""
    status_led: StatusLedConfig = field(default_factory=StatusLedConfig)
    language_led: LanguageLedConfig = field(default_factory=LanguageLedConfig)

    def __post_init__(self) -> None:
        used: dict[int, str] = {}
        for name, pin in self.pins().items():
            if pin in used:
                raise ConfigError(f"controls.{name}: GPIO {pin} is already used by controls.{used[pin]}")
            used[pin] = name

    def pins(self) -> dict[str, int]:
        """Every GPIO in use, by key path below controls."""
        named = {
            "button.pin": self.button.pin,
            "volume_up_pin": self.volume_up_pin,
            "volume_down_pin": self.volume_down_pin,
            "status_led.pin": self.status_led.pin,
            "language_led.red_pin": self.language_led.red_pin,
            "language_led.green_pin": self.language_led.green_pin,
            "language_led.blue_pin": self.language_led.blue_pin,
        }
        return {name: pin for name, pin in named.items() if pin is not None}


COLOUR_NAMES = {
    "red": "#ff0000", "orange": "#ff5a00", "yellow": "#ffc800", "green": "#00ff00", "cyan": "#00c8ff",
    "blue": "#0000ff", "purple": "#8000ff", "magenta": "#ff00ff", "pink": "#ff0060", "white": "#ffffff",
}
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def parse_colour(text: str) -> tuple[float, float, float]:
    """'#rrggbb' or a name from COLOUR_NAMES -> (red, green, blue), each 0..1. ValueError otherwise."""
    text = COLOUR_NAMES.get(text.lower(), text)
    if not _HEX_COLOUR.match(text):
        raise ValueError(text)
    return (int(text[1:3], 16) / 255, int(text[3:5], 16) / 255, int(text[5:7], 16) / 255)


def parse_controls(data: Any) -> ControlsConfig:
    """Validate just the ``controls:`` section (for show-config-error, which must not need the rest)."""
    return _build(ControlsConfig, {} if data is None else data, "controls")


Mode = Literal["conversation", "one-way", "interpreter"]


@dataclass(frozen=True)
class CuesConfig:
    enabled: bool = True
    """Play cues at all. Cues never reach the microphone path (the echo gate covers them)."""
    level: float = _opt(0.3, min=0.0, max=1.0)
    """Loudness of cues, 0..1 of full scale."""
    ready: bool = True
    """A short earcon when the gadget listens again after a translation (the other person's turn)."""
    trouble: bool = True
    """A distinct sound when it could not hear or could not translate."""
    spoken: bool = True
    """Speak language names and the offline / key-refused notices (espeak-ng, if installed: offline,
    rendered once and kept in RAM); without it, distinct tone patterns."""


@dataclass(frozen=True)
class Config:
    api: ApiConfig = field(default_factory=ApiConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    vad: VadConfig = field(default_factory=VadConfig)
    languages: tuple[str, ...] = ("es", "en")
    """Language codes; the first is the home language. conversation: home <-> the second."""
    mode: Mode = "conversation"
    """conversation: two languages, each spoken back in the other; one-way: anything in, the
    first language out; interpreter: continuous interpretation of long speech into the first
    language (translation sessions)."""
    glossary: tuple[str, ...] = ()
    """Names of people, places and products the translation keeps exactly."""
    controls: ControlsConfig = field(default_factory=ControlsConfig)
    cues: CuesConfig = field(default_factory=CuesConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    fleet: FleetConfig = field(default_factory=FleetConfig)


_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def load_config(path: str | Path) -> Config:
    """Read and validate ``path`` merged with its ``conf.d/*.yaml`` drop-ins (see :mod:`.dropins`).
    Raises ConfigError for every problem, naming the file and key path."""
    from .dropins import load_layered

    return load_layered(path).config


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
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping of keys to values, got {_show(value)}")
        converted = {}
        for key, item in value.items():
            if not isinstance(key, str) or not key.strip():
                raise ConfigError(f"{path}: expected non-empty text as keys, got {_show(key)}")
            converted[key.strip()] = _convert(args[1], item, f"{path}.{key.strip()}", {})
        return converted
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
    if config.api.key_command is not None and not config.api.key_command:
        raise ConfigError("api.key_command: expected a command as a list (argv, no shell), got an empty list")
    textfile = config.metrics.textfile
    if textfile is not None and not (textfile.startswith("/") and textfile.endswith(".prom")):
        raise ConfigError("metrics.textfile: expected an absolute path ending in .prom (node_exporter "
                          f"reads only *.prom), got {textfile!r}")
    lock = config.fleet.update_lock_file
    if lock is not None and not lock.startswith("/"):
        raise ConfigError(f"fleet.update_lock_file: expected an absolute path, got {lock!r}")
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
    for node, nxt in zip(body, body[1:], strict=False):
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

