"""An interpreter session (``/v1/realtime/translations``): continuous output while speech goes on.

Input is cut into the engine's 200 ms frames. Every frame at or above the speech level
(``translation_threshold`` on the VAD scale, -40 dBFS by default) yields, at once:

- ``session.output_audio.delta``: 200 ms of the continuous interpreter tone (voice.STREAM_HZ),
  with ``sample_rate``, ``channels``, ``format`` and ``elapsed_ms`` (end of the input frame);
- ``session.output_transcript.delta``: ``"[xx] translation N"`` on the first frame of the N-th
  stretch of speech, ``"."`` on the following ones, and ``" "`` once the stretch has ended
  (two quiet frames), so the concatenated transcript reads ``[en] translation 1.... [en] ...``;
- ``session.input_transcript.delta`` (``"speech N"``, ``"."``) when input transcription is set.

Quiet frames produce nothing. Output is paced by the input: a client that appends in real time
gets output in real time. ``session.close`` flushes a partial frame, answers ``session.closed``
and closes the socket.
"""

from __future__ import annotations

import base64
from typing import Any

from ..audio.wire import BYTES_PER_MS, WIRE_RATE_HZ
from . import session_config, voice
from .conversation import decode_audio
from .session import BaseSession
from .vad import level_dbfs, threshold_to_dbfs

FRAME_MS = 200
FRAME_BYTES = BYTES_PER_MS * FRAME_MS
END_OF_SPEECH_FRAMES = 2


class TranslationSession(BaseSession):
    handlers = {
        "session.update": "on_session_update",
        "session.input_audio_buffer.append": "on_append",
        "session.close": "on_close",
    }

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.config = self.record.session = session_config.translation_defaults(
            self.record.model, self.record.id
        )
        self._pending = bytearray()
        self._frames = 0
        self._out_samples = 0
        self._in_speech = False
        self._quiet_frames = 0

    @property
    def language(self) -> str:
        return ((self.config.get("audio") or {}).get("output") or {}).get("language") or "und"

    async def on_open(self) -> None:
        await self.send({"type": "session.created", "session": self.config})

    async def on_session_update(self, event: dict[str, Any]) -> None:
        session_config.update_translation(self.config, event)
        await self.send({"type": "session.updated", "session": self.config})

    async def on_append(self, event: dict[str, Any]) -> None:
        pcm = decode_audio(event.get("audio"), "audio")
        if self.host.options.record_audio:
            self.record.input_audio += pcm
        self._pending += pcm
        while len(self._pending) >= FRAME_BYTES:
            frame = bytes(self._pending[:FRAME_BYTES])
            del self._pending[:FRAME_BYTES]
            await self._frame(frame)

    async def on_close(self, event: dict[str, Any]) -> None:
        if self._pending:
            frame = bytes(self._pending) + bytes(FRAME_BYTES - len(self._pending))
            self._pending.clear()
            await self._frame(frame)
        await self.send({"type": "session.closed"})
        await self.ws.close(1000, "session closed")

    async def _frame(self, pcm: bytes) -> None:
        self._frames += 1
        elapsed_ms = self._frames * FRAME_MS
        threshold = threshold_to_dbfs(self.host.options.translation_threshold)
        if level_dbfs(pcm) < threshold:
            if self._in_speech:
                self._quiet_frames += 1
                if self._quiet_frames >= END_OF_SPEECH_FRAMES:
                    self._in_speech = False
                    await self.send({"type": "session.output_transcript.delta", "delta": " ",
                                     "elapsed_ms": elapsed_ms})
            return
        self._quiet_frames = 0
        if not self._in_speech:
            self._in_speech = True
            self.record.utterances += 1
            self.host.changed()
            out_text = voice.response_transcript(self.language, self.record.utterances)
            in_text = f"speech {self.record.utterances}"
        else:
            out_text = in_text = "."
        audio = voice.stream_tone(FRAME_MS, self._out_samples)
        self._out_samples += len(audio) // 2
        await self.send_audio_delta({
            "type": "session.output_audio.delta",
            "delta": base64.b64encode(audio).decode("ascii"),
            "sample_rate": WIRE_RATE_HZ, "channels": 1, "format": "pcm16",
            "elapsed_ms": elapsed_ms,
        })
        await self.send({"type": "session.output_transcript.delta", "delta": out_text,
                         "elapsed_ms": elapsed_ms})
        if (self.config["audio"].get("input") or {}).get("transcription"):
            await self.send({"type": "session.input_transcript.delta", "delta": in_text,
                             "elapsed_ms": elapsed_ms})
