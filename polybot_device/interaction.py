"""What the people at the gadget do and hear: button gestures, replay, earcons, spoken notices.

The translator owns the data path; this module owns the person-facing side of it. Gestures arrive
on the event loop (the controls hand them over with call_soon_threadsafe). Any press while a
translation plays stops it at once (stop-and-truncate), and the gesture that press completes is
then not also acted on: a person stopping a translation did not mean to change language.

The last translation is kept in RAM only, for the replay gesture, and wiped on a language change
and ``privacy.replay_keep_s`` after it was spoken.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, Protocol

from . import cues
from .audio.wire import BYTES_PER_S
from .background import call_in_daemon_thread
from .config import Config, GestureAction, Mode
from .controls import Controls, build_controls
from .controls.presses import ButtonEvent, Gesture
from .modes import Selection
from .realtime.actions import ResponseStatus
from .state import Activity, Facts, State, StatusModel

log = logging.getLogger(__name__)

REPLAY_MAX_BYTES = 60 * BYTES_PER_S
"""At most the last 60 s of translation are kept for replay (interpreter mode never ends)."""
REPLAY_ITEM = "replay"
CUE_ITEM = "cue"
FAULT_STATES = (State.OFFLINE, State.AUTH_ERROR, State.KEY_UNUSABLE, State.BUDGET_SPENT)
OFFLINE_NOTICE_AFTER_S = 5.0
"""A blip that heals by itself is not worth a spoken notice (which also shuts the mic while it
plays): only an outage lasting this long is announced."""
PAUSE_CHECK_S = 0.2
"""While a cue waits for someone to stop talking, how often it looks again."""
MAX_DEFERRED = 8
"""Cues waiting for a pause beyond this many: the oldest is dropped (a button pressed all along)."""


class Translating(Protocol):
    """What the controls may ask of the translator (:class:`.app.Translator` is one)."""

    @property
    def config(self) -> Config:
        """The running configuration (a reload replaces it)."""

    @property
    def selection(self) -> Selection:
        """The mode and languages chosen now (read here, changed through the methods below)."""

    def next_language(self) -> str: ...

    async def next_mode(self) -> Mode: ...

    def talk(self, held: bool, since: float | None = None) -> None: ...

    def interrupt(self) -> None:
        """Stop the translation playing now and tell the server how much was heard."""

    def play(self, pcm: bytes, item_id: str) -> None: ...

    def has_speaker(self) -> bool: ...

    def speaker_playing(self) -> bool: ...

    def someone_speaking(self) -> bool:
        """A voice in the room now, by the local voice gate (works offline too)."""

    def step_volume(self, up: bool) -> None: ...


class Interaction:
    def __init__(self, translator: Translating, status: StatusModel) -> None:
        self._t = translator
        self._status = status
        level = translator.config.cues.level
        self.earcons = cues.Earcons.make(level)
        self._voice = cues.Voice(level)
        self.controls: Controls | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._replay_item: str | None = None
        self._replay = bytearray()
        self._last_translation: bytes | None = None
        self._wipe: asyncio.TimerHandle | None = None
        self._audio_in_response = False
        self._stopped_by_press = False
        self._state = State.STARTING
        self._was_live = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._notice: asyncio.TimerHandle | None = None
        self._replay_until = 0.0
        self._deferred: list[bytes] = []
        self._pause_check: asyncio.TimerHandle | None = None

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._status.subscribe(self._on_state)
        if self._t.config.controls.enabled:
            self.controls = build_controls(self._t.config, loop, self.on_gesture, self._status)
            if self.controls is not None:
                self.controls.show_language(self._t.selection.announced_language)

    def rebuild_controls(self) -> None:
        """A reload changed pins or gestures: release the old pins and build anew."""
        if self._loop is None:
            return
        if self.controls is not None:
            self._status.unsubscribe(self.controls.light.on_state)
            self.controls.close()
        self.controls = None
        if self._t.config.controls.enabled:
            self.controls = build_controls(self._t.config, self._loop, self.on_gesture, self._status)

    def close(self) -> None:
        if self.controls is not None:
            self.controls.close()
            self.controls = None
        self.forget_translation()
        for timer in (self._notice, self._pause_check):
            if timer is not None:
                timer.cancel()
        for task in self._tasks:
            task.cancel()

    # -- gestures ----------------------------------------------------------------------------------

    def on_gesture(self, event: ButtonEvent) -> None:
        """A gesture from the controls (see controls/presses.py), on the loop thread."""
        t = self._t
        match event.gesture:
            case Gesture.PRESSED:
                if self._translation_playing():
                    log.info("button: stopping the translation")
                    t.interrupt()
                    self._stopped_by_press = True
            case Gesture.TALK_START:
                t.talk(True, since=event.started_at)
            case Gesture.TALK_END:
                t.talk(False)
            case Gesture.VOLUME_UP | Gesture.VOLUME_DOWN:
                if t.has_speaker():
                    t.step_volume(up=event.gesture is Gesture.VOLUME_UP)
                    self.play_cue(self.earcons.language)  # a click at the new level
            case _ if self._stopped_by_press:  # this press already did its job: it stopped the translation
                self._stopped_by_press = False
            case _:
                self.do(event.action or GestureAction.NONE)

    def _translation_playing(self) -> bool:
        """A translation or its replay: what a press stops. A cue is not worth stopping."""
        if self._status.facts.activity is Activity.SPEAKING:
            return True
        return self._loop is not None and self._loop.time() < self._replay_until and self._t.speaker_playing()

    def do(self, action: GestureAction) -> None:
        match action:
            case GestureAction.NEXT_LANGUAGE:
                language = self._t.next_language()
                self.forget_translation()
                if self.controls is not None:
                    self.controls.confirm_language(language)
                self._announce(self.earcons.language, cues.language_word(language), language)
            case GestureAction.REPLAY:
                self.replay()
            case GestureAction.NEXT_MODE:
                self._spawn(self._next_mode())
            case GestureAction.STOP:
                self._t.interrupt()

    async def _next_mode(self) -> None:
        mode = await self._t.next_mode()
        if self.controls is not None:
            self.controls.confirm_mode(mode)
        self._announce(self.earcons.mode, mode.value.replace("-", " "), "en")

    # -- replay --------------------------------------------------------------------------------------

    def translation_audio(self, item_id: str, pcm: bytes) -> None:
        """Every translated chunk as it is played: kept for replay, in RAM only."""
        self._audio_in_response = True
        if self._t.config.privacy.replay_keep_s <= 0:
            return
        if item_id != self._replay_item:
            self._replay_item = item_id
            self._replay.clear()
        self._replay += pcm
        if len(self._replay) > REPLAY_MAX_BYTES:
            del self._replay[: len(self._replay) - REPLAY_MAX_BYTES]
        self._last_translation = None  # the newest translation replaces the last one once done
        self._arm_wipe()

    def response_finished(self, status: ResponseStatus) -> None:
        if self._replay:
            self._last_translation = bytes(self._replay)
        silent = status is ResponseStatus.COMPLETED and not self._audio_in_response
        trouble = silent or status.trouble
        self._audio_in_response = False
        if trouble and self._t.config.cues.trouble:
            log.info("could not translate that (response %s)", status)
            self.play_cue(self.earcons.trouble)

    def replay(self) -> None:
        audio = self._last_translation or (bytes(self._replay) if self._replay else None)
        if not audio or not self._t.has_speaker():
            log.info("replay: nothing to replay")
            if self._t.config.cues.trouble:
                self.play_cue(self.earcons.trouble)
            return
        log.info("replay: %.1f s of the last translation", len(audio) / BYTES_PER_S)
        self._t.play(audio, REPLAY_ITEM)
        if self._loop is not None:
            self._replay_until = self._loop.time() + len(audio) / BYTES_PER_S + 0.5

    def forget_translation(self) -> None:
        self._replay.clear()
        self._replay_item = None
        self._last_translation = None
        if self._wipe is not None:
            self._wipe.cancel()
            self._wipe = None

    def _arm_wipe(self) -> None:
        if self._loop is None:
            return
        if self._wipe is not None:
            self._wipe.cancel()
        self._wipe = self._loop.call_later(self._t.config.privacy.replay_keep_s, self.forget_translation)

    # -- cues and notices ----------------------------------------------------------------------------

    def play_cue(self, pcm: bytes | None) -> None:
        """Play now, or, while someone is speaking, once they pause: a cue shuts the mic (echo
        gate) while it plays, and must never talk over a person nor cost them a word. Speaking
        is what the server hears (a turn in progress) or, offline too, what the local voice gate
        hears."""
        cfg = self._t.config.cues
        if not (pcm and cfg.enabled and self._t.has_speaker()):
            return
        if self._someone_speaking():
            self._deferred.append(pcm)
            del self._deferred[:-MAX_DEFERRED]
            self._watch_for_pause()
            return
        self._t.play(pcm, CUE_ITEM)

    def _someone_speaking(self) -> bool:
        return self._status.facts.activity is Activity.HEARING or self._t.someone_speaking()

    def _watch_for_pause(self) -> None:
        """The server's turn end arrives as a state change; the local gate's pause is looked for
        every PAUSE_CHECK_S, only while a cue waits (an idle gadget sets no timer)."""
        if self._pause_check is None and self._loop is not None:
            self._pause_check = self._loop.call_later(PAUSE_CHECK_S, self._play_deferred)

    def _play_deferred(self) -> None:
        if self._pause_check is not None:
            self._pause_check.cancel()
            self._pause_check = None
        pending, self._deferred = self._deferred, []
        for pcm in pending:
            self.play_cue(pcm)

    def _announce(self, earcon: bytes, words: str, language: str) -> None:
        self.play_cue(earcon)
        if self._t.config.cues.spoken and self._voice.available:
            self._spawn(self._speak(words, language))

    async def _speak(self, words: str, language: str, fallback: bytes | None = None) -> None:
        pcm = await call_in_daemon_thread(lambda: self._voice.render(words, language), "espeak")
        self.play_cue(pcm or fallback)

    def _on_state(self, state: State, facts: Facts) -> None:
        previous, self._state = self._state, state
        if self._deferred and facts.activity is not Activity.HEARING:
            self._play_deferred()
        if state is State.LISTENING:
            if previous is State.SPEAKING and self._t.config.cues.ready:
                self.play_cue(self.earcons.ready)
            self._was_live = True
        if state in FAULT_STATES and previous is not state and self._loop is not None:
            if self._notice is not None:
                self._notice.cancel()
            delay = OFFLINE_NOTICE_AFTER_S if state is State.OFFLINE else 0.0
            if state is not State.OFFLINE or self._was_live:
                self._notice = self._loop.call_later(delay, self._announce_fault, state)

    def _announce_fault(self, state: State) -> None:
        """The spoken notice in the home language, if the fault is still there."""
        self._notice = None
        if self._state is not state:
            return
        home = self._t.selection.home
        if state is State.OFFLINE:
            earcon, words = self.earcons.offline, cues.offline_words(home)
        elif state is State.BUDGET_SPENT:  # said once: the state is entered once per spent budget
            earcon, words = self.earcons.budget, cues.budget_words(home)
        else:
            earcon, words = self.earcons.key_refused, cues.key_words(home)
        if self._t.config.cues.spoken and self._voice.available:
            self._spawn(self._speak(words, home, fallback=earcon))
        else:
            self.play_cue(earcon)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
