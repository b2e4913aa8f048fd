"""The budget as the gadget shows it: the state, the paused mic, and the resume at local midnight."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from polybot_device.config import CostConfig, PricesConfig
from polybot_device.cost.keeper import CostKeeper
from polybot_device.cost.meter import BudgetChange, CostMeter
from polybot_device.cost.usage import ResponseUsage
from polybot_device.state import Link, State, StatusModel
from polybot_device.stats import BudgetChanged, TranslatorEvent
from tests.rig.timing import scaled

PRICES = PricesConfig(audio_output_per_mtok=1_000_000 / 100)  # 1 output audio token = 0.01


def live_status() -> StatusModel:
    status = StatusModel()
    status.update(started=True, link=Link.UP)
    return status


def test_spending_the_budget_pauses_shows_the_state_and_midnight_resumes():
    async def body() -> None:
        midnight = (dt.datetime.now().astimezone() + dt.timedelta(days=1)).replace(
            hour=0, minute=0, second=0, microsecond=0).timestamp()
        started = time.monotonic()

        def clock() -> float:  # 1.5 s before local midnight, then running with the real clock
            return midnight - 1.5 + (time.monotonic() - started)

        status = live_status()
        events: list[TranslatorEvent] = []
        config = CostConfig(prices=PRICES, daily_limit=0.05)
        keeper = CostKeeper(config, status, events.append, meter=CostMeter(config, clock=clock))
        keeper.response(ResponseUsage(output_audio=6))
        assert keeper.paused
        assert status.state is State.BUDGET_SPENT
        assert "0.06 of 0.05 USD" in status.facts.detail
        deadline = time.monotonic() + scaled(10)
        while keeper.paused and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not keeper.paused, "the budget did not come back after local midnight"
        assert status.state is State.LISTENING and status.facts.detail == ""
        changes = [e.change for e in events if isinstance(e, BudgetChanged)]
        assert changes == [BudgetChange.SPENT, BudgetChange.RESUMED]
        keeper.close()

    asyncio.run(body())


def test_a_reload_that_raises_the_limit_resumes_at_once():
    status = live_status()
    keeper = CostKeeper(CostConfig(prices=PRICES, daily_limit=0.05), status, lambda event: None)
    keeper.response(ResponseUsage(output_audio=5))
    assert keeper.paused and status.state is State.BUDGET_SPENT
    keeper.reconfigure(CostConfig(prices=PRICES, daily_limit=0.50))
    assert not keeper.paused and status.state is State.LISTENING
    keeper.response(ResponseUsage(output_audio=40))  # 0.45 of 0.50: past 80 %, not yet spent
    assert not keeper.paused


def test_interpreter_minutes_are_charged_from_the_audio_streamed():
    keeper = CostKeeper(CostConfig(), live_status(), lambda event: None)
    keeper.interpreter_streamed(30_000, interpreting=True)
    keeper.interpreter_streamed(90_000, interpreting=False)  # a conversation session: billed by tokens
    keeper.interpreter_streamed(120_000, interpreting=True)
    summary = keeper.summary()
    assert summary.translated_s == 60
    assert abs(summary.today - 0.034) < 1e-9
