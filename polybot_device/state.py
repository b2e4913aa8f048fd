"""The one status model: what the gadget is doing, as LEDs, STATUS= and the journal show it.

Several parts know one fact each (the link: connecting/up/offline/refused key; the mic: there or
not; the conversation: idle/hearing/speaking). The displayed :class:`State` is derived from those
facts by one priority rule, so no part can leave the gadget showing a stale state, and a listener
(LEDs, sd_notify STATUS=, structured journal) is told only when the derived state changes.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

from .redact import status_text

log = logging.getLogger(__name__)


class State(enum.Enum):
    STARTING = "starting"
    CONNECTING = "connecting"
    LISTENING = "listening"
    HEARING = "hearing"
    SPEAKING = "speaking"
    OFFLINE = "offline"
    MIC_MISSING = "mic-missing"
    SPEAKER_MISSING = "speaker-missing"
    AUTH_ERROR = "auth-error"
    KEY_UNUSABLE = "key-unusable"
    BUDGET_SPENT = "budget-spent"
    CLOCK_UNSET = "clock-unset"

    @property
    def words(self) -> str:
        """What STATUS= says: a sentence a person reads in `systemctl status`."""
        return _WORDS[self]


_WORDS = {
    State.STARTING: "Starting",
    State.CONNECTING: "Connecting to the translation service",
    State.LISTENING: "Ready: listening",
    State.HEARING: "Hearing speech",
    State.SPEAKING: "Speaking the translation",
    State.OFFLINE: "Offline: reconnecting",
    State.MIC_MISSING: "Microphone missing: waiting for it",
    State.SPEAKER_MISSING: "Speaker not working: opening it again",
    State.AUTH_ERROR: "API key refused (or quota exhausted): check the key",
    State.KEY_UNUSABLE: "API key unusable (a character no key has): check the key file",
    State.BUDGET_SPENT: "Daily budget reached: translation paused until midnight",
    State.CLOCK_UNSET: "Clock not set: waiting for time sync",
}


class Link(enum.Enum):
    DOWN = "down"  # never connected yet
    CONNECTING = "connecting"
    UP = "up"  # session configured, audio flowing
    OFFLINE = "offline"  # was up or failed, retrying
    AUTH_ERROR = "auth-error"
    KEY_UNUSABLE = "key-unusable"  # not printable ASCII even after normalising: never sent
    CLOCK_UNSET = "clock-unset"  # TLS says the certificate is not valid yet: our clock is behind


class Activity(enum.Enum):
    IDLE = "idle"
    HEARING = "hearing"
    SPEAKING = "speaking"


@dataclass(frozen=True)
class Facts:
    started: bool = False
    link: Link = Link.DOWN
    mic_present: bool = True
    speaker_present: bool = True
    activity: Activity = Activity.IDLE
    detail: str = ""
    budget_spent: bool = False
    """Today's estimated cost reached cost.daily_limit: no audio is sent."""


Listener = Callable[[State, Facts], None]


class StatusModel:
    """Holds the facts, derives the State, notifies listeners on change (on the event loop thread)."""

    def __init__(self) -> None:
        self._facts = Facts()
        self._state = State.STARTING
        self._listeners: list[Listener] = []

    @property
    def state(self) -> State:
        return self._state

    @property
    def facts(self) -> Facts:
        return self._facts

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(state, facts)`` now and after every change of the derived state."""
        self._listeners.append(listener)
        listener(self._state, self._facts)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def device(self, present: bool, detail: str, *, speaker: bool) -> None:
        """The mic (or, with ``speaker``, the speaker) came or went. Both share the one detail: a
        missing device's reason is shown, the mic's outranking the speaker's as its state does;
        when one comes back the other's reason stays while that one is still missing."""
        f = self._facts
        mic_present = f.mic_present if speaker else present
        other_missing = not f.mic_present if speaker else not f.speaker_present
        keep_shown = other_missing if present else speaker and not mic_present
        shown = f.detail if keep_shown else "" if present else detail
        self.update(mic_present=mic_present, speaker_present=present if speaker else f.speaker_present,
                    detail=shown)

    def update(self, **changes: object) -> None:
        """Change some facts. A ``detail`` passes the redactor's :func:`.redact.status_text` here,
        the one door to STATUS=, state.json and ``health``: whoever wrote it (a server's words, a
        library's error text), no key-shaped text or control character gets through."""
        detail = changes.get("detail")
        if isinstance(detail, str):
            changes["detail"] = status_text(detail)
        facts = Facts(**{**self._facts.__dict__, **changes})
        if facts == self._facts:
            return
        self._facts = facts
        state = derive_state(facts)
        if state is self._state:
            return
        self._state = state
        for listener in list(self._listeners):
            try:
                listener(state, facts)
            except Exception:  # a broken LED must not stop the translator
                log.exception("state listener %r failed", listener)


def derive_state(f: Facts) -> State:
    """Faults outrank activity: a refused key or a missing mic is what a person must fix first."""
    if not f.started:
        return State.STARTING
    if f.link is Link.AUTH_ERROR:
        return State.AUTH_ERROR
    if f.link is Link.KEY_UNUSABLE:
        return State.KEY_UNUSABLE
    if not f.mic_present:
        return State.MIC_MISSING
    if not f.speaker_present:  # translations would go nowhere: "Ready" would be a lie
        return State.SPEAKER_MISSING
    if f.activity is Activity.SPEAKING:
        # Audio already received keeps playing through a drop: show what the person hears.
        return State.SPEAKING
    if f.budget_spent:  # what is wrong with the link does not matter while nothing may be sent
        return State.BUDGET_SPENT
    if f.link in (Link.DOWN, Link.CONNECTING):
        return State.CONNECTING
    if f.link is Link.OFFLINE:
        return State.OFFLINE
    if f.link is Link.CLOCK_UNSET:
        return State.CLOCK_UNSET
    if f.activity is Activity.HEARING:
        return State.HEARING
    return State.LISTENING
