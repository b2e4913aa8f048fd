"""The gadget under fault: the daemon subprocess, the person talking into its mic, and the books
a fault test keeps (utterances spoken vs translated, when the link came back).

How an utterance is recognised across sessions: each one a test speaks has its own length, and
the simulator records the voiced length each completed response answered (``answered_ms``, compared
here in tenths of a second). An utterance counts as translated when a completed response carries its length
to within one token; lengths in a test differ by 300 ms or more. So an utterance that was cut in
two by a fault shows up as lost (plus two "spurious" fragments), and one answered twice as a
duplicate: the count checks that the whole utterance reached the server in one piece.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np

from polybot_device.audio.filerig import MicFeeder
from tests.rig.daemon import DaemonProcess, SimulatorThread
from tests.rig.loopback import silence, speech_like

LISTENING = "STATUS=Ready: listening"
HEARING = "STATUS=Hearing speech"
SPEAKING = "STATUS=Speaking the translation"


@dataclass
class Tally:
    fed: list[float]
    """Seconds of speech of each utterance spoken."""
    answered: list[int]
    """Voiced length (100 ms tokens) of every completed response, in order."""
    translated: int = 0
    duplicates: int = 0
    spurious: list[int] = field(default_factory=list)
    rig_lost_s: list[float] = field(default_factory=list)
    """Seconds of each utterance's speech the test's feeder could not write (the daemon's mic
    thread did not read for longer than the device ring holds: a starved machine). The server can
    only have heard the rest, so that is the length its answer is matched against."""
    rig_lost_periods: int = 0
    """20 ms mic periods the feeder could not write, speech or silence."""

    @property
    def lost(self) -> int:
        return len(self.fed) - self.translated

    def __str__(self) -> str:
        return (f"fed {len(self.fed)}, translated {self.translated}, lost {self.lost}, "
                f"duplicates {self.duplicates}, spurious {self.spurious} (answered tokens {self.answered}, "
                f"fed seconds {self.fed}, of which the rig lost {self.rig_lost_s}; "
                f"rig lost {self.rig_lost_periods} mic periods)")


def tally(fed: list[float], answered: list[int], rig_lost_s: list[float] | None = None) -> Tally:
    """Each utterance takes one answer of its length (less what the rig itself failed to deliver of
    it); answers left over are duplicates (of a length that was spoken) or spurious (fragments)."""
    lost = list(rig_lost_s or [0.0] * len(fed))
    result = Tally(list(fed), list(answered), rig_lost_s=lost)
    heard = [seconds - missing for seconds, missing in zip(fed, lost, strict=True)]
    unmatched = list(answered)
    for seconds in heard:
        hit = next((a for a in unmatched if abs(a - seconds * 10) <= 1.5), None)
        if hit is not None:
            result.translated += 1
            unmatched.remove(hit)
    for a in unmatched:
        if any(abs(a - seconds * 10) <= 1.5 for seconds in heard):
            result.duplicates += 1
        else:
            result.spurious.append(a)
    return result


class Gadget:
    def __init__(self, daemon: DaemonProcess, sim: SimulatorThread, feeder: MicFeeder) -> None:
        self.daemon = daemon
        self.sim = sim
        self.feeder = feeder
        self.fed: list[float] = []
        self._speech_at: list[tuple[int, int]] = []  # each utterance's speech, as fed-stream frames

    # -- the person ------------------------------------------------------------------------------

    def say(self, seconds: float, lead_s: float = 1.0, tail_s: float = 0.8) -> None:
        """Queue one utterance: ``lead_s`` of silence, ``seconds`` of speech, ``tail_s`` of silence
        (the VAD's end of turn is 500 ms). The feeder speaks it in real time. The lead is a person
        waiting for their turn: after a translation the gadget plays its "ready" earcon (190 ms),
        after a failed one its "trouble" earcon, and keeps the mic shut for the echo tail (300 ms)
        after either; speech before that is not sent, by design."""
        lead, speech = silence(lead_s), speech_like(seconds)
        start = self.feeder.queued_frames + len(lead)
        self.fed.append(seconds)
        self._speech_at.append((start, start + len(speech)))
        self.feeder.feed(np.concatenate([lead, speech, silence(tail_s)]))

    def forget(self, index: int) -> None:
        """Leave utterance ``index`` out of the books: one the fault cut short by design."""
        del self.fed[index], self._speech_at[index]

    def speech_started(self) -> int:
        """speech_started events the simulator has sent so far, all sessions."""
        return sum(e["type"] == "input_audio_buffer.speech_started"
                   for s in self.sim.sim.sessions for e in list(s.events_sent))

    def wait_speaking(self, before: int, timeout: float = 10) -> float:
        """Wait until the server has heard speech start (beyond ``before`` starts); returns when."""
        self.sim.wait_for(lambda: self.speech_started() > before, timeout)
        return time.monotonic()

    def live(self) -> None:
        """READY=1, then a configured session."""
        self.daemon.wait_ready()
        self.wait_live(0, timeout=15)

    def healthy(self, seconds: float = 0.8) -> None:
        """Live, and one utterance translated: the session is healthy before the fault."""
        self.live()
        self.say(seconds, lead_s=0.3)  # the gadget has played nothing yet
        self.wait_translated(30)

    # -- what came back ----------------------------------------------------------------------------

    def answered(self) -> list[int]:
        return [max(1, ms // 100) for session in list(self.sim.sim.sessions) for ms in list(session.answered_ms)]

    def tally(self) -> Tally:
        rate = self.feeder.rate
        lost_s = [self.feeder.lost_frames(start, end) / rate for start, end in self._speech_at]
        result = tally(self.fed, self.answered(), lost_s)
        result.rig_lost_periods = self.feeder.periods_lost
        return result

    def wait_translated(self, timeout: float) -> Tally:
        """Wait until every utterance spoken so far has a completed response; then the daemon's
        speaker must have finished playing it (STATUS back to listening)."""
        try:
            self.sim.wait_for(lambda: self.tally().lost == 0, timeout)
        except TimeoutError:
            raise AssertionError(f"not all utterances were translated within {timeout} s: {self.tally()}") from None
        # The server is done; the daemon may still be playing the answer (or, over a slow link,
        # not have heard it yet): wait until it has spoken since it last heard speech, and listens.
        try:
            self.daemon.notify.wait_for(lambda _: self.played_out(), 15)
        except TimeoutError:
            raise AssertionError(f"the daemon did not finish speaking: {self.statuses()[-6:]}") from None
        return self.tally()

    def played_out(self) -> bool:
        """STATUS says listening, and it said speaking after it last said hearing."""
        lines = [line for _, line in self.statuses()]
        if not lines or lines[-1] != LISTENING:
            return False
        last_hearing = max((i for i, line in enumerate(lines) if line == HEARING), default=-1)
        return SPEAKING in lines[last_hearing + 1:]

    # -- the link ------------------------------------------------------------------------------

    def live_sessions(self) -> int:
        return sum(any(e["type"] == "session.updated" for e in list(s.events_sent)) for s in self.sim.sim.sessions)

    def wait_live(self, more_than: int, timeout: float) -> float:
        """Wait for a session beyond the first ``more_than`` to be configured; returns when."""
        self.sim.wait_for(lambda: self.live_sessions() > more_than, timeout)
        return time.monotonic()

    # -- STATUS= ---------------------------------------------------------------------------------

    def statuses(self) -> list[tuple[float, str]]:
        return [(t, line) for t, message in list(self.daemon.notify.messages)
                for line in message.splitlines() if line.startswith("STATUS=")]

    def status(self) -> str:
        lines = self.statuses()
        return lines[-1][1] if lines else ""

    def wait_status(self, prefix: str, timeout: float, since: float = 0.0) -> float:
        """Wait for a STATUS= line starting with ``prefix`` sent after ``since``; returns its time."""
        def found() -> float | None:
            return next((t for t, line in self.statuses() if t >= since and line.startswith(prefix)), None)
        try:
            self.daemon.notify.wait_for(lambda _: found() is not None, timeout)
        except TimeoutError:
            raise AssertionError(f"no {prefix!r} within {timeout} s; statuses: "
                                 f"{[line for _, line in self.statuses()[-8:]]}") from None
        return found()  # type: ignore[return-value]

    def wait_status_now(self, prefix: str, timeout: float) -> None:
        """Wait until the latest STATUS= line starts with ``prefix``."""
        try:
            self.daemon.notify.wait_for(lambda _: self.status().startswith(prefix), timeout)
        except TimeoutError:
            raise AssertionError(f"STATUS is {self.status()!r}, not {prefix!r}, after {timeout} s") from None

    def log(self) -> str:
        return self.daemon.log()

    def assert_status_follows_state(self) -> None:
        """Every state change the daemon logged went out as STATUS=, in the same order, and
        nothing else did (after the one that came with READY=1; before STOPPING's)."""
        logged = re.findall(r"polybot_device\.service: state: (.*)$", self.log(), re.M)
        sent = [line[len("STATUS="):] for _, line in self.statuses()][1:]
        assert [s for s in sent if s != "Stopping"] == logged
