"""The cost as a fleet reads it: Prometheus series, journal fields, the health line."""

from __future__ import annotations

import math

from polybot_device.cost.meter import CostSummary
from polybot_device.cost.report import health_words, journal_fields, metrics_text, state_fields
from polybot_device.cost.usage import ResponseUsage
from polybot_device.fleet.health import DEGRADED, HEALTHY, assess
from tests.fleet.test_metrics import samples
from tests.rig.fleet import LIVE

USAGE = ResponseUsage(input_text=200, input_audio=100, cached_text=128, cached_audio=0, output_text=5, output_audio=40)


def summary(**changes) -> CostSummary:
    values = dict(currency="EUR", today=0.4217, total=1.5, limit=5.0, spent=False, responses=3, usage=USAGE,
                  transcription_s=2.5, transcription_tokens=0, translated_s=6.0)
    return CostSummary(**{**values, **changes})


def test_the_metrics_parse_as_prometheus_text():
    got = samples(metrics_text(summary()))
    assert got[("polybot_tokens_total", (("kind", "input_audio"),))] == 100
    assert got[("polybot_tokens_total", (("kind", "cached_text"),))] == 128
    assert got[("polybot_cost_today", (("currency", "EUR"),))] == 0.4217
    assert got[("polybot_cost_estimated_total", (("currency", "EUR"),))] == 1.5
    assert got[("polybot_translated_seconds_total", ())] == 6.0
    assert math.isnan(samples(metrics_text(summary(limit=None)))[("polybot_cost_daily_limit", (("currency", "EUR"),))])
    assert samples(metrics_text(summary(currency='U"S\nD')))  # a hostile currency still parses


def test_journal_fields_give_tokens_in_out_and_the_cached_share():
    fields = journal_fields(USAGE, 0.0123)
    assert fields == {"POLYBOT_TOKENS_IN": "300", "POLYBOT_TOKENS_OUT": "45", "POLYBOT_CACHED_SHARE": "0.427",
                      "POLYBOT_COST": "0.012300"}


def verdict(**state):
    return assess({**LIVE, "pid": 1, "boottime_s": 100.0, **state}, now_boottime_s=101.0, this_boot="",
                  pid_alive=lambda pid: True)


def test_health_includes_todays_estimate_and_a_spent_budget_is_degraded():
    ok = verdict(**state_fields(summary()))
    assert ok.code == HEALTHY and ok.reason.endswith("today ~0.42 EUR (limit 5.00)")
    spent = verdict(**state_fields(summary(today=5.01, spent=True)), state="budget-spent",
                    status="Daily budget reached: translation paused until midnight")
    assert spent.code == DEGRADED
    assert "Daily budget reached" in spent.reason and "today ~5.01 EUR" in spent.reason
    for junk in ({"cost_today": "lots", "cost_currency": "USD"}, {"cost_today": float("inf"), "cost_currency": 1}):
        assert health_words(junk) is None
        assert verdict(**junk).code == HEALTHY
