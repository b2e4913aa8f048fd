"""Interpreter mode: OpenAI's translation sessions, as a state machine with no I/O.

A different endpoint (``{api.url}/translations``) and a smaller protocol than conversations: one
target language per session, audio in as ``session.input_audio_buffer.append`` in 200 ms frames
that keep flowing (silence included: a gap is not a pause to the model), translated audio out as
``session.output_audio.delta`` while the person keeps talking. No VAD, no responses, no truncate.
The interface matches :class:`.protocol.ConversationProtocol` so the connection and the app
treat both alike.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

import numpy as np

from ..config import Config
from . import events as ev
from .protocol import (AUTH_CODES, SESSION_ENDING_CODES, Action, Play, SessionLive, SessionOver,
                       SessionUpdates, Transcript)

log = logging.getLogger(__name__)

FRAME_MS = 200
"""The translation engine works in 200 ms frames; we append exactly that."""
FRAME_BYTES = FRAME_MS * ev.BYTES_PER_MS

_APPEND_HEAD = '{"type":"session.input_audio_buffer.append","audio":"'


def translation_append_json(pcm: bytes | memoryview) -> str:
    """One session.input_audio_buffer.append as JSON text (see events.audio_append_json)."""
    return _APPEND_HEAD + binascii.b2a_base64(pcm, newline=False).decode("ascii") + '"}'


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

    def interrupt(self, played_ms: int) -> list[Action]:
        return []  # nothing to truncate: the stream simply goes on

    def abandon_response(self) -> list[Action]:
        return []

    def close_event(self) -> dict[str, Any]:
        return {"type": "session.close", "event_id": self._ids.next()}

    def handle(self, event: dict[str, Any]) -> list[Action]:
        kind = event.get("type")
        if kind == "session.updated":
            if self.live:
                return []
            self.live = True
            return [SessionLive()]
        if kind == "session.output_audio.delta":
            return self._audio(event)
        if kind == "session.output_transcript.delta":
            return self._fragment(event, self._said, "translated")
        if kind == "session.input_transcript.delta":
            return self._fragment(event, self._heard, "heard")
        if kind == "session.closed":
            return self._flush() + [SessionOver("the server closed the translation session")]
        if kind == "error":
            error = event.get("error") if isinstance(event.get("error"), dict) else {}
            code = str(error.get("code") or "")
            if code in AUTH_CODES:
                return [SessionOver(code, auth=True)]
            if code in SESSION_ENDING_CODES:
                return [SessionOver(code)]
            log.warning("server error %s: %s", code or "?", str(error.get("message"))[:300])
            return []
        log.debug("translation event %s ignored", kind)
        return []

    def _audio(self, event: dict[str, Any]) -> list[Action]:
        delta = event.get("delta")
        if not isinstance(delta, str):
            log.warning("translation audio delta without audio ignored")
            return []
        try:
            pcm = base64.b64decode(delta, validate=True)
        except (binascii.Error, ValueError):
            log.warning("translation audio delta with bad base64 ignored (%d chars)", len(delta))
            return []
        pcm = _to_24k_mono(pcm, event.get("sample_rate"), event.get("channels"))
        self.playing_item_id = self.ITEM_ID
        return [Play(self.ITEM_ID, pcm)] if pcm else []

    def _fragment(self, event: dict[str, Any], parts: list[str], role: str) -> list[Action]:
        delta = event.get("delta")
        if not isinstance(delta, str):
            return []
        parts.append(delta)
        text = "".join(parts)
        if len(text) > 400 or text.rstrip().endswith((".", "?", "!", "。", "？", "！")):
            parts.clear()
            return [Transcript(role, text.strip())] if text.strip() else []
        return []

    def _flush(self) -> list[Action]:
        out: list[Action] = []
        for parts, role in ((self._heard, "heard"), (self._said, "translated")):
            text = "".join(parts).strip()
            parts.clear()
            if text:
                out.append(Transcript(role, text))
        return out


def _to_24k_mono(pcm: bytes, rate: Any, channels: Any) -> bytes:
    """Deltas may state their own rate and channel count: honour them rather than assume."""
    pcm = pcm[: len(pcm) - len(pcm) % 2]
    channels = channels if isinstance(channels, int) and channels > 0 else 1
    rate = rate if isinstance(rate, int) and rate > 0 else ev.PCM_RATE_HZ
    if channels == 1 and rate == ev.PCM_RATE_HZ:
        return pcm
    samples = np.frombuffer(pcm, dtype=np.int16)
    samples = samples[: len(samples) - len(samples) % channels].reshape(-1, channels).mean(axis=1)
    if rate != ev.PCM_RATE_HZ:
        import soxr

        samples = soxr.resample(samples.astype(np.float32), rate, ev.PCM_RATE_HZ)
    return np.clip(samples, -32768, 32767).astype(np.int16).tobytes()
