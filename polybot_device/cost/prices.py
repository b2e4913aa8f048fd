"""A usage priced with the configured table (``cost.prices``): an estimate, not an invoice.

Cached input tokens are a subset of input tokens, billed at the cached price instead of the full
one. The estimate is only as good as the table: docs/cost.md says where the defaults come from.
"""

from __future__ import annotations

from ..config import PricesConfig
from .usage import ResponseUsage, TranscriptionUsage

PER_MTOK = 1_000_000


def response_cost(u: ResponseUsage, p: PricesConfig) -> float:
    return (
        (u.input_text - u.cached_text) * p.text_input_per_mtok
        + u.cached_text * p.text_cached_input_per_mtok
        + (u.input_audio - u.cached_audio) * p.audio_input_per_mtok
        + u.cached_audio * p.audio_cached_input_per_mtok
        + u.output_text * p.text_output_per_mtok
        + u.output_audio * p.audio_output_per_mtok
    ) / PER_MTOK


def transcription_cost(u: TranscriptionUsage, p: PricesConfig) -> float:
    return (u.seconds / 60 * p.transcription_per_minute
            + (u.input_tokens * p.transcription_input_per_mtok
               + u.output_tokens * p.transcription_output_per_mtok) / PER_MTOK)


def interpreter_cost(seconds: float, p: PricesConfig) -> float:
    return seconds / 60 * p.interpreter_per_minute
