"""Usage as the server reports it, read defensively: every field may be missing or wrong.

A conversation response's ``response.done`` carries ``response.usage`` (input tokens split into
text/audio, with a cached subset, and output tokens split into text/audio); input transcription
reports its own usage on ``conversation.item.input_audio_transcription.completed``, either as
seconds of audio or as tokens. Anything that is not a non-negative integer counts as 0, so a broken
or hostile event can make an estimate wrong but never crash the daemon or make it negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_TOKENS = 10_000_000
"""No single response has more tokens than this (the largest context is ~128 k); above it a value
is broken or hostile and is clamped, so one event cannot blow the day's budget into the sky."""
MAX_SECONDS = 3600.0


@dataclass(frozen=True)
class ResponseUsage:
    """One response's tokens. ``cached_*`` are the part of ``input_*`` served from the cache."""

    input_text: int = 0
    input_audio: int = 0
    cached_text: int = 0
    cached_audio: int = 0
    output_text: int = 0
    output_audio: int = 0

    @property
    def input_tokens(self) -> int:
        return self.input_text + self.input_audio

    @property
    def cached_tokens(self) -> int:
        return self.cached_text + self.cached_audio

    @property
    def output_tokens(self) -> int:
        return self.output_text + self.output_audio

    @property
    def cached_share(self) -> float:
        """Cached input tokens / input tokens (0 when there were none)."""
        return self.cached_tokens / self.input_tokens if self.input_tokens else 0.0

    def __add__(self, other: ResponseUsage) -> ResponseUsage:
        return ResponseUsage(*(a + b for a, b in zip(self.fields(), other.fields(), strict=True)))

    def fields(self) -> tuple[int, ...]:
        return (self.input_text, self.input_audio, self.cached_text, self.cached_audio,
                self.output_text, self.output_audio)


@dataclass(frozen=True)
class TranscriptionUsage:
    """Input transcription of one utterance: seconds of audio, or tokens (whichever the model bills)."""

    seconds: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0


def response_usage(usage: Any) -> ResponseUsage | None:
    """``response.usage`` of a response.done; None when there is none (a response with no usage)."""
    if not isinstance(usage, dict):
        return None
    details = _dict(usage.get("input_token_details"))
    out = _dict(usage.get("output_token_details"))
    text_in, audio_in = _count(details.get("text_tokens")), _count(details.get("audio_tokens"))
    if not details:  # no split given: count it all as audio, the dearer kind for a translator
        audio_in = _count(usage.get("input_tokens"))
    cached = min(_count(details.get("cached_tokens")), text_in + audio_in)
    cached_details = _dict(details.get("cached_tokens_details"))
    if cached_details:
        cached_text = min(_count(cached_details.get("text_tokens")), text_in, cached)
        cached_audio = min(cached - cached_text, audio_in)
    else:  # the cached prefix starts with the instructions: text first, then audio
        cached_text = min(cached, text_in)
        cached_audio = min(cached - cached_text, audio_in)
    text_out, audio_out = _count(out.get("text_tokens")), _count(out.get("audio_tokens"))
    if not out:
        audio_out = _count(usage.get("output_tokens"))
    return ResponseUsage(text_in, audio_in, cached_text, cached_audio, text_out, audio_out)


def transcription_usage(usage: Any) -> TranscriptionUsage | None:
    """``usage`` of a transcription.completed event: ``{"type": "duration", "seconds"}`` or
    ``{"type": "tokens", "input_tokens", "output_tokens"}``."""
    if not isinstance(usage, dict):
        return None
    if usage.get("type") == "duration":
        seconds = usage.get("seconds")
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds == seconds:
            return TranscriptionUsage(seconds=min(max(float(seconds), 0.0), MAX_SECONDS))
        return None
    if usage.get("type") == "tokens":
        return TranscriptionUsage(input_tokens=_count(usage.get("input_tokens")),
                                  output_tokens=_count(usage.get("output_tokens")))
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return min(value, MAX_TOKENS)
    return 0
