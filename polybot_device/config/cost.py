"""The ``cost:`` and ``context:`` sections: the price table, the daily budget, the short context.

Kept apart from :mod:`.schema` because they belong together: the context settings decide how many
tokens each response carries, the prices what those tokens cost, the budget when to stop. The
default prices are the published ones for the default models (``api.model`` gpt-realtime-2.1,
``api.transcription_model`` gpt-4o-mini-transcribe, ``api.translation_model``
gpt-realtime-translate), taken on the date docs/cost.md gives; change them here when the model or
the price list changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .base import bounded

_PRICE = {"min": 0.0, "max": 10_000.0}


@dataclass(frozen=True)
class PricesConfig:
    text_input_per_mtok: float = bounded(4.00, **_PRICE)
    """Realtime model: text input tokens (instructions, glossary), per million."""
    text_cached_input_per_mtok: float = bounded(0.40, **_PRICE)
    """Realtime model: cached text input tokens, per million."""
    text_output_per_mtok: float = bounded(24.00, **_PRICE)
    """Realtime model: text output tokens (the translation's transcript), per million."""
    audio_input_per_mtok: float = bounded(32.00, **_PRICE)
    """Realtime model: audio input tokens (1 per 100 ms of speech, 1 per 50 ms of earlier answers), per million."""
    audio_cached_input_per_mtok: float = bounded(0.40, **_PRICE)
    """Realtime model: cached audio input tokens, per million."""
    audio_output_per_mtok: float = bounded(64.00, **_PRICE)
    """Realtime model: audio output tokens (1 per 50 ms of translated speech), per million."""
    transcription_per_minute: float = bounded(0.003, **_PRICE)
    """Input transcription (api.transcription_model) when it reports seconds, per minute of audio."""
    transcription_input_per_mtok: float = bounded(3.00, **_PRICE)
    """Input transcription when it reports tokens: input (audio) tokens, per million."""
    transcription_output_per_mtok: float = bounded(5.00, **_PRICE)
    """Input transcription when it reports tokens: output (text) tokens, per million."""
    interpreter_per_minute: float = bounded(0.034, **_PRICE)
    """Interpreter mode (api.translation_model): per minute of audio streamed to the session."""


@dataclass(frozen=True)
class CostConfig:
    currency: str = "USD"
    """What the prices and cost.daily_limit are in (only shown, never converted)."""
    prices: PricesConfig = field(default_factory=PricesConfig)
    daily_limit: float | None = bounded(None, min=0.0, max=1_000_000.0)
    """Budget per local calendar day in cost.currency. Reaching it stops sending audio until local
    midnight or a reload that raises it. null: no budget."""
    warn_at_percent: int = bounded(80, min=1, max=100)
    """Log a warning (once a day) when today's estimate reaches this share of cost.daily_limit."""


@dataclass(frozen=True)
class ContextConfig:
    strategy: Literal["delete", "truncation", "off"] = "delete"
    """How conversation and one-way sessions keep their history short (instructions and glossary
    always stay): delete (after each response the gadget deletes all but the last
    context.keep_turns turns), truncation (the server drops the oldest turns in one large step
    when the history outgrows context.max_tokens), off (the history grows until the session ends).
    docs/cost.md has the measurements behind the default."""
    keep_turns: int = bounded(1, min=1, max=100)
    """delete: turns (an utterance and its translation) kept after each response."""
    retention_ratio: float = bounded(0.2, min=0.0, max=1.0)
    """truncation: share of context.max_tokens kept when the history outgrows it."""
    max_tokens: int = bounded(400, min=100, max=100_000)
    """truncation: history tokens after the instructions (session truncation post_instructions
    limit) past which the oldest turns are dropped."""
