"""From the selected mode and languages to a session: its endpoint, protocol machine and setup.

Asked before every connect (a mode switch to or from interpreter changes the endpoint) and for
every live change (a new language is one ``session.update`` on the same connection).
"""

from __future__ import annotations

from typing import Any

from .config import Config, Mode
from .modes import Selection
from .realtime import events as ev
from .realtime.instructions import conversation_instructions, one_way_instructions
from .realtime.protocol import ConversationProtocol
from .realtime.session import SessionKind, SessionProtocol, SessionType
from .realtime.translation import TranslationProtocol, translation_session_update


class SessionChoice:
    """What the next session is, for the config and selection of the moment (both may change)."""

    def __init__(self, config: Config, selection: Selection) -> None:
        self.config = config
        self.selection = selection
        self._ids = ev.EventIds()

    def next_event_id(self) -> str:
        return self._ids.next()

    def kind(self) -> SessionKind:
        if self.selection.uses_translation_endpoint:
            return SessionKind(SessionType.TRANSLATION, self.config.api.translation_model, self._protocol)
        return SessionKind(SessionType.REALTIME, self.config.api.model, self._protocol)

    def session_update(self) -> dict[str, Any]:
        """The session.update for the current selection (conversation, one-way or interpreter)."""
        cfg, sel = self.config, self.selection
        if sel.uses_translation_endpoint:
            return translation_session_update(cfg, sel.target, self._ids.next())
        if sel.mode is Mode.ONE_WAY:
            text = one_way_instructions(sel.target, cfg.glossary)
        else:
            text = conversation_instructions(sel.home, sel.other, cfg.glossary)
        vad = not cfg.controls.button.hold_to_talk
        return ev.session_update(cfg, text, self._ids.next(), vad_enabled=vad)

    def _protocol(self) -> SessionProtocol:
        if self.selection.uses_translation_endpoint:
            return TranslationProtocol(self.session_update(), self._ids)
        context = self.config.context
        keep = context.keep_turns if context.strategy == "delete" else None
        return ConversationProtocol(self.session_update(), self._ids, keep_turns=keep)
