"""Wires the parts. The data path, top to bottom:

    mic (ALSA thread, native rate) -> 24 kHz mono -> gate -> outbox -> WebSocket -> server VAD
    server -> protocol -> Play -> speaker (ALSA thread, resampled to the device rate)

Each long-lived task owns one resource (the capture PCM, the socket, the playback PCM) and shutdown
is cancellation of the TaskGroup, whose cleanups close them. What the button asks for arrives
through :class:`.interaction.Interaction`; what the fleet reporting wants leaves as typed events and
stats snapshots (:mod:`.stats`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from .apikey import KeySource
from .audio.capture import MicCapture
from .audio.playback import SpeakerPlayback
from .audio.volume import Volume
from .audio.wire import BYTES_PER_MS
from .config import Config, Mode, reloadable
from .gate import GateSettings, MicGate, Route
from .interaction import Interaction
from .modes import Selection
from .realtime import events as ev
from .realtime.actions import (
    Action,
    Play,
    ResponseFinished,
    ResponseStatus,
    SetActivity,
    SpeechStarted,
    Transcript,
    UtteranceEnded,
)
from .realtime.connection import RealtimeLink
from .realtime.failures import Outcome
from .realtime.outbox import Outbox
from .redact import escape
from .sessions import SessionChoice
from .state import Activity, StatusModel
from .stats import Listener, ResponseDone, ResponseLatency, SessionEnded, TranslatorEvent, TranslatorStats

log = logging.getLogger(__name__)

THREAD_STUCK_AFTER_S = 10.0
"""An audio thread that has not reported in for this long is stuck in a blocking call: the
watchdog stops pinging and systemd restarts the daemon. Waiting for a missing device still
reports in (each open attempt), so a missing mic is not a hang."""


class Translator:
    def __init__(self, config: Config, keys: KeySource, status: StatusModel) -> None:
        self.config = config
        self.status = status
        self.selection = Selection.from_config(config)
        self._choice = SessionChoice(config, self.selection)
        self.gate = MicGate(GateSettings.from_config(config))
        self.gate.streaming = self.selection.uses_translation_endpoint
        self.outbox = Outbox(capacity_ms=int(config.audio.outage_buffer_s * 1000),
                             lead_ms=max(1000, config.vad.prefix_padding_ms + 200))
        self._listeners: list[Listener] = []
        self.link = RealtimeLink(config.api, keys, status, self.outbox, self._choice.kind, self._on_action,
                                 on_session_lost=self._on_session_lost, is_quiet=self.is_quiet,
                                 on_outcome=self._on_outcome)
        self.volume: Volume | None = None
        self.capture: MicCapture | None = None
        self.playback: SpeakerPlayback | None = None
        self._end_check: asyncio.TimerHandle | None = None
        self._speech_ended_at: float | None = None
        self.utterances_translated = 0
        self.last_mic_chunk: bytes | None = None
        self.last_played_chunk: bytes | None = None
        """The latest audio each way, kept by reference for the level meter (no work per chunk)."""
        self.interaction = Interaction(self, status)  # last: everything it may ask for exists now

    # -- lifecycle -------------------------------------------------------------------------------

    async def run(self, on_started: Callable[[], None] = lambda: None) -> None:
        loop = asyncio.get_running_loop()
        self.capture = MicCapture(self.config.audio.input, loop, self._on_mic_status)
        self.playback = SpeakerPlayback(self.config.audio.output, loop, self._on_speaker_status)
        self.volume = Volume(self.config.audio.output)
        self.capture.start()
        self.playback.start()
        self.interaction.start(loop)
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._pump_mic(self.capture, self.playback), name="mic")
                tasks.create_task(self.link.run(), name="link")
                self.status.update(started=True)
                on_started()
        finally:
            if self._end_check:
                self._end_check.cancel()
            self.interaction.close()
            self.capture.stop()
            self.playback.stop()

    def subscribe(self, listener: Listener) -> None:
        """``listener(event)`` for every :data:`.stats.TranslatorEvent`, on the loop thread."""
        self._listeners.append(listener)

    def stats(self) -> TranslatorStats:
        capture, playback, sel = self.capture, self.playback, self.selection
        return TranslatorStats(
            mode=sel.mode, language=sel.announced_language, utterances_translated=self.utterances_translated,
            dropped_s=self.outbox.dropped_total_ms / 1000,
            mic_chunks=capture.chunks if capture else 0, mic_xruns=capture.xruns if capture else 0,
            speaker_underruns=playback.underruns if playback else 0,
            speaker_frames=playback.played_total_frames if playback else 0,
            speaker_playing=playback is not None and playback.is_playing(),
            last_mic_chunk=self.last_mic_chunk, last_played_chunk=self.last_played_chunk,
            quiet=self.is_quiet(), session_live_since=self.link.live_since)

    def is_quiet(self) -> bool:
        """Nobody speaking, nothing playing, no response on its way: a session can be swapped."""
        return (self.status.facts.activity is Activity.IDLE and not self.link.response_open
                and not self.speaker_playing())

    def liveness_checks(self) -> list[Callable[[], str | None]]:
        """For the watchdog: the audio threads must keep reporting in."""
        return [self._check_capture, self._check_playback]

    def _check_capture(self) -> str | None:
        return _stuck("microphone", self.capture.last_alive if self.capture else None)

    def _check_playback(self) -> str | None:
        return _stuck("speaker", self.playback.last_alive if self.playback else None)

    def _emit(self, event: TranslatorEvent) -> None:
        for listener in self._listeners:
            listener(event)

    # -- the mic path (50 times a second: keep it lean) ------------------------------------------

    async def _pump_mic(self, capture: MicCapture, playback: SpeakerPlayback) -> None:
        outbox, link, gate = self.outbox, self.link, self.gate
        silence = b""
        while True:
            chunk = await capture.read()
            self.last_mic_chunk = chunk
            route = gate.route(chunk, playback)
            if route is Route.DROP:
                continue  # our own speaker's voice (or no talk button held) must not reach the server
            if route is Route.SILENCE:
                if len(silence) != len(chunk):
                    silence = bytes(len(chunk))
                chunk = silence
            outbox.append(chunk)
            link.audio_ready()

    # -- what the server says ------------------------------------------------------------------

    def _on_action(self, action: Action) -> None:
        match action:
            case Play():
                self._play_translation(action)
            case SpeechStarted():
                self.outbox.utterance_started(action.audio_start_ms)
                if not self.config.audio.echo_gate and self.speaker_playing():
                    log.info("barge-in: the person spoke over the translation")
                    self.interrupt()
            case SetActivity():
                if self.status.facts.activity is not Activity.SPEAKING:
                    self.status.update(activity=action.activity)
            case UtteranceEnded():
                self._speech_ended_at = time.monotonic()
                self.outbox.utterance_ended(action.audio_end_ms)
            case ResponseFinished():
                self.outbox.utterance_answered()
                if action.status is ResponseStatus.COMPLETED:
                    self.utterances_translated += 1
                self._emit(ResponseDone(action.status))
                self.interaction.response_finished(action.status)
            case Transcript():
                if self.config.privacy.log_transcripts:  # escaped: a server's newline cannot forge a line
                    log.info("%s: %s", action.role, escape(action.text))

    def _play_translation(self, action: Play) -> None:
        if self._speech_ended_at is not None:
            self._emit(ResponseLatency(time.monotonic() - self._speech_ended_at))
            self._speech_ended_at = None
        self.last_played_chunk = action.pcm
        self.play(action.pcm, action.item_id)
        self.interaction.translation_audio(action.item_id, action.pcm)
        if self.status.facts.activity is not Activity.SPEAKING and self.speaker_playing():  # not if unplugged
            self.status.update(activity=Activity.SPEAKING)
            self._watch_playback_end()

    def _on_session_lost(self) -> None:
        self._speech_ended_at = None
        if self.status.facts.activity is Activity.HEARING:
            self.status.update(activity=Activity.IDLE)

    def _on_outcome(self, outcome: Outcome) -> None:
        self._emit(SessionEnded(outcome))

    # -- the speaker -------------------------------------------------------------------------------

    def interrupt(self) -> None:
        """Stop the translation at once and tell the server how much of it was heard (voice
        barge-in, and any press while a translation plays)."""
        if self.playback is None:
            return
        was_translation = self.status.facts.activity is Activity.SPEAKING
        played_ms = self.playback.stop_now()
        if was_translation:
            self.link.interrupt(played_ms)
        self.status.update(activity=Activity.IDLE)

    def play(self, pcm: bytes, item_id: str) -> None:
        """Everything the speaker plays (translations, replays, cues) goes through the volume."""
        if self.playback is not None:
            self.playback.play(self.volume.scale(pcm) if self.volume else pcm, item_id)

    def has_speaker(self) -> bool:
        return self.playback is not None

    def speaker_playing(self) -> bool:
        return self.playback is not None and self.playback.is_playing()

    def step_volume(self, up: bool) -> None:
        if self.volume is not None:
            self.volume.step(up=up)

    def _watch_playback_end(self) -> None:
        loop = asyncio.get_running_loop()
        # At the expected end, not every 50 ms: each timer wake-up costs CPU on a Pi Zero.
        remaining_s = self.playback.remaining_s() if self.playback is not None else 0.0
        self._end_check = loop.call_later(max(0.02, remaining_s), self._check_playback_end)

    def _check_playback_end(self) -> None:
        self._end_check = None
        if self.speaker_playing():
            self._watch_playback_end()
        elif self.status.facts.activity is Activity.SPEAKING:
            self.status.update(activity=Activity.IDLE)

    # -- what the button asks for -------------------------------------------------------------------

    def next_language(self) -> str:
        """Short press: the next language, on the live session (no reconnect, no audio lost)."""
        language = self.selection.next_language()
        self.link.reconfigure(self._choice.session_update())
        log.info("language: %s", language, extra={"POLYBOT_LANGUAGE": language})
        return language

    async def next_mode(self) -> Mode:
        """Long press: the next mode. To or from interpreter the endpoint changes: the session is
        restarted and the audio captured meanwhile waits in the outbox."""
        was_translation = self.selection.uses_translation_endpoint
        mode = self.selection.next_mode()
        self.gate.streaming = self.selection.uses_translation_endpoint
        log.info("mode: %s", mode)
        if was_translation != self.selection.uses_translation_endpoint:
            await self.link.restart_session(f"mode change to {mode}")
        else:
            self.link.reconfigure(self._choice.session_update())
        return mode

    def talk(self, held: bool, since: float | None = None) -> None:
        """hold-to-talk: while held the mic is sent; on release the turn is committed and a
        response requested (after the last chunk, never before it). ``since``: when the press
        began; a press only counts as talk after a moment, and the words said in that moment
        are taken from the pre-roll so none is lost."""
        if not held:
            self.gate.stop_talking()
            if not self.selection.uses_translation_endpoint:
                ids = self._choice
                self.link.send_after_audio([ev.commit(ids.next_event_id()), ev.response_create(ids.next_event_id())])
            return
        for chunk in self.gate.start_talking(since):
            self.outbox.append(chunk)
        if since is not None:
            self.link.audio_ready()

    # -- live changes (SIGHUP) --------------------------------------------------------------------

    def reconfigure(self, new: Config) -> None:
        """SIGHUP. Languages, mode, VAD, glossary, gestures, volume, cues and privacy apply now, on
        the live session; devices and the API endpoint are opened once and need a restart."""
        old = self.config
        new = reloadable(old, new)
        was_translation = self.selection.uses_translation_endpoint
        self.config = self._choice.config = new
        self.gate.settings = GateSettings.from_config(new)
        if self.volume is not None and new.audio.output.volume_percent != old.audio.output.volume_percent:
            self.volume.set(new.audio.output.volume_percent)
        if new.controls != old.controls:
            self.interaction.rebuild_controls()
        self.selection.reload(new)
        self.gate.streaming = self.selection.uses_translation_endpoint
        self.interaction.forget_translation()
        if was_translation != self.selection.uses_translation_endpoint:
            asyncio.get_running_loop().create_task(self.link.restart_session("reload changed the mode"))
        else:
            self.link.reconfigure(self._choice.session_update())
        log.info("reload: mode %s, languages %s", new.mode, ", ".join(new.languages))

    # -- device status (called on the loop by the audio threads) ----------------------------------

    def _on_mic_status(self, present: bool, detail: str) -> None:
        """The capture thread logs the details once; the state model shows them. A mic that vanished
        mid-sentence leaves the server's VAD waiting for the end of the turn until it is back: the
        silence sent here ends the turn now, so what was said is translated now."""
        self.status.update(mic_present=present, detail="" if present else detail)
        if not present:
            self.outbox.append(bytes(BYTES_PER_MS * (self.config.vad.silence_duration_ms + 500)))
            self.link.audio_ready()

    def _on_speaker_status(self, present: bool, detail: str) -> None:
        """Nothing to show yet: the playback thread logs and retries; audio meanwhile is dropped."""


def _stuck(part: str, last_alive: float | None) -> str | None:
    if last_alive is None:
        return None
    silent_s = time.monotonic() - last_alive
    return f"{part} thread silent for {silent_s:.0f} s" if silent_s > THREAD_STUCK_AFTER_S else None
