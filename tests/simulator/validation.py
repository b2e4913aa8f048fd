"""Check Realtime events against the installed ``openai`` types, strictly.

The ``openai`` models accept unknown keys (they land in ``model_extra``), so validation alone
would pass a beta-style ``modalities`` or a typo such as ``silence_ms``. These helpers validate
*and* fail on any extra key at any depth, and on a ``type`` the union did not resolve to.
Reusable by any test: ``from tests.simulator.validation import validate_server_event``.
"""

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
    "server": TypeAdapter(RealtimeServerEvent),
    "client": TypeAdapter(RealtimeClientEvent),
    "translation_server": TypeAdapter(RealtimeTranslationServerEvent),
    "translation_client": TypeAdapter(RealtimeTranslationClientEvent),
}


def assert_no_extra(value: Any, path: str = "$") -> None:
    """Fail if any pydantic model in ``value`` (models, lists, dicts, nested) has extra keys."""
    if isinstance(value, BaseModel):
        extra = value.model_extra or {}
        assert not extra, f"{path}: unknown keys {sorted(extra)} in {type(value).__name__}"
        for name in type(value).model_fields:
            assert_no_extra(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            assert_no_extra(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            assert_no_extra(item, f"{path}.{key}")


def _validate(kind: str, event: dict[str, Any]) -> BaseModel:
    model = _ADAPTERS[kind].validate_python(event)
    assert_no_extra(model, f"$<{event.get('type')}>")
    assert getattr(model, "type", None) == event.get("type"), f"type mismatch for {event}"
    return model


def validate_server_event(event: dict[str, Any]) -> BaseModel:
    """A conversation (``/v1/realtime``) server event, strictly."""
    return _validate("server", event)


def validate_client_event(event: dict[str, Any]) -> BaseModel:
    """A conversation client event, strictly."""
    return _validate("client", event)


def validate_translation_server_event(event: dict[str, Any]) -> BaseModel:
    """An interpreter (``/v1/realtime/translations``) server event, strictly."""
    return _validate("translation_server", event)


def validate_translation_client_event(event: dict[str, Any]) -> BaseModel:
    """An interpreter client event, strictly."""
    return _validate("translation_client", event)
