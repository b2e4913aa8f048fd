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
from .audio.endwatch import PlaybackEndWatch
from .audio.playback import SpeakerPlayback
from .audio.volume import Volume
from .audio.wire import BYTES_PER_MS, BYTES_PER_S
from .config import Config, Mode, reloadable
from .cost.keeper import CostKeeper
from .cost.ledger import LEDGER_FILE
from .cost.meter import CostSummary
from .fleet.runtime_state import runtime_dir
from .gate import GateSettings, MicGate, Route
from .interaction import Interaction
from .liveness import LivenessCheck, thread_check
from .modes import Selection
from .realtime import events as ev
from .realtime.actions import (
    Action,
    InputTranslated,
    Play,
    ResponseFinished,
    ResponseStatus,
    SetActivity,
    SpeechStarted,
    Transcript,
    TranscriptionUsed,
    UsageReported,
    UtteranceEnded,
)
from .realtime.connection import RealtimeLink
from .realtime.failures import Outcome
from .realtime.outbox import Outbox
from .redact import escape
from .sessions import SessionChoice
from .state import Activity, StatusModel
from .stats import Listener, ResponseDone, ResponseLatency, SessionEnded, TranslatorEvent, TranslatorStats
from .voicegate import make_voice_gate

log = logging.getLogger(__name__)

class Translator:
    def __init__(self, config: Config, keys: KeySource, status: StatusModel) -> None:
        self.config = config
        self.status = status
        self.selection = Selection.from_config(config)
        self._choice = SessionChoice(config, self.selection)
        self.gate = MicGate(GateSettings.from_config(config))
        self.gate.streaming = self.selection.uses_translation_endpoint
        self.voice = make_voice_gate(config)
        self._configure_voice_gate()
        self.outbox = Outbox(capacity_ms=int(config.audio.outage_buffer_s * 1000),
                             lead_ms=max(1000, config.vad.prefix_padding_ms + 200))
        self._listeners: list[Listener] = []
        self.costs = CostKeeper(config.cost, status, self._emit, ledger_path=runtime_dir() / LEDGER_FILE)
        self.link = RealtimeLink(config.api, keys, status, self.outbox, self._choice.kind, self._on_action,
                                 on_session_lost=self._on_session_lost, is_quiet=self.is_quiet,
                                 on_outcome=self._on_outcome)
        self.volume: Volume | None = None
        self.capture: MicCapture | None = None
        self.playback: SpeakerPlayback | None = None
        self._end_watch = PlaybackEndWatch(self.speaker_playing, self._queued_s, self._speaker_went_quiet)
        self._speech_ended_at: float | None = None
        self.utterances_translated = 0
        self.last_played_chunk: bytes | None = None
        """The latest translation audio, kept by reference for the level meter (no work per chunk)."""
        self.interaction = Interaction(self, status)  # last: everything it may ask for exists now

    # -- lifecycle -------------------------------------------------------------------------------

    async def run(self, on_started: Callable[[], None] = lambda: None) -> None:
        loop = asyncio.get_running_loop()
        self.capture = MicCapture(self.config.audio.input, loop, self._on_mic_status, gate=self.voice)
        self.playback = SpeakerPlayback(self.config.audio.output, loop, self._on_speaker_status)
        self.volume = Volume(self.config.audio.output)
        self.capture.start()
        self.playback.start()
        self.interaction.start(loop)
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._pump_mic(self.capture, self.playback), name="mic")
                tasks.create_task(self.link.run(), name="link")
                tasks.create_task(self.costs.run(lambda: self.outbox.sent_total_ms,
                                                 lambda: self.selection.uses_translation_endpoint))
                self.status.update(started=True)
                on_started()
        finally:
            self._end_watch.cancel()
            self.interaction.close()
            self.costs.close()
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
            last_mic_chunk=capture.last_chunk if capture else None, last_played_chunk=self.last_played_chunk,
            quiet=self.is_quiet(), session_live_since=self.link.live_since,
            upstream_audio_bytes=self.link.audio_bytes_sent,
            voice_gate_open_s=self.voice.open_bytes / BYTES_PER_S if self.voice else 0.0)

    def cost(self) -> CostSummary:
        return self.costs.summary()

    def is_quiet(self) -> bool:
        """Nobody speaking, nothing playing, no response on its way: a session can be swapped."""
        return (self.status.facts.activity is Activity.IDLE and not self.link.response_open
                and not self.speaker_playing())

    def someone_speaking(self) -> bool:
        """A voice in the room now (the local gate's view; our own speaker's echo excluded)."""
        voice, playback = self.voice, self.playback
        return voice is not None and voice.speaking and not (playback and self.gate.hears_echo(playback))

    def liveness_checks(self) -> list[LivenessCheck]:
        """For the watchdog: the audio threads must keep reporting in."""
        return [thread_check("microphone", lambda: self.capture.last_alive if self.capture else None),
                thread_check("speaker", lambda: self.playback.last_alive if self.playback else None)]

    def _emit(self, event: TranslatorEvent) -> None:
        for listener in self._listeners:
            listener(event)

    # -- the mic path (50 times a second: keep it lean) ------------------------------------------

    async def _pump_mic(self, capture: MicCapture, playback: SpeakerPlayback) -> None:
        outbox, link, gate, costs = self.outbox, self.link, self.gate, self.costs
        silence = b""
        while True:
            chunk = await capture.read()
            if costs.paused:
                continue  # the daily budget is spent: nothing more is sent (and billed) today
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
                self._server_hearing(True)
                self.outbox.utterance_started(action.audio_start_ms)
                if not self.config.audio.echo_gate and self.speaker_playing():
                    log.info("barge-in: the person spoke over the translation")
                    self.interrupt()
            case SetActivity():
                if self.status.facts.activity is not Activity.SPEAKING:
                    self.status.update(activity=action.activity)
            case InputTranslated():
                self.outbox.input_translated(action.position_ms)
            case UtteranceEnded():
                self._server_hearing(False)
                self._speech_ended_at = time.monotonic()
                self.outbox.utterance_ended(action.audio_end_ms)
            case ResponseFinished():
                self.outbox.utterance_answered()
                if action.status is ResponseStatus.COMPLETED:
                    self.utterances_translated += 1
                self._emit(ResponseDone(action.status))
                self.interaction.response_finished(action.status)
            case UsageReported():
                self.costs.response(action.usage)
            case TranscriptionUsed():
                self.costs.transcription(action.usage)
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
            self._end_watch.watch()

    def _server_hearing(self, hearing: bool) -> None:
        """The voice gate stays open while the server hears a turn: it decides when it ends."""
        if self.voice is not None:
            self.voice.server_hearing = hearing

    def _configure_voice_gate(self) -> None:
        if self.voice is not None:
            self.voice.configure(self.config, self.selection.uses_translation_endpoint)

    def _on_session_lost(self) -> None:
        self._server_hearing(False)
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

    def _queued_s(self) -> float:
        return self.playback.remaining_s() if self.playback is not None else 0.0

    def _speaker_went_quiet(self) -> None:
        if self.status.facts.activity is Activity.SPEAKING:
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
        log.info("mode: %s", mode)
        if self._apply_selection(was_translation):
            await self.link.restart_session(f"mode change to {mode}")
        return mode

    def _apply_selection(self, was_translation: bool) -> bool:
        """The gates follow the selection; True when the endpoint changed and the session must
        restart (otherwise the live session is updated in place)."""
        self.gate.streaming = self.selection.uses_translation_endpoint
        self._configure_voice_gate()
        if was_translation != self.selection.uses_translation_endpoint:
            return True
        self.link.reconfigure(self._choice.session_update())
        return False

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
        self.costs.reconfigure(new.cost)
        if self.volume is not None and new.audio.output.volume_percent != old.audio.output.volume_percent:
            self.volume.set(new.audio.output.volume_percent)
        if new.controls != old.controls:
            self.interaction.rebuild_controls()
        self.selection.reload(new)
        self.interaction.forget_translation()
        if self._apply_selection(was_translation):
            asyncio.get_running_loop().create_task(self.link.restart_session("reload changed the mode"))
        log.info("reload: mode %s, languages %s", new.mode, ", ".join(new.languages))

    # -- device status (called on the loop by the audio threads) ----------------------------------

    def _on_mic_status(self, present: bool, detail: str) -> None:
        """The capture thread logs the details once; the state model shows them. A mic that vanished
        mid-sentence leaves the server's VAD waiting for the end of the turn until it is back: the
        silence sent here ends the turn now, so what was said is translated now."""
        self.status.device(present, detail, speaker=False)
        if not present:
            self.outbox.append(bytes(BYTES_PER_MS * (self.config.vad.silence_duration_ms + 500)))
            self.link.audio_ready()

    def _on_speaker_status(self, present: bool, detail: str) -> None:
        """The playback thread logs and retries (audio meanwhile is dropped); the status shows the
        speaker missing, so STATUS= and the LED never say Ready while nothing can be heard."""
        self.status.device(present, detail, speaker=True)
