"""Client events we send, built as plain dicts (or, on the 20 ms path, as ready JSON text).

Shapes follow the GA Realtime protocol (docs/protocol.md); tests validate each builder's output
against the `openai` package's pydantic types with no unknown field anywhere.
"""

from __future__ import annotations

import binascii
import itertools
from collections.abc import Callable
from typing import Any

from ..audio.wire import WIRE_RATE_HZ
from ..config import Config

PCM_FORMAT = {"type": "audio/pcm", "rate": WIRE_RATE_HZ}

# Older servers and docs use these names; the newest name is what the protocol module handles.
ALIASES = {
    "response.audio.delta": "response.output_audio.delta",
    "response.audio.done": "response.output_audio.done",
    "response.audio_transcript.delta": "response.output_audio_transcript.delta",
    "response.audio_transcript.done": "response.output_audio_transcript.done",
    "conversation.item.created": "conversation.item.added",
    "response.text.delta": "response.output_text.delta",
    "response.text.done": "response.output_text.done",
}

AppendJson = Callable[[bytes | memoryview], str]


def _append_json(event_type: str) -> AppendJson:
    head = '{"type":"' + event_type + '","audio":"'

    def append_json(pcm: bytes | memoryview) -> str:
        """One audio append as JSON text, without a dict or json.dumps per 20 ms chunk: base64's
        alphabet needs no JSON escaping, so concatenation is exact and about 5x cheaper."""
        return head + binascii.b2a_base64(pcm, newline=False).decode("ascii") + '"}'

    return append_json


audio_append_json = _append_json("input_audio_buffer.append")
"""Conversation sessions: input_audio_buffer.append."""
translation_append_json = _append_json("session.input_audio_buffer.append")
"""Translation sessions: session.input_audio_buffer.append."""


class EventIds:
    """Our own event_id on client events, so an `error` naming one can be traced to what we sent."""

    def __init__(self, prefix: str = "poly") -> None:
        self._prefix = prefix
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"evt_{self._prefix}_{next(self._counter)}"


def turn_detection(config: Config, enabled: bool = True) -> dict[str, Any] | None:
    if not enabled:
        return None
    vad = config.vad
    # The gate, not the server, keeps our own speaker out of the mic; barge-in by voice only makes
    # sense when the mic can hear the person over the speaker (echo gate off).
    interrupt = not config.audio.echo_gate
    if vad.type == "semantic_vad":
        return {"type": "semantic_vad", "eagerness": vad.eagerness,
                "create_response": True, "interrupt_response": interrupt}
    return {
        "type": "server_vad",
        "threshold": vad.threshold,
        "prefix_padding_ms": vad.prefix_padding_ms,
        "silence_duration_ms": vad.silence_duration_ms,
        "create_response": True,
        "interrupt_response": interrupt,
    }


def session_update(config: Config, instructions: str, event_id: str, vad_enabled: bool = True) -> dict[str, Any]:
    """The conversation-session configuration: audio in and out, VAD, transcripts, instructions."""
    api = config.api
    audio_input: dict[str, Any] = {
        "format": dict(PCM_FORMAT),
        "noise_reduction": None if api.noise_reduction == "off" else {"type": api.noise_reduction},
        "turn_detection": turn_detection(config, vad_enabled),
    }
    if api.transcription_model:
        audio_input["transcription"] = {"model": api.transcription_model}
    session: dict[str, Any] = {
        "type": "realtime",
        "instructions": instructions,
        "output_modalities": ["audio"],
        "audio": {
            "input": audio_input,
            "output": {"format": dict(PCM_FORMAT), "voice": api.voice},
        },
    }
    if api.reasoning_effort:
        session["reasoning"] = {"effort": api.reasoning_effort}
    session["truncation"] = truncation(config)
    return {"type": "session.update", "event_id": event_id, "session": session}


def truncation(config: Config) -> str | dict[str, Any]:
    """The session's truncation: with context.strategy 'truncation' the server drops the oldest
    turns once the history after the instructions outgrows context.max_tokens, down to
    retention_ratio of it (in one large step, so the cached prefix survives the turns between);
    otherwise the server's default ('auto': only at the model's context limit)."""
    ctx = config.context
    if ctx.strategy != "truncation":
        return "auto"
    return {"type": "retention_ratio", "retention_ratio": ctx.retention_ratio,
            "token_limits": {"post_instructions": ctx.max_tokens}}


def item_delete(item_id: str, event_id: str) -> dict[str, Any]:
    return {"type": "conversation.item.delete", "event_id": event_id, "item_id": item_id}


def truncate(item_id: str, audio_end_ms: int, event_id: str) -> dict[str, Any]:
    return {"type": "conversation.item.truncate", "event_id": event_id, "item_id": item_id,
            "content_index": 0, "audio_end_ms": max(0, int(audio_end_ms))}


def response_cancel(event_id: str) -> dict[str, Any]:
    return {"type": "response.cancel", "event_id": event_id}


def commit(event_id: str) -> dict[str, Any]:
    return {"type": "input_audio_buffer.commit", "event_id": event_id}


def response_create(event_id: str) -> dict[str, Any]:
    return {"type": "response.create", "event_id": event_id}


def clear(event_id: str) -> dict[str, Any]:
    return {"type": "input_audio_buffer.clear", "event_id": event_id}
