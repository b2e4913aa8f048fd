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

FINISHED_ITEMS_KEPT = 64
"""Finished (or interrupted) item ids remembered to drop their late deltas: far more than a session
has in flight, and a flood of done events cannot grow the set."""
OPEN_RESPONSES_MAX = 16
"""Responses created and not yet done; a real server has one or two. Past this the oldest is
forgotten (its late response.done is then ignored like any unknown one)."""
TRANSCRIPT_MAX_CHARS = 2000
"""One transcript is at most this long; a server that streams text without end is cut here."""


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
        self._finished_items: dict[str, None] = {}  # an ordered set, oldest first, FINISHED_ITEMS_KEPT at most
        self._transcript_parts: list[str] = []
        self._transcript_chars = 0
        self._speech_end_ms = 0
        self._responses: dict[str, None] = {}  # ids created whose response.done has not come, oldest first

    def interrupt(self, played_ms: int) -> list[Action]:
        """Stop-and-truncate after playback was stopped: tell the server what was really heard."""
        actions: list[Action] = []
        if self.playing_item_id is not None:
            actions.append(Send(ev.truncate(self.playing_item_id, played_ms, self._ids.next())))
            self._finish(self.playing_item_id)  # its late deltas must not play what was just stopped
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
        self._responses[_response_id(event)] = None
        if len(self._responses) > OPEN_RESPONSES_MAX:
            del self._responses[next(iter(self._responses))]
        self.response_open = True
        self._transcript_parts.clear()
        self._transcript_chars = 0
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
            self._finish(item_id)
        return []

    def _finish(self, item_id: str) -> None:
        self._finished_items[item_id] = None
        if len(self._finished_items) > FINISHED_ITEMS_KEPT:
            del self._finished_items[next(iter(self._finished_items))]

    def _transcript_delta(self, event: dict[str, Any]) -> list[Action]:
        delta = event.get("delta")
        if isinstance(delta, str) and self._transcript_chars < TRANSCRIPT_MAX_CHARS:
            delta = delta[:TRANSCRIPT_MAX_CHARS - self._transcript_chars]
            self._transcript_parts.append(delta)
            self._transcript_chars += len(delta)
        return []

    def _transcript_done(self, event: dict[str, Any]) -> list[Action]:
        text = event.get("transcript")
        if not isinstance(text, str):
            text = "".join(self._transcript_parts)
        self._transcript_parts.clear()
        self._transcript_chars = 0
        return _transcript("translated", text)

    def _input_transcript(self, event: dict[str, Any]) -> list[Action]:
        text = event.get("transcript")
        actions: list[Action] = _transcript("heard", text) if isinstance(text, str) else []
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
        self._responses.pop(response_id, None)
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


def _transcript(role: str, text: str) -> list[Action]:
    text = text[:TRANSCRIPT_MAX_CHARS].strip()
    return [Transcript(role, text)] if text else []


def _response_id(event: dict[str, Any]) -> str:
    response = event.get("response")
    return str(response.get("id")) if isinstance(response, dict) else ""


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
