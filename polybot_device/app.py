"""Wires the parts. The data path, top to bottom:

    mic (ALSA thread, native rate) -> 24 kHz mono -> echo gate -> outbox -> WebSocket -> server VAD
    server -> protocol -> Play -> speaker (ALSA thread, resampled to the device rate)

Each long-lived task owns one resource (the capture PCM, the socket, the playback PCM) and shutdown
is cancellation of the TaskGroup, whose cleanups close them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace

from .apikey import KeySource
from .audio.capture import MicCapture
from .audio.playback import SpeakerPlayback
from .audio.volume import Volume
from .audio.wire import BYTES_PER_MS
from .config import Config
from .interaction import Interaction
from .modes import Selection
from .realtime import events as ev
from .realtime.connection import RealtimeLink, SessionKind
from .realtime.events import translation_append_json
from .realtime.instructions import conversation_instructions, one_way_instructions
from .realtime.outbox import Outbox
from .realtime.protocol import (
    Action,
    ConversationProtocol,
    Play,
    ResponseFinished,
    SetActivity,
    SpeechStarted,
    Transcript,
    UtteranceEnded,
)
from .realtime.translation import FRAME_BYTES, TranslationProtocol, translation_session_update
from .state import Activity, StatusModel

log = logging.getLogger(__name__)


class Translator:
    def __init__(self, config: Config, keys: KeySource, status: StatusModel) -> None:
        self.config = config
        self.status = status
        self._ids = ev.EventIds()
        self.selection = Selection.from_config(config)
        self.outbox = Outbox(capacity_ms=int(config.audio.outage_buffer_s * 1000),
                             lead_ms=max(1000, config.vad.prefix_padding_ms + 200))
        self.link = RealtimeLink(config.api, keys, status, self.outbox, self._session_kind,
                                 self._on_action, on_session_lost=self._on_session_lost,
                                 is_quiet=self.is_quiet)
        self.interaction = Interaction(self)
        self.talking = False
        """hold-to-talk: the button is held, so the mic is sent."""
        self.volume: Volume | None = None
        self.capture: MicCapture | None = None
        self.playback: SpeakerPlayback | None = None
        self._end_check: asyncio.TimerHandle | None = None
        self._speech_ended_at: float | None = None
        self.utterances_translated = 0
        self.response_latencies_s: deque[float] = deque(maxlen=256)
        """End of speech (commit) to the first audio handed to the speaker, the latest responses
        (bounded: the daemon runs for months)."""
        self._preroll: deque[tuple[float, bytes]] = deque(maxlen=PREROLL_CHUNKS)
        self.on_event: Callable[..., None] = lambda kind, **fields: None
        """Fleet reporting (metrics, journal): ("response_latency", seconds=), ("response_finished", status=)."""
        self.last_mic_chunk: bytes | None = None
        self.last_played_chunk: bytes | None = None
        """The latest audio each way, kept by reference for the level meter (no work per chunk)."""

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

    def is_quiet(self) -> bool:
        """Nobody speaking, nothing playing, no response on its way: a session can be swapped."""
        protocol = self.link.protocol
        return (self.status.facts.activity is Activity.IDLE
                and not (protocol is not None and protocol.response_open)
                and not (self.playback is not None and self.playback.is_playing()))

    def liveness_checks(self) -> list[Callable[[], str | None]]:
        """For the watchdog: the audio threads must keep reporting in."""
        return [self._check_capture, self._check_playback]

    def _check_capture(self) -> str | None:
        return _stuck("microphone", self.capture.last_alive if self.capture else None)

    def _check_playback(self) -> str | None:
        return _stuck("speaker", self.playback.last_alive if self.playback else None)

    # -- the mic path (50 times a second: keep it lean) ------------------------------------------

    async def _pump_mic(self, capture: MicCapture, playback: SpeakerPlayback) -> None:
        outbox, link = self.outbox, self.link
        silence = b""
        while True:
            chunk = await capture.read()
            self.last_mic_chunk = chunk
            if self._gated(playback):
                if self._holding_to_talk():
                    self._preroll.append((time.monotonic(), chunk))
                if not self.selection.uses_translation_endpoint:
                    continue  # our own speaker's voice must not reach the server's VAD
                # A translation session wants a stream without gaps: silence instead of echo.
                if len(silence) != len(chunk):
                    silence = bytes(len(chunk))
                chunk = silence
            outbox.append(chunk)
            link.audio_ready()

    def _holding_to_talk(self) -> bool:
        """hold-to-talk and the button is not held (interpreter mode streams regardless)."""
        return (self.config.controls.button.hold_to_talk and not self.talking
                and not self.selection.uses_translation_endpoint)

    def _gated(self, playback: SpeakerPlayback) -> bool:
        if self._holding_to_talk():
            return True
        if not self.config.audio.echo_gate:
            return False
        return playback.is_playing() or playback.quiet_for_s() < self.config.audio.echo_tail_ms / 1000

    # -- what the server says ------------------------------------------------------------------

    def _session_kind(self) -> SessionKind:
        """Asked before every connect: a mode switch to or from interpreter changes endpoint."""
        if self.selection.uses_translation_endpoint:
            return SessionKind("translation", "/translations", self.config.api.translation_model,
                               lambda: TranslationProtocol(self._session_update(), self._ids),
                               translation_append_json, FRAME_BYTES)
        return SessionKind("realtime", "", self.config.api.model,
                           lambda: ConversationProtocol(self._session_update(), self._ids))

    def _session_update(self) -> dict:
        cfg, sel = self.config, self.selection
        if sel.uses_translation_endpoint:
            return translation_session_update(cfg, sel.target, self._ids.next())
        if sel.mode == "one-way":
            text = one_way_instructions(sel.target, cfg.glossary)
        else:
            text = conversation_instructions(sel.home, sel.other, cfg.glossary)
        vad = not cfg.controls.button.hold_to_talk
        return ev.session_update(cfg, text, self._ids.next(), vad_enabled=vad)

    def _on_action(self, action: Action) -> None:
        if isinstance(action, Play):
            assert self.playback is not None
            if self._speech_ended_at is not None:
                self.response_latencies_s.append(time.monotonic() - self._speech_ended_at)
                self._speech_ended_at = None
                self.on_event("response_latency", seconds=self.response_latencies_s[-1])
            self.last_played_chunk = action.pcm
            self.play(action.pcm, action.item_id)
            self.interaction.translation_audio(action.item_id, action.pcm)
            if self.status.facts.activity is not Activity.SPEAKING and self.playback.is_playing():  # not if unplugged
                self.status.update(activity=Activity.SPEAKING)
                self._watch_playback_end()
        elif isinstance(action, SpeechStarted):
            self.outbox.utterance_started(action.audio_start_ms)
            if not self.config.audio.echo_gate and self.playback and self.playback.is_playing():
                log.info("barge-in: the person spoke over the translation")
                self.interrupt()
        elif isinstance(action, SetActivity):
            if self.status.facts.activity is not Activity.SPEAKING:
                self.status.update(activity=action.activity)
        elif isinstance(action, UtteranceEnded):
            self._speech_ended_at = time.monotonic()
            self.outbox.utterance_ended(action.audio_end_ms)
        elif isinstance(action, ResponseFinished):
            self.outbox.utterance_answered()
            if action.status == "completed":
                self.utterances_translated += 1
            self.on_event("response_finished", status=action.status)
            self.interaction.response_finished(action.status)
        elif isinstance(action, Transcript):
            if self.config.privacy.log_transcripts:
                log.info("%s: %s", action.role, action.text)

    def _on_session_lost(self) -> None:
        self._speech_ended_at = None
        if self.status.facts.activity is Activity.HEARING:
            self.status.update(activity=Activity.IDLE)

    # -- stop-and-truncate (voice barge-in now; the button calls it too) -------------------------

    def interrupt(self) -> None:
        """Stop the translation at once and tell the server how much of it was heard."""
        if self.playback is None:
            return
        was_translation = self.status.facts.activity is Activity.SPEAKING
        played_ms = self.playback.stop_now()
        protocol = self.link.protocol
        if protocol is not None and was_translation:
            self.link.send(protocol.interrupt(played_ms))
        self.status.update(activity=Activity.IDLE)

    def play(self, pcm: bytes, item_id: str) -> None:
        """Everything the speaker plays (translations, replays, cues) goes through the volume."""
        if self.playback is not None:
            self.playback.play(self.volume.scale(pcm) if self.volume else pcm, item_id)

    # -- what the button asks for -------------------------------------------------------------------

    def next_language(self) -> str:
        """Short press: the next language, on the live session (no reconnect, no audio lost)."""
        language = self.selection.next_language()
        self._update_live_session()
        log.info("language: %s", language, extra={"POLYBOT_LANGUAGE": language})
        return language

    async def next_mode(self) -> str:
        """Long press: the next mode. To or from interpreter the endpoint changes: the session is
        restarted and the audio captured meanwhile waits in the outbox."""
        was_translation = self.selection.uses_translation_endpoint
        mode = self.selection.next_mode()
        log.info("mode: %s", mode)
        if was_translation != self.selection.uses_translation_endpoint:
            await self.link.restart_session(f"mode change to {mode}")
        else:
            self._update_live_session()
        return mode

    def talk(self, held: bool, since: float | None = None) -> None:
        """hold-to-talk: while held the mic is sent; on release the turn is committed and a
        response requested (after the last chunk, never before it). ``since``: when the press
        began; a press only counts as talk after a moment, and the words said in that moment
        are taken from the pre-roll so none is lost."""
        if held and since is not None:
            for at, chunk in self._preroll:
                if at >= since:
                    self.outbox.append(chunk)
            self.link.audio_ready()
        self._preroll.clear()
        self.talking = held
        if not held and not self.selection.uses_translation_endpoint:
            self.link.send_after_audio([ev.commit(self._ids.next()), ev.response_create(self._ids.next())])

    def _update_live_session(self) -> None:
        protocol = self.link.protocol
        if protocol is not None:
            self.link.send(protocol.reconfigure(self._session_update()))

    def _watch_playback_end(self) -> None:
        loop = asyncio.get_running_loop()
        # At the expected end, not every 50 ms: each timer wake-up costs CPU on a Pi Zero.
        remaining_s = self.playback.remaining_s() if self.playback is not None else 0.0
        self._end_check = loop.call_later(max(0.02, remaining_s), self._check_playback_end)

    def _check_playback_end(self) -> None:
        self._end_check = None
        if self.playback is not None and self.playback.is_playing():
            self._watch_playback_end()
        elif self.status.facts.activity is Activity.SPEAKING:
            self.status.update(activity=Activity.IDLE)

    # -- live changes (SIGHUP) --------------------------------------------------------------------

    def reconfigure(self, new: Config) -> None:
        """SIGHUP. Languages, mode, VAD, glossary, gestures, volume, cues and privacy apply now, on
        the live session; devices and the API endpoint are opened once and need a restart."""
        old = self.config
        new_audio = replace(new.audio, output=replace(new.audio.output, volume_percent=old.audio.output.volume_percent))
        if new_audio != old.audio or new.api != old.api:
            log.warning("reload: audio device and api settings take effect after a restart; the rest applies now")
            new = replace(new, api=old.api, audio=replace(old.audio, output=replace(
                old.audio.output, volume_percent=new.audio.output.volume_percent)))
        was_translation = self.selection.uses_translation_endpoint
        self.config = new
        if self.volume is not None and new.audio.output.volume_percent != old.audio.output.volume_percent:
            self.volume.set(new.audio.output.volume_percent)
        if new.controls != old.controls:
            self.interaction.rebuild_controls()
        self.selection.reload(new)
        self.interaction.forget_translation()
        if was_translation != self.selection.uses_translation_endpoint:
            asyncio.get_running_loop().create_task(self.link.restart_session("reload changed the mode"))
        else:
            self._update_live_session()
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


PREROLL_CHUNKS = 40
"""hold-to-talk: ~0.8 s of mic audio kept while the button is up, for the start of a press."""

THREAD_STUCK_AFTER_S = 10.0
"""An audio thread that has not reported in for this long is stuck in a blocking call: the
watchdog stops pinging and systemd restarts the daemon. Waiting for a missing device still
reports in (each open attempt), so a missing mic is not a hang."""


def _stuck(part: str, last_alive: float | None) -> str | None:
    if last_alive is None:
        return None
    silent_s = time.monotonic() - last_alive
    return f"{part} thread silent for {silent_s:.0f} s" if silent_s > THREAD_STUCK_AFTER_S else None
