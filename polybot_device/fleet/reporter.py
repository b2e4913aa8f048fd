"""The daemon's one fleet task: keeps the state file, the metrics file, the update lock and the
structured journal entries current. It reads the translator's stats snapshots and is told about
state changes, link outcomes and finished responses; nothing here runs per audio chunk.

Timing: a 0.2 s tick samples the audio levels and the 'translation in progress' flag; the state
file is rewritten on every state change, when that flag flips, and every ``HEARTBEAT_S``; the
metrics file every ``metrics.interval_s`` (written in a worker thread: it may live on an SD card).
Settings are read from ``translator.config`` at each use, so a SIGHUP reload applies to them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

from ..background import call_in_daemon_thread
from ..cost import report as cost_report
from ..realtime.actions import ResponseStatus
from ..realtime.failures import Cause, Outcome
from ..state import Facts, State, StatusModel
from ..stats import (
    BudgetChanged,
    Observable,
    ResponseCost,
    ResponseDone,
    ResponseLatency,
    SessionEnded,
    TranslatorEvent,
    TranslatorStats,
)
from . import journal
from .atomic import remove_leftovers, write_atomically
from .levels import LevelMeter
from .metrics import Histogram, Snapshot, render
from .runtime_state import HEARTBEAT_S, state_path, write_state
from .updatelock import UpdateLock

log = logging.getLogger(__name__)

TICK_S = 0.2


class FleetReporter:
    def __init__(self, translator: Observable, status: StatusModel, state_file: Path | None = None) -> None:
        self.translator = translator
        self.status = status
        self.state_file = state_file or state_path()
        self.started_wall = time.time()
        self.version = _version()
        self.latency = Histogram()
        self.reconnects: Counter[Cause] = Counter()
        self.mic_level = LevelMeter()
        self.speaker_level = LevelMeter()
        self.busy = False
        self._busy_until = 0.0
        self._last_mic_seq: int | None = None
        self._mic_seen_at: float | None = None
        self._fault_episode: Cause | None = None
        self._pending_latency: float | None = None
        self._pending_cost: dict[str, str] = {}
        self._mic_present = True
        self._lock = UpdateLock(translator.config.fleet.update_lock_file)
        self._metrics_path: str | None = None
        self._complaints: dict[str, str] = {}
        self._closed = False
        translator.subscribe(self._on_translator_event)

    # -- the task ----------------------------------------------------------------------------------

    async def run(self) -> None:
        self._lock.clear_stale()
        remove_leftovers(self.state_file)
        self.status.subscribe(self._on_state)
        loop = asyncio.get_running_loop()
        next_heartbeat = next_metrics = loop.time()
        try:
            while True:
                now = loop.time()
                stats = self.translator.stats()
                self._sample(stats)
                self._update_busy(now, stats.quiet)
                if now >= next_heartbeat:
                    self._write_state()
                    next_heartbeat = now + HEARTBEAT_S
                if now >= next_metrics:
                    next_metrics = now + self.translator.config.metrics.interval_s
                    await self._write_metrics()
                await asyncio.sleep(TICK_S)
        finally:
            self._closed = True  # parts still shutting down may change state: write nothing more
            self._lock.release()
            self._remove(self.state_file)
            if self._metrics_path:
                self._remove(Path(self._metrics_path))

    # -- what the daemon tells us --------------------------------------------------------------------

    def _on_state(self, state: State, facts: Facts) -> None:
        if self._mic_present and not facts.mic_present:
            journal.fault("mic_missing", state.value, facts.detail)
        self._mic_present = facts.mic_present
        self._write_state()

    def _on_outcome(self, outcome: Outcome) -> None:
        cause = outcome.cause
        self.reconnects[cause] += 1
        if outcome.went_live:
            self._fault_episode = None  # a session was up: whatever comes next is news
        if outcome.is_fault and cause is not self._fault_episode:
            self._fault_episode = cause  # once per episode and cause, not at every retry
            journal.fault(cause.value, self.status.state.value, outcome.words)

    def _on_translator_event(self, event: TranslatorEvent) -> None:
        match event:
            case ResponseLatency(seconds=seconds):
                self.latency.observe(seconds)
                self._pending_latency = seconds
            case ResponseCost(usage=usage, cost=cost):
                self._pending_cost = cost_report.journal_fields(usage, cost)
            case ResponseDone(status=status):
                latency, self._pending_latency = self._pending_latency, None
                cost_fields, self._pending_cost = self._pending_cost, {}
                if status is ResponseStatus.COMPLETED:
                    stats = self.translator.stats()
                    journal.utterance(stats.mode.value, stats.language, latency, cost_fields)
                elif cost_fields:
                    journal.response_cost(status.value, cost_fields)
            case BudgetChanged():
                self._write_state()
            case SessionEnded(outcome=outcome):
                self._on_outcome(outcome)

    # -- sampling (every tick) -----------------------------------------------------------------------

    def _sample(self, stats: TranslatorStats) -> None:
        if stats.mic_chunks != self._last_mic_seq:
            self._last_mic_seq = stats.mic_chunks
            self._mic_seen_at = time.monotonic()
        self.mic_level.offer(stats.last_mic_chunk, stats.mic_chunks)
        if stats.speaker_playing:
            self.speaker_level.offer(stats.last_played_chunk, stats.speaker_frames)

    def _update_busy(self, now: float, quiet: bool) -> None:
        fleet = self.translator.config.fleet
        if not quiet:
            self._busy_until = now + fleet.busy_hold_s
        busy = now < self._busy_until
        if fleet.update_lock_file != (str(self._lock.path) if self._lock.path else None):
            self._lock.release()  # a reload moved or removed the lock
            self._lock = UpdateLock(fleet.update_lock_file)
        if self._lock.path is not None and not self._closed:
            self._lock.set(busy)
        if busy != self.busy:
            self.busy = busy
            self._write_state()

    # -- the files -----------------------------------------------------------------------------------

    def state_fields(self) -> dict[str, Any]:
        facts, stats = self.status.facts, self.translator.stats()
        now = time.monotonic()
        live_since = stats.session_live_since
        return {
            "state": self.status.state.value,
            "status": self.status.state.words,
            "detail": facts.detail,
            "link": facts.link.value,
            "mic_present": facts.mic_present,
            "activity": facts.activity.value,
            "audio_age_s": None if self._mic_seen_at is None else round(now - self._mic_seen_at, 3),
            "session_age_s": None if live_since is None else round(now - live_since, 1),
            "busy": self.busy,
            "utterances_translated": stats.utterances_translated,
            **cost_report.state_fields(self.translator.cost()),
        }

    def _write_state(self) -> None:
        if self._closed:
            return
        try:
            write_state(self.state_file, self.state_fields())
        except OSError as exc:  # e.g. run by hand, with no /run/polybot: say so once, run anyway
            self._complain("state", f"cannot keep the health state file {self.state_file} "
                                    f"({exc.strerror or exc}): `polybot-device health` will say not running",
                           level=logging.INFO)

    def snapshot(self) -> Snapshot:
        stats = self.translator.stats()
        live_since = stats.session_live_since
        return Snapshot(
            version=self.version,
            mode=stats.mode.value,
            start_time_s=self.started_wall,
            state=self.status.state,
            utterances=stats.utterances_translated,
            latency=self.latency,
            reconnects=dict(self.reconnects),
            dropped_s=stats.dropped_s,
            xruns={"mic": stats.mic_xruns, "speaker": stats.speaker_underruns},
            session_age_s=0.0 if live_since is None else time.monotonic() - live_since,
            levels_dbfs={"mic": self.mic_level.take_dbfs(), "speaker": self.speaker_level.take_dbfs()},
            upstream_audio_bytes=stats.upstream_audio_bytes,
            voice_gate_open_s=stats.voice_gate_open_s,
        )

    async def _write_metrics(self) -> None:
        path = self.translator.config.metrics.textfile
        if path != self._metrics_path and self._metrics_path:
            self._remove(Path(self._metrics_path))  # a reload moved or switched off the metrics
        if path and path != self._metrics_path:
            remove_leftovers(path)
        self._metrics_path = path
        if not path:
            return
        text = render(self.snapshot()) + cost_report.metrics_text(self.translator.cost())
        try:
            await call_in_daemon_thread(lambda: write_atomically(path, text), "metrics-writer")
        except OSError as exc:
            self._complain("metrics", f"cannot write metrics.textfile {path}: {exc.strerror or exc}")
        else:
            self._complaints.pop("metrics", None)

    # -- helpers -------------------------------------------------------------------------------------

    def _complain(self, what: str, message: str, level: int = logging.WARNING) -> None:
        if self._complaints.get(what) != message:  # once per problem, not every heartbeat
            self._complaints[what] = message
            log.log(level, "%s", message)

    @staticmethod
    def _remove(path: Path) -> None:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass


def _version() -> str:
    try:
        return metadata.version("polybot-device")
    except metadata.PackageNotFoundError:
        return "unknown"
