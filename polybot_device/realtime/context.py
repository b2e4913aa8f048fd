"""The client's side of a short context (``context.strategy: delete``): which items to delete.

The conversation's items arrive as ``conversation.item.added`` (user utterances, then the
translation of each); after every response all but the last ``keep_turns`` turns (a turn starts at
a user item) are deleted with ``conversation.item.delete``. The instructions, with the glossary in
them, are the session's and never an item, so they always stay. The newest turn always stays too,
so the item a barge-in truncates is never one we deleted. No I/O.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from . import events as ev

log = logging.getLogger(__name__)

MAX_TRACKED = 512
"""Items remembered at most. The server's own item ids come from the network: a flood of them
must not grow memory; with deletion on, far fewer than this are ever alive."""


class ContextWindow:
    def __init__(self, keep_turns: int, ids: ev.EventIds) -> None:
        self.keep_turns = max(1, keep_turns)
        self._ids = ids
        self._items: deque[tuple[str, bool]] = deque(maxlen=MAX_TRACKED)  # (item id, is a user item)
        self._known: set[str] = set()

    def __len__(self) -> int:
        """Items remembered (at most MAX_TRACKED)."""
        return len(self._items)

    def added(self, event: dict[str, Any]) -> None:
        item = event.get("item")
        if not isinstance(item, dict):
            return
        item_id = item.get("id")
        if not isinstance(item_id, str) or not item_id or len(item_id) > 128 or item_id in self._known:
            return
        if len(self._items) == MAX_TRACKED:
            self._known.discard(self._items[0][0])
        self._items.append((item_id, item.get("role") == "user"))
        self._known.add(item_id)

    def deleted(self, event: dict[str, Any]) -> None:
        item_id = event.get("item_id")
        if isinstance(item_id, str) and item_id in self._known:
            self._known.discard(item_id)
            self._items = deque((i for i in self._items if i[0] != item_id), maxlen=MAX_TRACKED)

    def trim(self) -> list[dict[str, Any]]:
        """The delete events that leave only the last ``keep_turns`` turns (sent after a response)."""
        starts = [n for n, (_, user) in enumerate(self._items) if user]
        if len(starts) < self.keep_turns:
            return []
        cut = starts[-self.keep_turns]  # everything before the oldest turn kept goes
        old = [self._items.popleft()[0] for _ in range(cut)]
        self._known.difference_update(old)
        return [ev.item_delete(item_id, self._ids.next()) for item_id in old]
