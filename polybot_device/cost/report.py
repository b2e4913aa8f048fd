"""Cost as the fleet sees it: lines for the metrics file, fields for the journal and state file.

Series appended to the metrics file (docs/fleet.md lists them with the others):

    polybot_tokens_total{kind}               response tokens since start: input_text, input_audio,
                                             cached_text, cached_audio (subsets of the inputs),
                                             output_text, output_audio
    polybot_transcription_seconds_total      audio transcribed (input transcription), since start
    polybot_cost_estimated_total{currency}   estimated cost since start
    polybot_cost_today{currency}             estimated cost of the local day so far
    polybot_cost_daily_limit{currency}       cost.daily_limit (NaN: no budget)
    polybot_translated_seconds_total         translated speech (docs/cost.md: what counts)
"""

from __future__ import annotations

import math
from typing import Any

from .meter import CostSummary
from .usage import ResponseUsage

TOKEN_KINDS = ("input_text", "input_audio", "cached_text", "cached_audio", "output_text", "output_audio")


def metrics_text(s: CostSummary) -> str:
    u = s.usage
    currency = s.currency.replace("\\", "").replace('"', "").replace("\n", "")[:16]
    lines = ["# HELP polybot_tokens_total Response tokens reported by the API since start, by kind.",
             "# TYPE polybot_tokens_total counter"]
    lines += [f'polybot_tokens_total{{kind="{kind}"}} {value}'
              for kind, value in zip(TOKEN_KINDS, u.fields(), strict=True)]
    for name, kind, help_text, value, labelled in (
        ("polybot_transcription_seconds_total", "counter", "Audio transcribed by input transcription.",
         s.transcription_s, False),
        ("polybot_cost_estimated_total", "counter", "Estimated cost since start (cost.prices).", s.total, True),
        ("polybot_cost_today", "gauge", "Estimated cost of the local calendar day so far.", s.today, True),
        ("polybot_cost_daily_limit", "gauge", "cost.daily_limit (NaN: no budget).",
         math.nan if s.limit is None else s.limit, True),
        ("polybot_translated_seconds_total", "counter", "Translated speech since start.", s.translated_s, False),
    ):
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        label = f'{{currency="{currency}"}}' if labelled else ""
        lines.append(f"{name}{label} {'NaN' if math.isnan(value) else repr(round(value, 6))}")
    return "\n".join(lines) + "\n"


def journal_fields(usage: ResponseUsage, cost: float) -> dict[str, str]:
    """Per response: tokens in and out, the cached share of the input, the estimate."""
    return {"POLYBOT_TOKENS_IN": str(usage.input_tokens), "POLYBOT_TOKENS_OUT": str(usage.output_tokens),
            "POLYBOT_CACHED_SHARE": f"{usage.cached_share:.3f}", "POLYBOT_COST": f"{cost:.6f}"}


def state_fields(s: CostSummary) -> dict[str, Any]:
    """For the state file (and so `polybot-device health`)."""
    return {"cost_today": round(s.today, 4), "cost_currency": s.currency, "cost_daily_limit": s.limit,
            "budget_spent": s.spent}


def health_words(state: dict[str, Any] | Any) -> str | None:
    """'today ~0.42 USD (limit 5.00)' from a state file's content; None when it has none (or junk)."""
    if not isinstance(state, dict):
        return None
    today, currency, limit = state.get("cost_today"), state.get("cost_currency"), state.get("cost_daily_limit")
    if not _number(today) or not isinstance(currency, str):
        return None
    words = f"today ~{today:.2f} {currency[:16]}"
    return words + (f" (limit {limit:.2f})" if _number(limit) else "")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
