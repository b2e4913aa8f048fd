"""The configuration as frozen dataclasses: every key, its default, its unit and what it means.

Pure data. Every key has a default except what only the owner can know; the string under each
field is its documentation (the configuration reference is generated from it). Parsing
YAML into these objects, with the error messages, is :mod:`.validate`'s job; the controls'
sections live in :mod:`.controls`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal

from .base import bounded
from .controls import ControlsConfig
from .cost import ContextConfig, CostConfig


class Mode(enum.StrEnum):
    """What the gadget translates (``mode:``); the YAML spells them as these values."""

    CONVERSATION = "conversation"
    ONE_WAY = "one-way"
    INTERPRETER = "interpreter"


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
    key_command_timeout_s: float = bounded(10.0, min=0.5, max=120.0)
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
    connect_timeout_s: float = bounded(10.0, min=0.5, max=120.0)
    """Give up on one connection attempt (TCP + TLS + handshake) after this long."""
    ping_interval_s: float = bounded(5.0, min=0.5, max=300.0)
    """WebSocket ping period; with ping_timeout_s it bounds how long a dead Wi-Fi goes unnoticed."""
    ping_timeout_s: float = bounded(5.0, min=0.5, max=300.0)
    """A pong not back within this long means the connection is dead (half-open)."""
    backoff_initial_s: float = bounded(0.5, min=0.05, max=60.0)
    """First reconnect delay; doubles per failure (full jitter) up to backoff_max_s."""
    backoff_max_s: float = bounded(10.0, min=0.1, max=600.0)
    """Cap of the reconnect delay."""
    auth_retry_s: float = bounded(60.0, min=1.0, max=3600.0)
    """Longest wait between attempts while the key is refused, missing or unusable: waits start at
    2 s and double up to this; a replaced key file or credential is tried at once."""
    stable_session_s: float = bounded(20.0, min=1.0, max=3600.0)
    """A session that lived this long was healthy: the reconnect backoff starts over after it, and
    the server ending it is a swap made at once. Shorter-lived sessions meet the growing backoff."""
    session_rollover_s: float = bounded(3300.0, min=10.0, max=3600.0)
    """Sessions end after 60 min: past this age, start a fresh one at the next quiet moment."""
    response_stall_s: float = bounded(20.0, min=1.0, max=600.0)
    """A response with no server event for this long is cancelled, never left hanging."""


@dataclass(frozen=True)
class AudioInputConfig:
    device: str = "default"
    """ALSA capture PCM, e.g. 'hw:CARD=Device,DEV=0' (stable across USB ports), 'default', or 'auto'
    (the USB or I2S mic, chosen again at every open)."""
    device_match: str | None = None
    """With device 'auto': prefer the device whose name contains this text (any case), e.g. 'ReSpeaker'."""
    rate: int = bounded(48000, min=8000, max=384000)
    """Sample rate the mic delivers natively, in Hz (USB mics: usually 48000 or 44100)."""
    channels: int = bounded(1, min=1, max=8)
    """Channels the mic delivers (1; many USB mics only offer 2, mic arrays 4 or 6). Made mono per 'channel'."""
    channel: int = bounded(0, min=0, max=8)
    """Which channel to use: 0 mixes all of them; 1..8 takes only that one (e.g. a mic array's beam output)."""
    period_ms: int = bounded(20, min=5, max=100)
    """ALSA period: the unit of capture latency."""


@dataclass(frozen=True)
class AudioOutputConfig:
    device: str = "default"
    """ALSA playback PCM, e.g. 'hw:CARD=Speaker,DEV=0', 'default', or 'auto' (the USB or I2S speaker,
    never HDMI; chosen again at every open)."""
    device_match: str | None = None
    """With device 'auto': prefer the device whose name contains this text (any case), e.g. 'UACDemo'."""
    rate: int = bounded(48000, min=8000, max=384000)
    """Sample rate the speaker is opened at, in Hz; the API's 24 kHz audio is resampled to it."""
    channels: int = bounded(1, min=1, max=8)
    """Channels the speaker is opened with; mono is copied to each."""
    period_ms: int = bounded(20, min=5, max=100)
    """ALSA period of the speaker."""
    buffer_periods: int = bounded(4, min=2, max=32)
    """Periods in the ALSA ring buffer: more survives a busier CPU, fewer stops barge-in sooner."""
    start_buffer_ms: int = bounded(120, min=0, max=1000)
    """Audio gathered before a reply starts playing, so a late delta (Wi-Fi jitter) does not cut it."""
    keep_alive_s: float = bounded(3.0, min=0.0, max=60.0)
    """Silence played after a reply so the device keeps running (amplifiers mute 50-200 ms after a restart)."""
    volume_percent: int = bounded(100, min=0, max=100)
    """Loudness 0..100: through the card's mixer where it has one, else by scaling samples."""
    mixer: str | None = None
    """ALSA mixer control for the volume (e.g. 'PCM', 'Speaker'); null: the first usual one found."""


@dataclass(frozen=True)
class VoiceGateConfig:
    enabled: bool = True
    """Send the API only what may be speech: nothing while the room is quiet (docs/modes.md).
    false: stream the mic all the time. Interpreter mode and hold-to-talk always stream."""
    sensitivity: float = bounded(0.5, min=0.0, max=1.0)
    """How readily the gate opens, 0..1. Lower it (0.4) if a loud fan keeps the gate open; higher
    lets fans and knocks in (measurements: docs/performance.md)."""
    preroll_ms: int = bounded(1500, min=1200, max=5000)
    """Audio from before the gate opened that is sent when it opens (the gate takes up to ~0.9 s to
    be sure); never less than vad.prefix_padding_ms + 900."""
    hang_ms: int = bounded(1000, min=0, max=30000)
    """How long the gate stays open after the last speech; never less than
    vad.silence_duration_ms + 500, so the server hears the silence that ends the turn."""


@dataclass(frozen=True)
class AudioConfig:
    input: AudioInputConfig = field(default_factory=AudioInputConfig)
    output: AudioOutputConfig = field(default_factory=AudioOutputConfig)
    echo_gate: bool = True
    """Do not send the mic while the speaker plays (speaker next to mic). false: headset/AEC mic,
    which also enables voice barge-in."""
    echo_tail_ms: int = bounded(300, min=0, max=5000)
    """How long the gate stays shut after playback ends (room echo)."""
    outage_buffer_s: float = bounded(15.0, min=0.0, max=600.0)
    """Mic audio kept while offline and sent after the reconnect; the oldest goes past this. 0: none
    (live audio still goes out; half a second is always held for the sender)."""
    voice_gate: VoiceGateConfig = field(default_factory=VoiceGateConfig)


@dataclass(frozen=True)
class VadConfig:
    type: Literal["server_vad", "semantic_vad"] = "server_vad"
    """server_vad ends a turn after silence_duration_ms; semantic_vad judges the sentence is done."""
    threshold: float = bounded(0.5, min=0.0, max=1.0)
    """server_vad: activation threshold 0..1; higher needs louder speech (noisy rooms)."""
    prefix_padding_ms: int = bounded(300, min=0, max=5000)
    """server_vad: audio kept before the detected start of speech."""
    silence_duration_ms: int = bounded(500, min=100, max=10000)
    """server_vad: silence that ends a turn. Shorter answers sooner but cuts people off."""
    eagerness: Literal["low", "medium", "high", "auto"] = "auto"
    """semantic_vad: how eagerly it decides a sentence is finished."""


@dataclass(frozen=True)
class MetricsConfig:
    textfile: str | None = None
    """File for node_exporter's textfile collector (absolute, ending in .prom), replaced atomically
    every interval_s. null: no metrics written."""
    interval_s: float = bounded(10.0, min=1.0, max=3600.0)
    """How often the metrics file is rewritten, in seconds."""


@dataclass(frozen=True)
class FleetConfig:
    update_lock_file: str | None = None
    """Update lock held while a translation is in progress (balena: /tmp/balena/updates.lock).
    null: no lock file is ever written."""
    busy_hold_s: float = bounded(10.0, min=0.0, max=600.0)
    """A translation counts as in progress until this long after the last speech or playback, so
    an update never lands between one person's sentence and the other's answer."""


@dataclass(frozen=True)
class PrivacyConfig:
    log_transcripts: bool = True
    """Write what was said and its translation to the log. Turn off where guests are promised it."""
    replay_keep_s: float = bounded(120.0, min=0.0, max=3600.0)
    """The last translation is kept in RAM (never on disk) for the replay gesture this long after
    it was spoken; also wiped on a language change. 0: no replay."""


@dataclass(frozen=True)
class LoggingConfig:
    level: Literal["debug", "info", "warning", "error"] = "info"
    """Log level (journald under systemd, stderr otherwise)."""


@dataclass(frozen=True)
class CuesConfig:
    enabled: bool = True
    """Play cues at all. Cues never reach the microphone path (the echo gate covers them)."""
    level: float = bounded(0.3, min=0.0, max=1.0)
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
    mode: Mode = Mode.CONVERSATION
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
    cost: CostConfig = field(default_factory=CostConfig)
    context: ContextConfig = field(default_factory=ContextConfig)
