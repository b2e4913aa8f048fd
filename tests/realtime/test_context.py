"""A long conversation session stays short: what each response reads stops growing, the
instructions (with the glossary) stay, and what we send to shorten it is valid protocol."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from polybot_device.config import Config, ContextConfig
from polybot_device.realtime.context import MAX_TRACKED, ContextWindow
from polybot_device.realtime.events import EventIds
from tests.rig.turns import config_with, run_conversation, utterance_lengths_ms
from tests.simulator.validation import validate_client_event

TURNS = 60


def long_session(context: ContextConfig, base: Config | None = None):
    return asyncio.run(run_conversation(config_with(context, base), utterance_lengths_ms(TURNS)))


def test_with_the_default_context_the_60th_response_reads_no_more_than_the_5th():
    run = long_session(Config().context)
    inputs = [u.input_tokens for u in run.usages]
    assert len(inputs) == TURNS
    assert max(inputs[4:]) <= 1.3 * inputs[4]  # bounded over the whole session, not only at turn 60
    deletes = [e for e in run.sent if e["type"] == "conversation.item.delete"]
    assert len(deletes) == 2 * (TURNS - 1)  # each turn's utterance and translation, once they are old
    for event in deletes:
        validate_client_event(event)


def test_server_truncation_keeps_it_bounded_too():
    run = long_session(ContextConfig(strategy="truncation", max_tokens=400, retention_ratio=0.2))
    inputs = [u.input_tokens for u in run.usages]
    assert max(inputs[4:]) <= 1.3 * inputs[4]
    update = next(e for e in run.sent if e["type"] == "session.update")
    validate_client_event(update)
    assert update["session"]["truncation"] == {"type": "retention_ratio", "retention_ratio": 0.2,
                                               "token_limits": {"post_instructions": 400}}
    assert not [e for e in run.sent if e["type"] == "conversation.item.delete"]


def test_without_context_control_it_grows_without_bound():
    run = long_session(ContextConfig(strategy="off"))
    inputs = [u.input_tokens for u in run.usages]
    assert inputs[-1] > 5 * inputs[4]
    assert all(b > a for a, b in zip(inputs, inputs[1:], strict=False))


def test_the_instructions_and_glossary_stay_while_old_turns_go():
    glossary = ("Polybot", "Zaragoza", "María Ximénez")
    run = long_session(Config().context, replace(Config(), glossary=glossary))
    shortest = min(u.input_text for u in run.usages)
    plain = long_session(Config().context)
    # every response read the longer instructions (the glossary is in them, never an item)
    assert shortest > min(u.input_text for u in plain.usages)
    updates = [e for e in run.sent if e["type"] == "session.update"]
    assert len(updates) == 1 and all(name in updates[0]["session"]["instructions"] for name in glossary)


def test_the_window_keeps_the_newest_turns_and_survives_a_flood_of_ids():
    window = ContextWindow(keep_turns=1, ids=EventIds())
    for n in range(3):
        window.added({"item": {"id": f"u{n}", "role": "user"}})
        window.added({"item": {"id": f"a{n}", "role": "assistant"}})
    window.added({"item": {"id": "u0", "role": "user"}})  # a repeat is not a new item
    assert [e["item_id"] for e in window.trim()] == ["u0", "a0", "u1", "a1"]
    assert window.trim() == []
    for junk in ({"item": "x"}, {"item": {"id": 5}}, {"item": {"id": "x" * 1000}}, {}):
        window.added(junk)
    for n in range(10 * MAX_TRACKED):
        window.added({"item": {"id": f"flood{n}", "role": "assistant"}})
    assert len(window) == MAX_TRACKED
    window.added({"item": {"id": "u-last", "role": "user"}})
    assert len(window.trim()) == MAX_TRACKED - 1 and len(window) == 1  # all but the newest turn go
