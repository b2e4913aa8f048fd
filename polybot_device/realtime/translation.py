"""Interpreter mode: OpenAI's translation sessions, as a state machine with no I/O.

A different endpoint (``{api.url}/translations``) and a smaller protocol than conversations: one
target language per session, audio in as ``session.input_audio_buffer.append`` in 200 ms frames
that keep flowing (silence included: a gap is not a pause to the model), translated audio out as
``session.output_audio.delta`` while the person keeps talking. No VAD, no responses, no truncate.
Both machines are a :class:`.session.SessionProtocol`, so the link and the app treat them alike.
"""

from __future__ import annotations

import logging
from typing import Any

from ..audio.resample import to_wire
from ..audio.wire import BYTES_PER_MS, WIRE_RATE_HZ
from ..background import call_in_daemon_thread
from ..config import Config
from . import decoding
from . import events as ev
from .actions import Action, InputTranslated, Play, Send, SessionLive, SessionOver, Transcript
from .protocol import TRANSCRIPT_MAX_CHARS, SessionUpdates

log = logging.getLogger(__name__)

FRAME_MS = 200
"""The translation engine works in 200 ms frames; we append exactly that."""
FRAME_BYTES = FRAME_MS * BYTES_PER_MS
SENTENCE_MAX_CHARS = 400
"""Transcript fragments are logged a sentence at a time, or every this many characters."""


def translation_session_update(config: Config, target: str, event_id: str) -> dict[str, Any]:
    api = config.api
    audio_input: dict[str, Any] = {}
    if api.transcription_model:
        audio_input["transcription"] = {"model": api.transcription_model}
    if api.noise_reduction != "off":
        audio_input["noise_reduction"] = {"type": api.noise_reduction}
    audio: dict[str, Any] = {"output": {"language": target}}
    if audio_input:
        audio["input"] = audio_input
    return {"type": "session.update", "event_id": event_id, "session": {"audio": audio}}


class TranslationProtocol(SessionUpdates):
    """One translation session's state. Transcript deltas are append-only fragments: they are
    concatenated as they come and logged a sentence at a time."""

    ITEM_ID = "interpretation"

    def __init__(self, session_update_event: dict[str, Any], ids: ev.EventIds) -> None:
        super().__init__(session_update_event, ids)
        self.response_open = False  # there are no responses here; kept for a uniform interface
        self.playing_item_id: str | None = None
        self._heard: list[str] = []
        self._said: list[str] = []
        self._translated_ms = 0

    def interrupt(self, played_ms: int) -> list[Action]:
        return []  # nothing to truncate: the stream simply goes on

    def abandon_response(self) -> list[Action]:
        return []

    def closing(self) -> list[Action]:
        """session.close: the server flushes what it holds before the socket goes."""
        return [Send({"type": "session.close", "event_id": self._ids.next()})]

    def handle(self, event: dict[str, Any]) -> list[Action]:
        kind = event.get("type")
        if kind == "session.updated":
            if self.live:
                return []
            self.live = True
            return [SessionLive()]
        if kind == "session.output_audio.delta":
            return self._audio(event) + self._progress(event)
        if kind == "session.output_transcript.delta":
            return self._fragment(event, self._said, "translated") + self._progress(event)
        if kind == "session.input_transcript.delta":
            return self._fragment(event, self._heard, "heard")
        if kind == "session.closed":
            return self._flush() + [SessionOver("the server closed the translation session")]
        if kind == "error":
            error = decoding.server_error(event)
            over = error.session_over()
            if over is not None:
                return [over]
            log.warning("server error %s: %s", error.code or "?", error.message)
            return []
        log.debug("translation event %s ignored", kind)
        return []

    def _audio(self, event: dict[str, Any]) -> list[Action]:
        delta = event.get("delta")
        if not isinstance(delta, str):
            log.warning("translation audio delta without audio ignored")
            return []
        pcm = decoding.audio(delta)
        if pcm is None:
            log.warning("translation audio delta with bad base64 ignored (%d chars)", len(delta))
            return []
        rate, channels = _stated_format(event.get("sample_rate"), event.get("channels"))
        self.playing_item_id = self.ITEM_ID
        return [Play(self.ITEM_ID, pcm, rate, channels)] if pcm else []

    def _progress(self, event: dict[str, Any]) -> list[Action]:
        """Output events carry ``elapsed_ms``: the input position the output was made from. Only
        output counts (an input transcript is not yet a translation); only a step forward."""
        elapsed = event.get("elapsed_ms")
        if isinstance(elapsed, bool) or not isinstance(elapsed, int) or elapsed <= self._translated_ms:
            return []
        self._translated_ms = elapsed
        return [InputTranslated(elapsed)]

    def _fragment(self, event: dict[str, Any], parts: list[str], role: str) -> list[Action]:
        delta = event.get("delta")
        if not isinstance(delta, str):
            return []
        parts.append(delta[:SENTENCE_MAX_CHARS])
        text = "".join(parts)
        if len(text) >= SENTENCE_MAX_CHARS or text.rstrip().endswith((".", "?", "!", "。", "？", "！")):
            parts.clear()
            text = text[:TRANSCRIPT_MAX_CHARS].strip()
            return [Transcript(role, text)] if text else []
        return []

    def _flush(self) -> list[Action]:
        out: list[Action] = []
        for parts, role in ((self._heard, "heard"), (self._said, "translated")):
            text = "".join(parts).strip()
            parts.clear()
            if text:
                out.append(Transcript(role, text))
        return out


def _stated_format(rate: Any, channels: Any) -> tuple[int, int]:
    """Deltas may state their own rate and channel count: honour them rather than assume."""
    channels = channels if isinstance(channels, int) and 0 < channels <= MAX_DELTA_CHANNELS else 1
    rate = rate if isinstance(rate, int) and DELTA_RATES_HZ[0] <= rate <= DELTA_RATES_HZ[1] else WIRE_RATE_HZ
    return rate, channels


async def as_wire(play: Play) -> Play:
    """``play`` in the wire format. A conversion runs in a daemon thread, never on the event loop:
    one 4 MiB delta stated at 8 kHz takes ~60 ms of CPU here and several times that on a Pi Zero,
    time in which no heartbeat, button or keepalive would run."""
    if play.is_wire:
        return play
    pcm = await call_in_daemon_thread(lambda: to_wire(play.pcm, play.rate_hz, play.channels), "resample")
    return Play(play.item_id, pcm)


MAX_DELTA_CHANNELS = 8
DELTA_RATES_HZ = (8000, 384_000)
"""A delta stating a rate or channel count outside these is broken or hostile (1 Hz would make a
24,000-fold longer clip): it is read as the wire format instead."""
