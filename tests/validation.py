"""Proof that what we send (and what the simulator sends) is valid Realtime protocol: the openai
package's pydantic types accept it AND nothing in it is unknown to them (they allow extra keys, the
real API does not)."""

from __future__ import annotations

from typing import Any

from openai.types.realtime import (
    RealtimeClientEvent,
    RealtimeServerEvent,
    RealtimeTranslationClientEvent,
    RealtimeTranslationServerEvent,
)
from pydantic import BaseModel, TypeAdapter

_ADAPTERS = {
    "client": TypeAdapter(RealtimeClientEvent),
    "server": TypeAdapter(RealtimeServerEvent),
    "translation-client": TypeAdapter(RealtimeTranslationClientEvent),
    "translation-server": TypeAdapter(RealtimeTranslationServerEvent),
}


def extra_fields(value: Any, path: str = "$") -> list[str]:
    """Paths of every key the types did not know, at any depth."""
    found: list[str] = []
    if isinstance(value, BaseModel):
        for key in (value.model_extra or {}):
            found.append(f"{path}.{key}")
        for name in type(value).model_fields:
            found.extend(extra_fields(getattr(value, name), f"{path}.{name}"))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found.extend(extra_fields(item, f"{path}[{i}]"))
    elif isinstance(value, dict):
        for key, item in value.items():
            found.extend(extra_fields(item, f"{path}.{key}"))
    return found


def validate(event: dict[str, Any], kind: str = "client") -> BaseModel:
    """Raises if ``event`` is not a valid event of ``kind`` or carries an unknown field."""
    model = _ADAPTERS[kind].validate_python(event)
    assert model.type == event["type"], f"parsed as {model.type}, sent as {event['type']}"
    extras = extra_fields(model)
    assert not extras, f"{event['type']}: unknown fields {extras}"
    return model
