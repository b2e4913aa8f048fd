"""Usage the way the service reports it, computed from what the session really holds.

The whole conversation is the input of every response: the instructions (text), then each item
still in the conversation, oldest first. User audio counts 1 token per 100 ms, assistant audio 1
token per 50 ms; each item adds a few special tokens, and text (instructions, the answer's
transcript) about one token per 4 characters. What a response outputs is its audio (1 token per
50 ms) and its transcript (text).

The cache: the part of a response's input that is an unchanged prefix of the previous response's
input (same instructions, same items with the same content, in the same order) is reported as
cached, in whole blocks of ``CACHE_BLOCK_TOKENS`` (published usage blocks show cached counts in
such multiples). Deleting or truncating an item breaks the prefix from that item on, which is what
makes how the history is shortened matter for the bill.

Session ``truncation`` of type ``retention_ratio`` is applied before each response: when the
items' tokens exceed ``token_limits.post_instructions``, the oldest items go until the rest fits
``retention_ratio`` x that limit. ``auto`` (the model's 128 k context) and ``disabled`` never drop
anything in a simulated session. No I/O here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

USER_AUDIO_MS_PER_TOKEN = 100
ASSISTANT_AUDIO_MS_PER_TOKEN = 50
ITEM_SPECIAL_TOKENS = 4
CHARS_PER_TEXT_TOKEN = 4
CACHE_BLOCK_TOKENS = 128


def text_tokens(text: str | None) -> int:
    return math.ceil(len(text) / CHARS_PER_TEXT_TOKEN) if text else 0


def audio_tokens(role: str | None, audio_ms: int) -> int:
    per = ASSISTANT_AUDIO_MS_PER_TOKEN if role == "assistant" else USER_AUDIO_MS_PER_TOKEN
    return math.ceil(max(0, audio_ms) / per)


@dataclass(frozen=True)
class _Entry:
    key: tuple[Any, ...]
    text: int
    audio: int


def _entry(item_id: str, item: dict[str, Any]) -> _Entry:
    text = ITEM_SPECIAL_TOKENS + text_tokens(item.get("text"))
    audio = audio_tokens(item.get("role"), int(item.get("audio_ms") or 0))
    return _Entry((item_id, text, audio), text, audio)


def truncate(items: dict[str, dict[str, Any]], truncation: Any) -> list[str]:
    """Apply a retention_ratio ``truncation`` to ``items`` (in conversation order, changed in
    place); returns the ids dropped. The newest item always stays."""
    if not isinstance(truncation, dict) or truncation.get("type") != "retention_ratio":
        return []
    limit = (truncation.get("token_limits") or {}).get("post_instructions")
    if not isinstance(limit, int) or limit <= 0:
        return []
    sizes = {item_id: _entry(item_id, item) for item_id, item in items.items()}
    total = sum(e.text + e.audio for e in sizes.values())
    if total <= limit:
        return []
    keep = float(truncation.get("retention_ratio", 0.0)) * limit
    dropped: list[str] = []
    for item_id, entry in sizes.items():
        if total <= keep or len(items) <= 1:
            break
        del items[item_id]
        total -= entry.text + entry.audio
        dropped.append(item_id)
    return dropped


class UsageLedger:
    """Remembers the previous response's input, to tell the cached prefix of the next one."""

    def __init__(self) -> None:
        self._previous: list[_Entry] = []

    def input_usage(self, instructions: str | None, items: dict[str, dict[str, Any]]) -> dict[str, int]:
        """The input side of the next response's usage (and remember it for the one after)."""
        entries = [_Entry(("instructions", instructions), text_tokens(instructions), 0)]
        entries += [_entry(item_id, item) for item_id, item in items.items()]
        prefix = 0
        for old, new in zip(self._previous, entries, strict=False):
            if old != new:
                break
            prefix += new.text + new.audio
        self._previous = entries
        cached = prefix // CACHE_BLOCK_TOKENS * CACHE_BLOCK_TOKENS
        cached_text = cached_audio = 0
        remaining = cached
        for entry in entries:
            take_text = min(entry.text, remaining)
            remaining -= take_text
            take_audio = min(entry.audio, remaining)
            remaining -= take_audio
            cached_text += take_text
            cached_audio += take_audio
        return {"text": sum(e.text for e in entries), "audio": sum(e.audio for e in entries),
                "cached_text": cached_text, "cached_audio": cached_audio}


def response_usage(inputs: dict[str, int], output_audio_ms: int, transcript: str) -> dict[str, Any]:
    """A ``response.usage`` object (validates as the openai RealtimeResponseUsage)."""
    audio_out = audio_tokens("assistant", output_audio_ms)
    text_out = text_tokens(transcript)
    input_tokens = inputs["text"] + inputs["audio"]
    cached = inputs["cached_text"] + inputs["cached_audio"]
    return {
        "total_tokens": input_tokens + audio_out + text_out,
        "input_tokens": input_tokens,
        "output_tokens": audio_out + text_out,
        "input_token_details": {
            "text_tokens": inputs["text"], "audio_tokens": inputs["audio"], "image_tokens": 0,
            "cached_tokens": cached,
            "cached_tokens_details": {"text_tokens": inputs["cached_text"],
                                      "audio_tokens": inputs["cached_audio"], "image_tokens": 0},
        },
        "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
    }
