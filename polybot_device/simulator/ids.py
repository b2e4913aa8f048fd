"""Ids shaped like the service's (``event_…``, ``item_…``, ``resp_…``, ``sess_…``, ``conv_…``)."""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"
