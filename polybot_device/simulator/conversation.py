"""A conversation session (``/v1/realtime``): server VAD turns, responses, barge-in, truncate.

With ``turn_detection`` set (server_vad; semantic_vad is treated as server_vad with a silence
derived from its eagerness), appended audio runs through the energy VAD and each utterance
produces speech_started / speech_stopped / committed / the user item / (its transcript when
transcription is configured) / a response. With ``turn_detection: null`` the client drives:
``input_audio_buffer.commit`` then ``response.create``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ..audio.wire import BYTES_PER_MS
from . import session_config, voice
from .ids import new_id
from .response import ResponseStream
from .session import BaseSession, ClientError
from .usage import UsageLedger
from .vad import EnergyVad, SpeechStarted

MIN_COMMIT_MS = 100


class ConversationSession(BaseSession):
    handlers = {
        "session.update": "on_session_update",
        "input_audio_buffer.append": "on_append",
        "input_audio_buffer.commit": "on_commit",
        "input_audio_buffer.clear": "on_clear",
        "response.create": "on_response_create",
        "response.cancel": "on_response_cancel",
        "conversation.item.create": "on_item_create",
        "conversation.item.truncate": "on_truncate",
        "conversation.item.delete": "on_item_delete",
    }

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.config = self.record.session = session_config.realtime_defaults(self.record.model)
        self.conversation_id = new_id("conv")
        self.vad = EnergyVad()
        self._configure_vad()
        self.buffer_bytes = 0  # appended since the last commit/clear
        self.speech_item: str | None = None
        self.last_item_id: str | None = None
        self.last_voiced_ms = 0
        self.items: dict[str, dict[str, Any]] = {}
        """The conversation, oldest first: item id -> {"role", "audio_ms", "text"}."""
        self.usage = UsageLedger()
        self.responses: list[ResponseStream] = []  # active first, queued after it

    # ----------------------------------------------------------------- config

    @property
    def turn_detection(self) -> dict[str, Any] | None:
        return ((self.config.get("audio") or {}).get("input") or {}).get("turn_detection")

    def target_language(self) -> str:
        return session_config.target_language(self.config.get("instructions"))

    def _configure_vad(self) -> None:
        turn = self.turn_detection or {}
        if turn.get("type") == "semantic_vad":
            silence = session_config.EAGERNESS_SILENCE_MS.get(turn.get("eagerness") or "auto", 800)
        else:
            silence = turn.get("silence_duration_ms") or 500
        self.vad.configure(
            threshold=turn.get("threshold", 0.5) if turn.get("threshold") is not None else 0.5,
            prefix_padding_ms=turn.get("prefix_padding_ms") or 300,
            silence_duration_ms=silence,
        )

    async def on_open(self) -> None:
        await self.send({"type": "session.created", "session": self.config})

    async def on_session_update(self, event: dict[str, Any]) -> None:
        session_config.update_realtime(self.config, event)
        self._configure_vad()
        await self.send({"type": "session.updated", "session": self.config})

    # ----------------------------------------------------------------- input audio

    async def on_append(self, event: dict[str, Any]) -> None:
        pcm = decode_audio(event.get("audio"), "audio")
        if self.host.options.record_audio:
            self.record.input_audio += pcm
        self.buffer_bytes += len(pcm)
        for boundary in self.vad.feed(pcm):
            turn = self.turn_detection
            if turn is None:
                continue
            if isinstance(boundary, SpeechStarted):
                await self._speech_started(boundary.audio_start_ms, turn)
            else:
                await self.send({"type": "input_audio_buffer.speech_stopped",
                                 "audio_end_ms": boundary.audio_end_ms,
                                 "item_id": self.speech_item})
                await self._commit(boundary.voiced_ms)
                if turn.get("create_response", True) is not False:
                    self._start_response()

    async def _speech_started(self, audio_start_ms: int, turn: dict[str, Any]) -> None:
        self.speech_item = new_id("item")
        await self.send({"type": "input_audio_buffer.speech_started",
                         "audio_start_ms": audio_start_ms, "item_id": self.speech_item})
        if self.responses and turn.get("interrupt_response", True) is not False:
            await self.cancel_responses("turn_detected")

    async def _commit(self, voiced_ms: int) -> None:
        item_id = self.speech_item or new_id("item")
        self.speech_item = None
        self.buffer_bytes = 0
        self.vad.reset_speech()
        self.record.utterances += 1
        self.last_voiced_ms = voiced_ms
        previous = self.last_item_id
        await self.send({"type": "input_audio_buffer.committed", "item_id": item_id,
                         "previous_item_id": previous})
        item = {"id": item_id, "object": "realtime.item", "type": "message", "role": "user",
                "status": "completed",
                "content": [{"type": "input_audio", "transcript": None}]}
        self.items[item_id] = {"role": "user", "audio_ms": voiced_ms}
        self.last_item_id = item_id
        await self.send({"type": "conversation.item.added", "previous_item_id": previous,
                         "item": item})
        await self.send({"type": "conversation.item.done", "previous_item_id": previous,
                         "item": item})
        self.host.changed()
        if (self.config["audio"]["input"] or {}).get("transcription"):
            text = voice.input_transcript(self.record.utterances, voiced_ms)
            await self.send({
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item_id, "content_index": 0, "transcript": text,
                "usage": {"type": "duration", "seconds": round(voiced_ms / 1000, 3)},
            })

    async def on_commit(self, event: dict[str, Any]) -> None:
        buffered_ms = self.buffer_bytes // BYTES_PER_MS
        if buffered_ms < MIN_COMMIT_MS:
            raise ClientError(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {buffered_ms}ms of audio.",
            )
        await self._commit(buffered_ms)

    async def on_clear(self, event: dict[str, Any]) -> None:
        self.buffer_bytes = 0
        self.speech_item = None
        self.vad.reset_speech()
        await self.send({"type": "input_audio_buffer.cleared"})

    # ----------------------------------------------------------------- responses

    def _start_response(self) -> None:
        after = self.responses[-1] if self.responses else None
        stream = ResponseStream(self, self.record.utterances, self.last_voiced_ms, after)
        self.responses.append(stream)
        self.spawn(stream.run())

    def response_finished(self, stream: ResponseStream) -> None:
        if stream in self.responses:
            self.responses.remove(stream)

    async def cancel_responses(self, reason: str) -> None:
        streams = list(self.responses)
        for stream in streams:
            stream.cancel(reason)
        for stream in streams:
            await stream.done.wait()

    async def on_response_create(self, event: dict[str, Any]) -> None:
        if self.responses:
            raise ClientError(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: "
                f"{self.responses[0].id}. Wait until the response is finished before "
                "creating a new one.",
            )
        self._start_response()

    async def on_response_cancel(self, event: dict[str, Any]) -> None:
        if not self.responses:
            raise ClientError("response_cancel_not_active",
                              "Cancellation failed: no active response found.")
        await self.cancel_responses("client_cancelled")

    # ----------------------------------------------------------------- items

    async def on_truncate(self, event: dict[str, Any]) -> None:
        item_id = event.get("item_id")
        content_index = event.get("content_index")
        audio_end_ms = event.get("audio_end_ms")
        for name, value in (("item_id", item_id), ("content_index", content_index),
                            ("audio_end_ms", audio_end_ms)):
            if value is None:
                raise ClientError("missing_required_parameter",
                                  f"Missing required parameter: '{name}'.", name)
        if not isinstance(content_index, int) or not isinstance(audio_end_ms, int) \
                or audio_end_ms < 0:
            raise ClientError("invalid_value", "content_index and audio_end_ms must be "
                              "non-negative integers.", "audio_end_ms")
        item = self.items.get(item_id) if isinstance(item_id, str) else None
        if item is None or item["role"] != "assistant":
            raise ClientError("invalid_value", f"Invalid 'item_id': no assistant message with "
                              f"id '{item_id}' in the conversation.", "item_id")
        if content_index != 0:
            raise ClientError("invalid_value", "Invalid 'content_index': the item has one "
                              "content part.", "content_index")
        if audio_end_ms > item["audio_ms"]:
            raise ClientError("invalid_value", f"Audio content of {item['audio_ms']}ms is "
                              f"already shorter than {audio_end_ms}ms.", "audio_end_ms")
        item["audio_ms"] = audio_end_ms
        await self.send({"type": "conversation.item.truncated", "item_id": item_id,
                         "content_index": content_index, "audio_end_ms": audio_end_ms})

    async def on_item_create(self, event: dict[str, Any]) -> None:
        item = event.get("item")
        if not isinstance(item, dict) or item.get("type") not in ("message",):
            raise ClientError("invalid_value", "The simulator accepts message items only.",
                              "item")
        item = {"object": "realtime.item", "status": "completed", **item,
                "id": item.get("id") or new_id("item")}
        text = " ".join(part.get("text") or "" for part in item.get("content") or []
                        if isinstance(part, dict) and isinstance(part.get("text"), str))
        self.items[item["id"]] = {"role": item.get("role"), "audio_ms": 0, "text": text}
        previous = self.last_item_id
        self.last_item_id = item["id"]
        await self.send({"type": "conversation.item.added", "previous_item_id": previous,
                         "item": item})
        await self.send({"type": "conversation.item.done", "previous_item_id": previous,
                         "item": item})

    async def on_item_delete(self, event: dict[str, Any]) -> None:
        item_id = event.get("item_id")
        if item_id not in self.items:
            raise ClientError("invalid_value", f"Invalid 'item_id': '{item_id}' not found.",
                              "item_id")
        del self.items[item_id]
        await self.send({"type": "conversation.item.deleted", "item_id": item_id})


def decode_audio(value: Any, param: str) -> bytes:
    """Base64 PCM16 from a client event, or ClientError."""
    if not isinstance(value, str):
        raise ClientError("missing_required_parameter", f"Missing required parameter: '{param}'.",
                          param)
    try:
        pcm = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ClientError("invalid_value", f"Invalid base64 audio: {exc}", param) from exc
    if len(pcm) % 2:
        raise ClientError("invalid_value", "PCM16 audio must have an even number of bytes.", param)
    return pcm
