"""The simulator bills like the service: tokens from the audio and text it holds, the history
growing each turn, deletion and truncation applied, an unchanged prefix reported as cached."""

from __future__ import annotations

import asyncio

from polybot_device.config import ContextConfig
from polybot_device.simulator import RealtimeSimulator, SimulatorOptions
from polybot_device.simulator.usage import CACHE_BLOCK_TOKENS, UsageLedger, text_tokens, truncate
from tests.rig.turns import config_with, run_conversation

from .validation import validate_server_event


def conversation(context: ContextConfig, lengths: list[int]):
    async def body():
        async with RealtimeSimulator(SimulatorOptions(pace=0)) as sim:
            run = await run_conversation(config_with(context), lengths, sim)
            await asyncio.sleep(0)
            return run, sim.sessions[0]
    return asyncio.run(body())


def test_usage_counts_the_audio_held_and_grows_with_the_conversation():
    run, record = conversation(ContextConfig(strategy="off"), [1000, 2000, 3000])
    for event in record.events_sent:
        if event["type"] == "response.done":
            validate_server_event(event)  # the usage object is the service's shape, no extra keys
    instructions = text_tokens(record.session["instructions"])
    first, second, third = run.usages
    assert first.input_text == instructions + 4  # the instructions and one item's special tokens
    # the voiced part the VAD committed, 1 token per 100 ms (within a frame or two of the tone)
    assert 10 <= first.input_audio <= 13
    assert 16 <= first.output_audio <= 21  # its answer: 0.8 x the speech, 1 token per 50 ms
    # turn 2 carries turn 1 (the user's audio and the translation's audio) and its own 2 s
    assert 20 <= second.input_audio - first.input_audio - first.output_audio <= 23
    assert 30 <= third.input_audio - second.input_audio - second.output_audio <= 33
    assert third.input_text == second.input_text + text_tokens("[en] translation 2") + 4 + 4
    assert first.cached_tokens == 0  # nothing came before it


def test_an_unchanged_prefix_is_cached_in_whole_blocks():
    run, _ = conversation(ContextConfig(strategy="off"), [3000] * 8)
    for before, after in zip(run.usages, run.usages[1:], strict=False):
        assert after.cached_tokens % CACHE_BLOCK_TOKENS == 0
        # everything the previous response read is still there, unchanged: at most a block is lost
        assert before.input_tokens - CACHE_BLOCK_TOKENS < after.cached_tokens <= before.input_tokens


def test_deleting_items_makes_the_next_input_smaller_and_breaks_the_cached_prefix():
    kept, _ = conversation(ContextConfig(strategy="delete", keep_turns=1), [3000] * 8)
    grown, _ = conversation(ContextConfig(strategy="off"), [3000] * 8)
    assert kept.usages[-1].input_audio < grown.usages[-1].input_audio / 3
    assert kept.usages[-1].cached_tokens <= CACHE_BLOCK_TOKENS  # the instructions at most


def test_retention_ratio_truncation_drops_the_oldest_down_to_the_ratio():
    items = {f"i{n}": {"role": "user", "audio_ms": 1000, "text": ""} for n in range(10)}  # 14 tokens each
    dropped = truncate(items, {"type": "retention_ratio", "retention_ratio": 0.5,
                               "token_limits": {"post_instructions": 100}})
    assert dropped == ["i0", "i1", "i2", "i3", "i4", "i5", "i6"]
    assert list(items) == ["i7", "i8", "i9"]  # 42 tokens <= 0.5 x 100 < 56
    assert truncate(items, "auto") == [] and truncate(items, {"type": "retention_ratio"}) == []


def test_the_ledger_reports_no_cache_when_the_instructions_change():
    ledger = UsageLedger()
    items = {"a": {"role": "user", "audio_ms": 20_000, "text": ""}}
    ledger.input_usage("x" * 1000, items)
    assert ledger.input_usage("x" * 1000, items)["cached_audio"] > 0
    changed = ledger.input_usage("y" * 1000, items)
    assert changed["cached_text"] == changed["cached_audio"] == 0
