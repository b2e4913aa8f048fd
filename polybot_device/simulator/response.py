"""One simulated model response: the full GA event sequence, streamed at a knob-set pace.

A response is a task owned by its conversation session. It streams ``delta_ms`` audio deltas
``pace`` times faster than real time, so a client can barge in mid-response; ``cancel`` stops
it between two deltas and it then closes the response with status ``cancelled``, the way the
service does (audio done, transcript done with what was said so far, item ``incomplete``).
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any, Protocol

from ..audio.wire import WIRE_RATE_HZ
from . import voice
from .ids import new_id
from .records import SessionRecord
from .session import SessionHost
from .usage import UsageLedger, response_usage, truncate


class Conversation(Protocol):
    """What a response needs of the conversation session it answers in."""

    host: SessionHost
    record: SessionRecord
    config: dict[str, Any]
    conversation_id: str
    items: dict[str, dict[str, Any]]
    """Item id -> {"role", "audio_ms", "text"}, oldest first: the conversation, what truncate and
    delete check against and what the next response's input tokens are counted from."""
    usage: UsageLedger
    last_item_id: str | None

    async def send(self, event: dict[str, Any]) -> None: ...

    async def send_audio_delta(self, event: dict[str, Any]) -> None: ...

    def target_language(self) -> str: ...

    def response_finished(self, stream: ResponseStream) -> None: ...

PCM_FORMAT = {"type": "audio/pcm", "rate": WIRE_RATE_HZ}


class ResponseStream:
    """Answers utterance ``utterance`` (``voiced_ms`` long) once ``after`` has finished."""

    def __init__(
        self,
        session: Conversation,
        utterance: int,
        voiced_ms: int,
        after: ResponseStream | None = None,
    ) -> None:
        self.session = session
        self.utterance = utterance
        self.voiced_ms = voiced_ms
        self.after = after
        self.id = new_id("resp")
        self.item_id = new_id("item")
        self.started = False
        self.cancel_reason: str | None = None
        self._cancelled = asyncio.Event()
        self.done = asyncio.Event()
        self._inputs: dict[str, int] = {}

    def cancel(self, reason: str) -> None:
        """Stop streaming (``turn_detected`` or ``client_cancelled``); await ``done`` for the tail."""
        if not self.done.is_set() and self.cancel_reason is None:
            self.cancel_reason = reason
            self._cancelled.set()

    async def _pause(self, seconds: float) -> None:
        if seconds > 0 and not self._cancelled.is_set():
            try:
                await asyncio.wait_for(self._cancelled.wait(), seconds)
            except TimeoutError:
                pass

    async def run(self) -> None:
        try:
            if self.after is not None:
                await self.after.done.wait()
            await self._pause(self.session.host.options.response_delay_s)
            if self.cancel_reason is None:
                self.started = True
                await self._stream()
        finally:
            self.done.set()
            self.session.response_finished(self)

    def _response(self, status: str, output: list[Any], usage: Any, details: Any) -> dict[str, Any]:
        voice_name = self.session.config["audio"]["output"].get("voice") or "marin"
        return {
            "id": self.id,
            "object": "realtime.response",
            "status": status,
            "status_details": details,
            "output": output,
            "conversation_id": self.session.conversation_id,
            "output_modalities": ["audio"],
            "max_output_tokens": "inf",
            "audio": {"output": {"format": dict(PCM_FORMAT), "voice": voice_name}},
            "usage": usage,
            "metadata": None,
        }

    async def _stream(self) -> None:
        """The whole GA sequence: created, the item and its part, the deltas, the dones."""
        s = self.session
        await s.send({"type": "response.created",
                      "response": self._response("in_progress", [], None, None)})
        item: dict[str, Any] = {"id": self.item_id, "object": "realtime.item", "type": "message",
                                "role": "assistant", "status": "in_progress", "content": []}
        await s.send({"type": "response.output_item.added", "response_id": self.id,
                      "output_index": 0, "item": item})
        previous = s.last_item_id
        await s.send({"type": "conversation.item.added", "previous_item_id": previous,
                      "item": item})
        truncate(s.items, s.config.get("truncation"))
        self._inputs = s.usage.input_usage(s.config.get("instructions"), s.items)
        s.items[self.item_id] = {"role": "assistant", "audio_ms": 0, "text": ""}
        s.last_item_id = self.item_id
        await s.send({"type": "response.content_part.added", **self._ids,
                      "part": {"type": "audio", "transcript": ""}})
        said, samples, cancelled = await self._stream_audio()
        await self._finish(item, previous, said, samples, cancelled)

    @property
    def _ids(self) -> dict[str, Any]:
        return {"response_id": self.id, "item_id": self.item_id, "output_index": 0, "content_index": 0}

    async def _stream_audio(self) -> tuple[str, int, bool]:
        """The beeps and their transcript, delta by delta, until done or cancelled; returns
        (transcript said, samples sent, whether it was cut short)."""
        s, ids = self.session, self._ids
        opts = s.host.options
        words = voice.split_words(voice.response_transcript(s.target_language(), self.utterance))
        audio = voice.beeps(self.utterance, voice.response_ms(self.voiced_ms))
        chunks = voice.split_chunks(audio, max(10, opts.delta_ms))
        said = ""
        samples = 0
        for i, chunk in enumerate(chunks):
            if self._cancelled.is_set():
                break
            await s.send_audio_delta({"type": "response.output_audio.delta", **ids,
                                      "delta": base64.b64encode(chunk).decode("ascii")})
            samples += len(chunk) // 2
            s.items[self.item_id]["audio_ms"] = -(-samples * 1000 // WIRE_RATE_HZ)
            if i < len(words):
                await s.send({"type": "response.output_audio_transcript.delta", **ids,
                              "delta": words[i]})
                said += words[i]
            if i + 1 < len(chunks) and opts.pace > 0:
                await self._pause(opts.delta_ms / 1000 / opts.pace)
        cancelled = self._cancelled.is_set() and samples < len(audio) // 2
        if not cancelled:
            for word in words[len(chunks):]:
                await s.send({"type": "response.output_audio_transcript.delta", **ids,
                              "delta": word})
                said += word
        return said, samples, cancelled

    async def _finish(self, item: dict[str, Any], previous: str | None, said: str, samples: int,
                      cancelled: bool) -> None:
        s, ids = self.session, self._ids
        await s.send({"type": "response.output_audio.done", **ids})
        await s.send({"type": "response.output_audio_transcript.done", **ids,
                      "transcript": said})
        await s.send({"type": "response.content_part.done", **ids,
                      "part": {"type": "audio", "transcript": said}})
        item = {**item, "status": "incomplete" if cancelled else "completed",
                "content": [{"type": "output_audio", "transcript": said}]}
        await s.send({"type": "response.output_item.done", "response_id": self.id,
                      "output_index": 0, "item": item})
        await s.send({"type": "conversation.item.done", "previous_item_id": previous,
                      "item": item})
        if self.item_id in s.items:
            s.items[self.item_id]["text"] = said
        status = "cancelled" if cancelled else "completed"
        details = ({"type": "cancelled", "reason": self.cancel_reason} if cancelled else None)
        await s.send({"type": "response.done",
                      "response": self._response(status, [item], self._usage(samples, said), details)})
        if not cancelled:
            s.record.answered_ms.append(self.voiced_ms)
            s.host.response_completed(s.record)
        await s.send({"type": "rate_limits.updated", "rate_limits": [
            {"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012},
            {"name": "tokens", "limit": 400000, "remaining": 399000, "reset_seconds": 0.15},
        ]})

    def _usage(self, samples: int, said: str) -> dict[str, Any]:
        """What the service would bill: the conversation it held as input, what it said as output."""
        return response_usage(self._inputs, -(-samples * 1000 // WIRE_RATE_HZ), said)
