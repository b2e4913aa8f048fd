"""The translator's side of cost: charge each usage, keep the budget, pause and resume the mic.

Owned by :class:`.app.Translator`, on the loop thread. When the budget is spent, ``paused`` turns
true (the mic pump then sends nothing), the status model shows the budget state, and a timer waits
for local midnight; a reload that raises or removes the limit resumes at once. Interpreter mode
has no usage events: its minutes are charged from the audio streamed to the session, counted by
the outbox and read here once a second. Today's estimate is kept in ``ledger`` (if given) after
every charge and picked up again at start, so a restart does not reset the budget.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from ..config import CostConfig
from ..state import StatusModel
from ..stats import BudgetChanged, ResponseCost, TranslatorEvent
from . import ledger
from .meter import BudgetChange, CostMeter, CostSummary
from .usage import ResponseUsage, TranscriptionUsage

log = logging.getLogger(__name__)

INTERPRETER_METER_S = 1.0


class CostKeeper:
    def __init__(self, config: CostConfig, status: StatusModel, emit: Callable[[TranslatorEvent], None],
                 meter: CostMeter | None = None, ledger_path: Path | None = None) -> None:
        self.meter = meter or CostMeter(config)
        self._ledger = ledger_path
        self._ledger_complaint = False
        earlier = ledger.load(ledger_path) if ledger_path else None
        if earlier:
            self.meter.carry_over(*earlier)
        self._status = status
        self._emit = emit
        self.paused = False
        """The budget is spent: no audio is sent until it is available again."""
        self._midnight: asyncio.TimerHandle | None = None
        self._streamed_ms = 0.0

    def response(self, usage: ResponseUsage) -> None:
        cost = self.meter.response(usage)
        self._emit(ResponseCost(usage, cost))
        self._charged()

    def transcription(self, usage: TranscriptionUsage) -> None:
        self.meter.transcription(usage)
        self._charged()

    def interpreter_streamed(self, total_ms: float, interpreting: bool) -> None:
        """The outbox's running total of audio sent; charged when it went to an interpreter session."""
        delta, self._streamed_ms = total_ms - self._streamed_ms, total_ms
        if interpreting and delta > 0:
            self.meter.interpreter(delta / 1000)
            self._charged()

    async def run(self, sent_ms: Callable[[], float], interpreting: Callable[[], bool]) -> None:
        """The keeper's task: applies a budget an earlier run spent today, then charges interpreter
        minutes once a second (never per audio chunk)."""
        self.check()
        while True:
            await asyncio.sleep(INTERPRETER_METER_S)
            self.interpreter_streamed(sent_ms(), interpreting())

    def _charged(self) -> None:
        self.check()
        if self._ledger is None:
            return
        try:
            ledger.save(self._ledger, self.meter.day, self.meter.today)
        except OSError as exc:
            if not self._ledger_complaint:  # e.g. run by hand with no /run/polybot: once
                self._ledger_complaint = True
                log.info("cannot keep today's cost estimate in %s (%s): a restart starts it from 0",
                         self._ledger, exc.strerror or exc)

    def reconfigure(self, config: CostConfig) -> None:
        self.meter.reconfigure(config)
        self.check()

    def summary(self) -> CostSummary:
        return self.meter.summary()

    def check(self) -> None:
        change = self.meter.check()
        if change is None:
            return
        summary = self.meter.summary()
        words = f"{summary.today:.2f} of {summary.limit or 0:.2f} {summary.currency}"
        if change is BudgetChange.WARNING:
            log.warning("cost: today's estimate reached %d %% of the daily budget (%s)",
                        self.meter.config.warn_at_percent, words)
        elif change is BudgetChange.SPENT:
            log.warning("cost: daily budget reached (%s): no audio is sent until local midnight "
                        "or a reload raises cost.daily_limit", words)
            self.paused = True
            self._status.update(budget_spent=True, detail=f"today ~{words}")
            self._arm_midnight()
        else:
            log.info("cost: the daily budget is available again (today %.2f %s): translating",
                     summary.today, summary.currency)
            self.paused = False
            self._cancel_midnight()
            facts = self._status.facts
            self._status.update(budget_spent=False, detail="" if facts.detail.startswith("today ~") else facts.detail)
        self._emit(BudgetChanged(change, summary))

    def _arm_midnight(self) -> None:
        self._cancel_midnight()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a plain-value test): the next check after midnight resumes
        # A little past midnight, so the local date has surely changed when we look again.
        self._midnight = loop.call_later(self.meter.seconds_to_midnight() + 1.0, self._at_midnight)

    def _at_midnight(self) -> None:
        self._midnight = None
        self.check()
        if self.paused:  # clock stepped back or the limit is 0: look again next midnight
            self._arm_midnight()

    def _cancel_midnight(self) -> None:
        if self._midnight is not None:
            self._midnight.cancel()
            self._midnight = None

    def close(self) -> None:
        self._cancel_midnight()
