"""Session objects of both endpoints: their defaults, ``session.update`` checks and merging.

No I/O. The shapes follow the installed ``openai`` types (the simulator's tests validate them):
a conversation session is a ``RealtimeSessionCreateRequest`` (so no ``id``/``object``/
``expires_at``, which that type does not have), a translation session a
``RealtimeTranslationSession``. Like the real service, an unknown key anywhere in an update is
refused (``unknown_parameter``) instead of being silently ignored: a beta-style ``modalities``
or a typo such as ``silence_ms`` shows up as an ``error`` event.
"""

from __future__ import annotations

import copy
import re
import time
from typing import Any

from ..audio.wire import WIRE_RATE_HZ
from .session import ClientError

VAD_DEFAULTS: dict[str, Any] = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 500,
    "idle_timeout_ms": None,
    "create_response": True,
    "interrupt_response": True,
}
SEMANTIC_DEFAULTS: dict[str, Any] = {
    "type": "semantic_vad",
    "eagerness": "auto",
    "create_response": True,
    "interrupt_response": True,
}
#: semantic_vad has no silence setting; the simulator turns its eagerness into one.
EAGERNESS_SILENCE_MS = {"low": 1500, "medium": 800, "auto": 800, "high": 400}

_FORMAT = {"type": None, "rate": None}
_NOISE = {"type": None, "strength": None}
_TRANSCRIPTION = {k: None for k in ("model", "language", "prompt", "delay", "keywords", "languages")}
_TURN = {k: None for k in {**VAD_DEFAULTS, **SEMANTIC_DEFAULTS}}
#: the keys a conversation ``session`` may hold; a dict value lists the keys one level down
REALTIME_KEYS: dict[str, Any] = {
    "type": None, "model": None, "instructions": None, "output_modalities": None,
    "include": None, "max_output_tokens": None, "prompt": None, "reasoning": None,
    "tool_choice": None, "tools": None, "tracing": None, "truncation": None,
    "parallel_tool_calls": None,
    "audio": {
        "input": {"format": _FORMAT, "noise_reduction": _NOISE,
                  "transcription": _TRANSCRIPTION, "turn_detection": _TURN},
        "output": {"format": _FORMAT, "voice": None, "speed": None},
    },
}
TRANSLATION_KEYS: dict[str, Any] = {
    "audio": {
        "input": {"noise_reduction": _NOISE, "transcription": {"model": None}},
        "output": {"language": None},
    },
}

_LANGUAGE = re.compile(r"\(([a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?)\)")


def target_language(instructions: str | None) -> str:
    """The last language code written as ``(xx)`` in the instructions, else ``und``."""
    found = _LANGUAGE.findall(instructions or "")
    return found[-1] if found else "und"


def realtime_defaults(model: str) -> dict[str, Any]:
    pcm = {"type": "audio/pcm", "rate": WIRE_RATE_HZ}
    return {
        "type": "realtime",
        "model": model,
        "instructions": "You are a helpful assistant.",
        "output_modalities": ["audio"],
        "audio": {
            "input": {"format": dict(pcm), "noise_reduction": None, "transcription": None,
                      "turn_detection": dict(VAD_DEFAULTS)},
            "output": {"format": dict(pcm), "voice": "marin", "speed": 1.0},
        },
        "max_output_tokens": "inf",
        "tool_choice": "auto",
        "tools": [],
        "tracing": None,
        "truncation": "auto",
    }


def translation_defaults(model: str, session_id: str) -> dict[str, Any]:
    return {
        "id": session_id,
        "type": "translation",
        "model": model,
        "expires_at": int(time.time()) + 3600,
        "audio": {"input": {"noise_reduction": None, "transcription": None},
                  "output": {"language": None}},
    }


def check_keys(value: Any, allowed: dict[str, Any], path: str) -> None:
    """Refuse keys the service does not know, at any depth of ``allowed``."""
    if not isinstance(value, dict):
        return
    for key, sub in value.items():
        if key not in allowed:
            param = f"{path}.{key}"
            raise ClientError("unknown_parameter", f"Unknown parameter: '{param}'.", param)
        if isinstance(allowed[key], dict):
            check_keys(sub, allowed[key], f"{path}.{key}")


def _expect_object(value: Any, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ClientError("invalid_type", f"Invalid type for '{param}': expected an object.", param)
    return value


def merge(base: dict[str, Any], update: dict[str, Any]) -> None:
    """Deep-merge ``update`` into ``base`` (``None`` replaces, dicts merge)."""
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


def update_realtime(current: dict[str, Any], event: dict[str, Any]) -> None:
    """Apply a conversation ``session.update`` to ``current`` or raise ClientError (nothing applied)."""
    update = _expect_object(event.get("session"), "session")
    if update.get("type") != "realtime":
        raise ClientError(
            "missing_required_parameter" if "type" not in update else "invalid_value",
            "session.type must be 'realtime' (the GA protocol requires it).",
            "session.type",
        )
    check_keys(update, REALTIME_KEYS, "session")
    modalities = update.get("output_modalities")
    if modalities is not None and modalities not in (["audio"], ["text"]):
        raise ClientError("invalid_value", "output_modalities must be ['audio'] or ['text'].",
                          "session.output_modalities")
    audio = _expect_object(update.get("audio", {}), "session.audio")
    for side in ("input", "output"):
        fmt = _expect_object(audio.get(side, {}), f"session.audio.{side}").get("format")
        if isinstance(fmt, dict) and fmt.get("type", "audio/pcm") == "audio/pcm" \
                and fmt.get("rate", WIRE_RATE_HZ) != WIRE_RATE_HZ:
            raise ClientError("invalid_value", f"audio/pcm is only supported at {WIRE_RATE_HZ} Hz.",
                              f"session.audio.{side}.format.rate")
    turn = audio.get("input", {}).get("turn_detection", ...)
    new = copy.deepcopy(current)
    if turn is not ...:
        new_turn = _turn_detection(turn, new["audio"]["input"].get("turn_detection"))
        audio = copy.deepcopy(audio)
        audio["input"].pop("turn_detection")
        new["audio"]["input"]["turn_detection"] = new_turn
        update = {**update, "audio": audio}
    merge(new, update)
    current.clear()
    current.update(new)


def _turn_detection(turn: Any, current: dict[str, Any] | None) -> dict[str, Any] | None:
    param = "session.audio.input.turn_detection"
    if turn is None:
        return None
    turn = _expect_object(turn, param)
    kind = turn.get("type")
    if kind not in ("server_vad", "semantic_vad"):
        raise ClientError("invalid_value", "turn_detection.type must be 'server_vad' or "
                          "'semantic_vad'.", f"{param}.type")
    allowed = VAD_DEFAULTS if kind == "server_vad" else SEMANTIC_DEFAULTS
    for key in turn:
        if key not in allowed:
            raise ClientError("unknown_parameter", f"Unknown parameter: '{param}.{key}'.",
                              f"{param}.{key}")
    threshold = turn.get("threshold", 0.5)
    if not isinstance(threshold, (int, float)) or not 0.0 <= threshold <= 1.0:
        raise ClientError("invalid_value", "threshold must be between 0 and 1.",
                          f"{param}.threshold")
    base = dict(current) if current and current.get("type") == kind else dict(allowed)
    base.update(turn)
    return base


def update_translation(current: dict[str, Any], event: dict[str, Any]) -> None:
    """Apply a translation ``session.update`` to ``current`` or raise ClientError."""
    update = _expect_object(event.get("session"), "session")
    check_keys(update, TRANSLATION_KEYS, "session")
    audio = _expect_object(update.get("audio", {}), "session.audio")
    for side in ("input", "output"):
        _expect_object(audio.get(side, {}), f"session.audio.{side}")
    language = audio.get("output", {}).get("language")
    if language is not None and not isinstance(language, str):
        raise ClientError("invalid_type", "language must be a string.",
                          "session.audio.output.language")
    new = copy.deepcopy(current)
    merge(new, update)
    current.clear()
    current.update(new)
