"""Today's estimated spend, the cost per translated minute, and the daily budget.

One :class:`CostMeter` per daemon, fed on the loop thread with each usage the server reports. The
day is the local calendar day (the gadget's timezone): at local midnight today's total starts
again from 0 and a budget that was spent is available again. A reload may raise or lower the
limit (:meth:`CostMeter.reconfigure`). Today's estimate is carried over a restart of the daemon
(:mod:`.ledger`); the totals since start are not.

A "translated minute" is a minute of translated speech the model produced (its output audio
tokens, 20 per second) in conversation and one-way modes, and a minute of audio streamed to the
interpreter in interpreter mode (what that mode is billed by).
"""

from __future__ import annotations

import datetime as dt
import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..config import CostConfig
from .prices import interpreter_cost, response_cost, transcription_cost
from .usage import ResponseUsage, TranscriptionUsage

EPSILON = 1e-9
"""Sums of prices carry float rounding: ten charges of 0.01 must reach a limit of 0.10."""
OUTPUT_AUDIO_TOKENS_PER_S = 20
"""The service counts the model's audio at 1 token per 50 ms."""


class BudgetChange(enum.Enum):
    """What the last charge, a new day or a reload did to the budget."""

    WARNING = "warning"
    """Today's estimate reached cost.warn_at_percent of the limit (once a day)."""
    SPENT = "spent"
    """Today's estimate reached the limit: stop sending audio."""
    RESUMED = "resumed"
    """A new day, or a reload that raised (or removed) the limit: send audio again."""


@dataclass(frozen=True)
class CostSummary:
    """A snapshot for the metrics file, the state file and `health`."""

    currency: str
    today: float
    total: float
    """Since the daemon started."""
    limit: float | None
    spent: bool
    responses: int
    usage: ResponseUsage
    """All response tokens since the daemon started."""
    transcription_s: float
    transcription_tokens: int
    translated_s: float
    """Translated speech (see the module doc) since the daemon started."""

    @property
    def per_translated_minute(self) -> float | None:
        return self.total / (self.translated_s / 60) if self.translated_s > 0 else None


class CostMeter:
    def __init__(self, config: CostConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._day = self._today()
        self.today = 0.0
        self.total = 0.0
        self.responses = 0
        self.usage = ResponseUsage()
        self.transcription_s = 0.0
        self.transcription_tokens = 0
        self.translated_s = 0.0
        self.spent = False
        self._spent_day = ""
        self._warned = False

    # -- charges (each returns its own estimate) ---------------------------------------------------

    def response(self, usage: ResponseUsage) -> float:
        cost = response_cost(usage, self.config.prices)
        self.responses += 1
        self.usage = self.usage + usage
        self.translated_s += usage.output_audio / OUTPUT_AUDIO_TOKENS_PER_S
        self._add(cost)
        return cost

    def transcription(self, usage: TranscriptionUsage) -> float:
        cost = transcription_cost(usage, self.config.prices)
        self.transcription_s += usage.seconds
        self.transcription_tokens += usage.input_tokens + usage.output_tokens
        self._add(cost)
        return cost

    def interpreter(self, seconds: float) -> float:
        cost = interpreter_cost(seconds, self.config.prices)
        self.translated_s += seconds
        self._add(cost)
        return cost

    def _add(self, cost: float) -> None:
        self.roll_day()
        self.today += cost
        self.total += cost

    # -- the budget ----------------------------------------------------------------------------------

    def check(self) -> BudgetChange | None:
        """Call after charges, at local midnight and after a reload: what changed, if anything."""
        self.roll_day()
        limit = self.config.daily_limit
        if self.spent and (self._spent_day != self._day or limit is None or self.today < limit):
            self.spent = False
            return BudgetChange.RESUMED
        if limit is None or self.spent:
            return None
        if self.today + EPSILON >= limit:
            self.spent = self._warned = True
            self._spent_day = self._day
            return BudgetChange.SPENT
        if not self._warned and self.today + EPSILON >= limit * self.config.warn_at_percent / 100:
            self._warned = True
            return BudgetChange.WARNING
        return None

    def reconfigure(self, config: CostConfig) -> None:
        """A reload: new prices apply to what comes next; a new limit is judged at the next check.
        A limit raised past the warning level may warn again."""
        if config.daily_limit != self.config.daily_limit:
            self._warned = self.spent
        self.config = config

    def roll_day(self) -> bool:
        """At the first use after local midnight: today starts from 0. True if that happened."""
        day = self._today()
        if day == self._day:
            return False
        self._day = day
        self.today = 0.0
        self._warned = False
        return True

    @property
    def day(self) -> str:
        """The local date today's estimate is for."""
        self.roll_day()
        return self._day

    def carry_over(self, day: str, today: float) -> None:
        """Today's estimate of an earlier run of the daemon (a restart must not reset the budget)."""
        if day == self.day:
            self.today = max(self.today, today)

    def seconds_to_midnight(self) -> float:
        now = dt.datetime.fromtimestamp(self._clock()).astimezone()
        tomorrow = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return max(1.0, (tomorrow - now).total_seconds())

    def summary(self) -> CostSummary:
        self.roll_day()
        return CostSummary(
            currency=self.config.currency, today=self.today, total=self.total, limit=self.config.daily_limit,
            spent=self.spent, responses=self.responses, usage=self.usage, transcription_s=self.transcription_s,
            transcription_tokens=self.transcription_tokens, translated_s=self.translated_s)

    def _today(self) -> str:
        return dt.datetime.fromtimestamp(self._clock()).astimezone().date().isoformat()
