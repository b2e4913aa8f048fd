"""The conversation-session protocol as a state machine with no I/O.

Server events (parsed dicts) go in; actions come out: audio to play, events to send, activity
changes, transcripts, a verdict that the session is over. The bookkeeping the GA protocol leaves to
the client lives here: which assistant item is being played, whether a response is open, where
each utterance started in this session's input-audio timeline. The connection module only moves
JSON; this module is tested with plain values (see tests/realtime/test_protocol.py).
"""

from __future__ import annotations

import logging
from typing import Any

from ..cost.usage import response_usage, transcription_usage
from ..state import Activity
from . import decoding
from . import events as ev
from .actions import (
    Action,
    Play,
    ResponseFinished,
    ResponseStatus,
    Send,
    SessionLive,
    SetActivity,
    SpeechStarted,
    Transcript,
    TranscriptionUsed,
    UsageReported,
    UtteranceEnded,
)
from .context import ContextWindow

log = logging.getLogger(__name__)


class SessionUpdates:
    """What both kinds of session do alike with their configuration: send it on open, and send a
    new one on a live change (languages, VAD) without reconnecting."""

    def __init__(self, session_update_event: dict[str, Any], ids: ev.EventIds) -> None:
        self._session_update = session_update_event
        self._ids = ids
        self._opened = False
        self.live = False

    def opening(self) -> list[Action]:
        """What to send as soon as the socket is open (the server's session.created may lag)."""
        self._opened = True
        return [Send(self._session_update)]

    def reconfigure(self, session_update_event: dict[str, Any]) -> list[Action]:
        """Live change: one session.update on the same connection. Before the socket is open it is
        only kept (the opening sends it); once the first one went out it is sent at once, live or
        not yet: the server applies them in order, so a change made while the first is still
        being confirmed is not lost (it was, when a reload landed in that moment)."""
        self._session_update = session_update_event
        return [Send(session_update_event)] if self._opened else []


class ConversationProtocol(SessionUpdates):
    """One session's protocol state. A reconnect makes a new one: nothing carries over.
    ``keep_turns``: delete all but that many turns after each response (None: leave the history
    to the server's truncation)."""

    def __init__(self, session_update_event: dict[str, Any], ids: ev.EventIds, keep_turns: int | None = None) -> None:
        super().__init__(session_update_event, ids)
        self._context = ContextWindow(keep_turns, ids) if keep_turns else None
        self.response_open = False
        self.playing_item_id: str | None = None
        self._finished_items: set[str] = set()
        self._transcript_parts: list[str] = []
        self._speech_end_ms = 0
        self._responses: set[str] = set()  # ids created whose response.done has not come

    def interrupt(self, played_ms: int) -> list[Action]:
        """Stop-and-truncate after playback was stopped: tell the server what was really heard."""
        actions: list[Action] = []
        if self.playing_item_id is not None:
            actions.append(Send(ev.truncate(self.playing_item_id, played_ms, self._ids.next())))
            self.playing_item_id = None
        if self.response_open:
            actions.append(Send(ev.response_cancel(self._ids.next())))
            self.response_open = False  # its response.done (cancelled) may still come: harmless
        return actions

    def closing(self) -> list[Action]:
        return []  # nothing to say: the close frame is enough

    def abandon_response(self) -> list[Action]:
        """The open response stalled (no event for too long): cancel it and stop waiting, so a
        response that never ends cannot leave the gadget stuck."""
        if not self.response_open:
            return []
        self.response_open = False
        self._responses.clear()  # a late response.done for it must not settle another utterance
        return [Send(ev.response_cancel(self._ids.next())), ResponseFinished(ResponseStatus.STALLED)]

    def handle(self, event: dict[str, Any]) -> list[Action]:
        kind = event.get("type")
        if not isinstance(kind, str):
            log.warning("server event without a type ignored: keys %s", sorted(event)[:8])
            return []
        kind = ev.ALIASES.get(kind, kind)
        handler = self._HANDLERS.get(kind)
        if handler is None:
            log.debug("server event %s ignored", kind)
            return []
        return handler(self, event)

    # -- handlers -------------------------------------------------------------------------------

    def _session_updated(self, event: dict[str, Any]) -> list[Action]:
        if self.live:
            return []
        self.live = True
        return [SessionLive()]

    def _speech_started(self, event: dict[str, Any]) -> list[Action]:
        start = _int(event.get("audio_start_ms"))
        return [SpeechStarted(start), SetActivity(Activity.HEARING)]

    def _speech_stopped(self, event: dict[str, Any]) -> list[Action]:
        self._speech_end_ms = _int(event.get("audio_end_ms"))
        return [SetActivity(Activity.IDLE)]

    def _committed(self, event: dict[str, Any]) -> list[Action]:
        end, self._speech_end_ms = self._speech_end_ms, 0
        return [UtteranceEnded(end)]

    def _response_created(self, event: dict[str, Any]) -> list[Action]:
        self._responses.add(_response_id(event))
        self.response_open = True
        self._transcript_parts.clear()
        return []

    def _audio_delta(self, event: dict[str, Any]) -> list[Action]:
        item_id = event.get("item_id")
        delta = event.get("delta")
        if not isinstance(item_id, str) or not isinstance(delta, str):
            log.warning("audio delta without item_id/delta ignored (response %s)", event.get("response_id"))
            return []
        if item_id in self._finished_items:
            log.warning("audio delta for finished item %s ignored (out of order)", item_id)
            return []
        pcm = decoding.audio(delta)
        if pcm is None:
            log.warning("audio delta with bad base64 ignored (item %s, %d chars)", item_id, len(delta))
            return []
        self.playing_item_id = item_id
        return [Play(item_id, pcm)] if pcm else []

    def _audio_done(self, event: dict[str, Any]) -> list[Action]:
        item_id = event.get("item_id")
        if isinstance(item_id, str):
            self._finished_items.add(item_id)
        return []

    def _transcript_delta(self, event: dict[str, Any]) -> list[Action]:
        delta = event.get("delta")
        if isinstance(delta, str):
            self._transcript_parts.append(delta)
        return []

    def _transcript_done(self, event: dict[str, Any]) -> list[Action]:
        text = event.get("transcript")
        if not isinstance(text, str):
            text = "".join(self._transcript_parts)
        self._transcript_parts.clear()
        return [Transcript("translated", text.strip())] if text.strip() else []

    def _input_transcript(self, event: dict[str, Any]) -> list[Action]:
        text = event.get("transcript")
        actions: list[Action] = [Transcript("heard", text.strip())] if isinstance(text, str) and text.strip() else []
        usage = transcription_usage(event.get("usage"))
        return actions + [TranscriptionUsed(usage)] if usage else actions

    def _item_added(self, event: dict[str, Any]) -> list[Action]:
        if self._context is not None:
            self._context.added(event)
        return []

    def _item_deleted(self, event: dict[str, Any]) -> list[Action]:
        if self._context is not None:
            self._context.deleted(event)
        return []

    def _response_done(self, event: dict[str, Any]) -> list[Action]:
        response_id = _response_id(event)
        if response_id not in self._responses:
            log.warning("response.done for a response that was not open (%s) ignored", response_id[:40])
            return []
        self._responses.discard(response_id)
        response = event.get("response")
        status = ResponseStatus.of(response.get("status", "completed") if isinstance(response, dict) else "completed")
        self.response_open = bool(self._responses)  # an older one's done must not close a newer one
        usage = response_usage(response.get("usage")) if isinstance(response, dict) else None
        actions: list[Action] = [UsageReported(usage)] if usage else []
        if self._context is not None:
            actions += [Send(delete) for delete in self._context.trim()]
        return actions + [ResponseFinished(status)]

    def _error(self, event: dict[str, Any]) -> list[Action]:
        error = decoding.server_error(event)
        over = error.session_over()
        if over is not None:
            return [over]
        if error.code in decoding.RATE_LIMIT_CODES:
            log.warning("server rate limit: %s", error.message)
        elif error.code != "response_cancel_not_active":  # that one: a barge-in raced the response's end
            log.warning("server error %s (%s)%s: %s", error.code or "?", error.kind or None,
                        f" caused by {error.caused_by}" if error.caused_by else "", error.message)
        return []

    _HANDLERS = {
        "session.updated": _session_updated,
        "input_audio_buffer.speech_started": _speech_started,
        "input_audio_buffer.speech_stopped": _speech_stopped,
        "input_audio_buffer.committed": _committed,
        "response.created": _response_created,
        "response.output_audio.delta": _audio_delta,
        "response.output_audio.done": _audio_done,
        "response.output_audio_transcript.delta": _transcript_delta,
        "response.output_audio_transcript.done": _transcript_done,
        "conversation.item.input_audio_transcription.completed": _input_transcript,
        "response.done": _response_done,
        "conversation.item.added": _item_added,
        "conversation.item.deleted": _item_deleted,
        "error": _error,
    }


def _response_id(event: dict[str, Any]) -> str:
    response = event.get("response")
    return str(response.get("id")) if isinstance(response, dict) else ""


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
