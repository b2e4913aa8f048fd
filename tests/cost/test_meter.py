"""Today's total, the budget's warning, stop and resume, and the local day's end."""

from __future__ import annotations

import datetime as dt

import pytest

from polybot_device.config import CostConfig, PricesConfig
from polybot_device.cost.meter import BudgetChange, CostMeter
from polybot_device.cost.usage import ResponseUsage

PRICES = PricesConfig(audio_output_per_mtok=1_000_000 / 100)  # 1 output audio token = 0.01


class Clock:
    def __init__(self, when: dt.datetime) -> None:
        self.now = when.timestamp()

    def __call__(self) -> float:
        return self.now


def evening() -> Clock:
    return Clock(dt.datetime.now().astimezone().replace(hour=23, minute=0, second=0, microsecond=0))


def meter(limit: float | None, clock: Clock) -> CostMeter:
    return CostMeter(CostConfig(prices=PRICES, daily_limit=limit), clock=clock)


def cents(n: int) -> ResponseUsage:
    return ResponseUsage(output_audio=n)


def test_the_budget_warns_once_at_80_percent_then_stops_at_the_limit():
    m = meter(0.10, evening())
    changes = []
    for _ in range(12):
        m.response(cents(1))
        changes.append(m.check())
    assert changes[:7] == [None] * 7
    assert changes[7] is BudgetChange.WARNING  # 0.08 = 80 % of 0.10
    assert changes[8] is None  # said once
    assert changes[9] is BudgetChange.SPENT
    assert changes[10:] == [None, None] and m.spent
    assert m.summary().today == pytest.approx(0.12)


def test_a_new_local_day_resumes_and_starts_from_zero():
    clock = evening()
    m = meter(0.05, clock)
    m.response(cents(5))
    assert m.check() is BudgetChange.SPENT
    assert 3590 <= m.seconds_to_midnight() <= 3601
    clock.now += 3600 + 1
    assert m.check() is BudgetChange.RESUMED
    s = m.summary()
    assert (s.today, s.spent) == (0.0, False)
    assert s.total == pytest.approx(0.05)


def test_a_reload_raising_the_limit_resumes_and_lowering_it_stops():
    m = meter(0.05, evening())
    m.response(cents(5))
    assert m.check() is BudgetChange.SPENT
    m.reconfigure(CostConfig(prices=PRICES, daily_limit=1.0))
    assert m.check() is BudgetChange.RESUMED
    m.reconfigure(CostConfig(prices=PRICES, daily_limit=None))
    assert m.check() is None
    m.reconfigure(CostConfig(prices=PRICES, daily_limit=0.01))
    assert m.check() is BudgetChange.SPENT


def test_without_a_limit_nothing_ever_stops():
    m = meter(None, evening())
    for _ in range(100):
        m.response(cents(100))
        assert m.check() is None


def test_cost_per_translated_minute_counts_output_speech():
    m = meter(None, evening())
    m.response(cents(20 * 60))  # one minute of translated speech at 20 tokens/s, 0.01 each
    assert m.summary().per_translated_minute == pytest.approx(12.0)
    m.interpreter(60.0)
    assert m.summary().translated_s == pytest.approx(120.0)
